//! Who is calling: the session token from `Authorization: Bearer …` (apps) or the HttpOnly session
//! cookie (browsers). A bearer token that is present but not valid is refused, never ignored. A cookie
//! whose token is not valid is dropped: the request is a guest's and the answer clears the cookie, since
//! a browser cannot drop an HttpOnly cookie by itself.

use std::net::IpAddr;

use domain::session::Session;
use infra::tokens::{TokenError, Tokens};
use poem::Request;

use crate::client_ip::TrustedProxies;
use crate::request_id::RequestId;
use crate::services::CookiePolicy;

pub const SESSION_COOKIE: &str = "mc_session";

/// Who calls: the verified session of the request, if it names one, and the client's address;
/// request data for resolvers.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub session: Option<Session>,
    pub ip: Option<IpAddr>,
    /// The request's id, as its log lines carry it.
    pub request_id: String,
    /// Whether the session came from the cookie (rather than a bearer token).
    pub from_cookie: bool,
    /// The cookie named no valid session: the answer clears it.
    pub stale_cookie: bool,
    /// The session is signed in, but whether it was ended since could not be checked (Redis did not
    /// answer): what needs the sign-in is refused until it can be.
    pub unchecked: bool,
}

impl Caller {
    /// The same caller as a guest, its session cookie to be cleared: the session it named is over.
    pub fn dropping_cookie(self) -> Self {
        Self { session: None, from_cookie: false, stale_cookie: true, ..self }
    }

    /// The session, for what depends on who is signed in: a signed-in session that could not be
    /// checked is not trusted.
    pub fn session(&self) -> Result<Option<&Session>, SessionUnchecked> {
        if self.unchecked {
            return Err(SessionUnchecked);
        }
        Ok(self.session.as_ref())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("whether the session is still valid cannot be checked now; retry shortly")]
pub struct SessionUnchecked;

/// The caller of `request`: the bearer token if there is one, else the session cookie; the address
/// as the trusted proxies forward it.
pub fn caller(request: &Request, tokens: &Tokens, proxies: &TrustedProxies) -> Result<Caller, TokenError> {
    let peer = request.remote_addr().as_socket_addr().map(|addr| addr.ip());
    // A proxy may add a header line of its own after the client's (HAProxy does): every line counts,
    // in order, as if they were one list.
    let forwarded: Vec<&str> =
        request.headers().get_all("x-forwarded-for").iter().filter_map(|line| line.to_str().ok()).collect();
    let ip = peer.map(|peer| proxies.client(peer, &forwarded.join(",")));
    let caller = Caller { ip, request_id: RequestId::of(request), ..Caller::default() };
    if let Some(authorization) = request.header("authorization") {
        let token = authorization.strip_prefix("Bearer ").ok_or(TokenError::Malformed)?;
        return Ok(Caller { session: Some(tokens.verify(token.trim())?), ..caller });
    }
    Ok(match cookie(request).map(|token| tokens.verify(token)) {
        Some(Ok(session)) => Caller { session: Some(session), from_cookie: true, ..caller },
        Some(Err(_)) => caller.dropping_cookie(),
        None => caller,
    })
}

/// The session cookie's token, if the request carries one.
fn cookie(request: &Request) -> Option<&str> {
    request
        .headers()
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, token)| token)
}

/// The `Set-Cookie` value that makes a browser forget its session.
pub fn expired_session_cookie(policy: &CookiePolicy) -> String {
    let secure = if policy.secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
}

/// The `Set-Cookie` value that hands `token` to a browser.
pub fn session_cookie(token: &str, policy: &CookiePolicy) -> String {
    let secure = if policy.secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        policy.max_age.as_secs()
    )
}
