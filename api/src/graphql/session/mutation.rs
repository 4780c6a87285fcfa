use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::session::{Role, Session};
use infra::tokens::Tokens;

use crate::auth::session_cookie;
use crate::graphql::errors::OrGraphql;
use crate::graphql::user_error::{UserError, UserErrorCode};
use crate::services::Services;

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

    /// Signs a staff member in: a new session with the admin role.
    async fn staff_login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<StaffLoginPayload> {
        let services = ctx.data_unchecked::<Arc<Services>>();
        match services.staff.authenticate(&input.email, &input.password).await.or_graphql()? {
            Some(id) => {
                let session = Session {
                    subject: Some(format!("staff:{id}")),
                    role: Some(Role::Admin),
                    ..Tokens::new_session()
                };
                Ok(StaffLoginPayload { token: Some(hand_out(ctx, &session)?), user_errors: vec![] })
            }
            None => Ok(StaffLoginPayload {
                token: None,
                user_errors: vec![UserError::new(
                    None,
                    UserErrorCode::InvalidCredentials,
                    "the email or the password is wrong",
                )],
            }),
        }
    }
}

/// Signs `session` and sets it as the session cookie too.
pub fn hand_out(ctx: &Context<'_>, session: &Session) -> Result<String> {
    let services = ctx.data_unchecked::<Arc<Services>>();
    let token = services.tokens.issue(session).or_graphql()?;
    ctx.append_http_header("set-cookie", session_cookie(&token, &services.cookies));
    Ok(token)
}
