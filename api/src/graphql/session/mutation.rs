use std::pin::Pin;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::session::{Role, Session};
use infra::rate_limits::address_group;
use infra::tokens::Tokens;

use crate::auth::session_cookie;
use crate::graphql::budget::charge;
use crate::graphql::context::{caller, services};
use crate::graphql::errors::OrGraphql;
use crate::graphql::user_error::{UserError, UserErrorCode};

#[derive(InputObject)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

#[derive(SimpleObject)]
pub struct StartSessionPayload {
    /// The session token: send it as `Authorization: Bearer …`, or rely on the HttpOnly cookie that is
    /// set with it.
    token: String,
}

#[derive(SimpleObject)]
pub struct StaffLoginPayload {
    /// A token of a new session with the admin role; null when the login failed.
    token: Option<String>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct SessionMutation;

#[Object]
impl SessionMutation {
    /// Starts a guest session.
    async fn start_session(&self, ctx: &Context<'_>) -> Result<StartSessionPayload> {
        Ok(StartSessionPayload { token: hand_out(ctx, &Tokens::new_session())? })
    }

    /// Signs a staff member in: a new session with the admin role. Failures lock out like customers'.
    async fn staff_login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<StaffLoginPayload> {
        let attempt = services(ctx).staff.authenticate(&input.email, &input.password);
        match limited_login(ctx, "staff", &input.email, attempt).await? {
            Ok(id) => {
                let subject = Session::staff_subject(id);
                let generation = services(ctx).sessions.generation(&subject).await.or_graphql()?;
                let session = Session {
                    subject: Some(subject),
                    role: Some(Role::Admin),
                    generation,
                    ..Tokens::new_session()
                };
                Ok(StaffLoginPayload { token: Some(hand_out(ctx, &session)?), user_errors: vec![] })
            }
            Err(refused) => Ok(StaffLoginPayload { token: None, user_errors: vec![refused] }),
        }
    }
}

/// Charges an operation that hashes a password (a sign-in, a registration, a password change) to the
/// caller's address, on a stricter budget than other requests; over it, `RATE_LIMITED` with
/// `Retry-After`.
pub async fn charge_sign_in(ctx: &Context<'_>) -> Result<()> {
    let Some(ip) = caller(ctx).ip else { return Ok(()) };
    charge(ctx, &[(&format!("sign-in:{}", address_group(ip)), services(ctx).rates.login)]).await
}

/// Runs a login `attempt` for `email` of a `kind` of account unless too many attempts failed lately
/// for the account from the caller's address, or from that address; it counts as a failure unless
/// it succeeds. Wrong emails and wrong passwords get the same answer. Boxed, attempt and all, so
/// that its future (kilobytes) does not size every mutation's (see `committed_for`).
pub fn limited_login<'a, T>(
    ctx: &'a Context<'_>,
    kind: &'a str,
    email: &'a str,
    attempt: impl Future<Output = Result<Option<T>, infra::Error>> + 'a,
) -> Pin<Box<impl Future<Output = Result<Result<T, UserError>>>>> {
    Box::pin(async move {
        charge_sign_in(ctx).await?;
        let services = services(ctx);
        let ip = caller(ctx).ip;
        let account = format!("{kind}:{}", email.trim().to_lowercase());
        if !services.login_limits.attempt(&account, ip).await.or_graphql()? {
            let message = "too many failed logins; try again in 15 minutes";
            return Ok(Err(UserError::new(None, UserErrorCode::TooManyAttempts, message)));
        }
        match attempt.await.or_graphql()? {
            Some(signed_in) => {
                services.login_limits.succeeded(&account, ip).await.or_graphql()?;
                Ok(Ok(signed_in))
            }
            None => Ok(Err(UserError::new(
                None,
                UserErrorCode::InvalidCredentials,
                "the email or the password is wrong",
            ))),
        }
    })
}

/// Signs `session` and sets it as the session cookie too.
pub fn hand_out(ctx: &Context<'_>, session: &Session) -> Result<String> {
    let services = services(ctx);
    let token = services.tokens.issue(session).or_graphql()?;
    ctx.append_http_header("set-cookie", session_cookie(&token, &services.cookies));
    Ok(token)
}
