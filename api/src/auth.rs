//! Who is calling: the session token from `Authorization: Bearer …` (apps) or the HttpOnly session
//! cookie (browsers). A token that is present but not valid is refused, never ignored.

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
}

/// The caller of `request`: the bearer token if there is one, else the session cookie; the address
/// as the trusted proxies forward it.
pub fn caller(request: &Request, tokens: &Tokens, proxies: &TrustedProxies) -> Result<Caller, TokenError> {
    let peer = request.remote_addr().as_socket_addr().map(|addr| addr.ip());
    // A proxy may add a header line of its own after the client's (HAProxy does): every line counts,
    // in order, as if they were one list.
    let forwarded: Vec<&str> =
        request.headers().get_all("x-forwarded-for").iter().filter_map(|line| line.to_str().ok()).collect();
    let ip = peer.map(|peer| proxies.client(peer, &forwarded.join(",")));
    let request_id = RequestId::of(request);
    session(request, tokens).map(|session| Caller { session, ip, request_id })
}

fn session(request: &Request, tokens: &Tokens) -> Result<Option<Session>, TokenError> {
    if let Some(authorization) = request.header("authorization") {
        let token = authorization.strip_prefix("Bearer ").ok_or(TokenError::Malformed)?;
        return tokens.verify(token.trim()).map(Some);
    }
    let cookie = request
        .headers()
        .get_all("cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE);
    cookie.map(|(_, token)| tokens.verify(token)).transpose()
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
