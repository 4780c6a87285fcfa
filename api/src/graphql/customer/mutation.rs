//! Customer accounts. Signing in (by registering or logging in) starts a new session for the customer
//! and merges the guest cart of the calling session into the customer's cart, which follows them to
//! every device.

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::account::{Email, Password};
use domain::cart::CartOwner;
use domain::session::Session;
use infra::db::Consistency;
use infra::tokens::Tokens;

use super::types::Customer;
use crate::auth::{Caller, expired_session_cookie};
use crate::graphql::errors::{ErrorCode, OrGraphql, error};
use crate::graphql::session::{LoginInput, charge_sign_in, hand_out, limited_login};
use crate::graphql::user_error::{UserError, UserErrorCode};
use crate::services::Services;

#[derive(InputObject)]
pub struct RegisterInput {
    email: String,
    password: String,
    name: String,
}

#[derive(InputObject)]
pub struct ChangePasswordInput {
    current_password: String,
    new_password: String,
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    /// The token of the customer's new session (also set as the session cookie); null on failure.
    token: Option<String>,
    customer: Option<Customer>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct LogoutPayload {
    /// Whether a session was ended.
    logged_out: bool,
}

#[derive(SimpleObject)]
pub struct ChangePasswordPayload {
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        charge_sign_in(ctx).await?;
        let mut problems = Vec::new();
        let email = Email::parse(&input.email)
            .map_err(|e| {
                problems.push(UserError::new(Some("input.email"), UserErrorCode::InvalidValue, e.to_string()))
            })
            .ok();
        let password = Password::parse(&input.password)
            .map_err(|e| {
                problems.push(UserError::new(
                    Some("input.password"),
                    UserErrorCode::WeakPassword,
                    e.to_string(),
                ))
            })
            .ok();
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            problems.push(UserError::new(
                Some("input.name"),
                UserErrorCode::InvalidValue,
                "must have 1 to 100 characters",
            ));
        }
        let (Some(email), Some(password), true) = (email, password, problems.is_empty()) else {
            return Ok(failed(problems));
        };
        let services = ctx.data_unchecked::<Arc<Services>>();
        match services.customers.register(&email, &password, name).await.or_graphql()? {
            Ok(customer) => sign_in(ctx, customer, true).await,
            Err(taken) => Ok(failed(vec![UserError::new(
                Some("input.email"),
                UserErrorCode::EmailTaken,
                taken.to_string(),
            )])),
        }
    }

    /// Wrong emails and wrong passwords get the same answer in the same time. Too many failures for
    /// one account or from one address lock further attempts out for a while.
    async fn login(&self, ctx: &Context<'_>, input: LoginInput) -> Result<AuthPayload> {
        let services = ctx.data_unchecked::<Arc<Services>>();
        let attempt = async {
            match Email::parse(&input.email) {
                Ok(email) => services.customers.authenticate(&email, &input.password).await,
                Err(_) => {
                    infra::passwords::verify(&input.password, None).await;
                    Ok(None)
                }
            }
        };
        match limited_login(ctx, "customer", &input.email, attempt).await? {
            Ok(customer) => sign_in(ctx, customer, false).await,
            Err(refused) => Ok(failed(vec![refused])),
        }
    }

    /// Ends the calling session: its token is refused from now on and the cookie is cleared.
    async fn logout(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let services = ctx.data_unchecked::<Arc<Services>>();
        ctx.append_http_header("set-cookie", expired_session_cookie(&services.cookies));
        match &ctx.data_unchecked::<Caller>().session {
            Some(session) => {
                services.sessions.revoke(&session.id).await.or_graphql()?;
                Ok(LogoutPayload { logged_out: true })
            }
            None => Ok(LogoutPayload { logged_out: false }),
        }
    }

    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<ChangePasswordPayload> {
        let Some(customer) = ctx.data_unchecked::<Caller>().session.as_ref().and_then(Session::customer)
        else {
            return Err(error(ErrorCode::Unauthenticated, "sign in to change your password"));
        };
        let new = match Password::parse(&input.new_password) {
            Ok(new) => new,
            Err(weak) => {
                let user_errors = vec![UserError::new(
                    Some("input.newPassword"),
                    UserErrorCode::WeakPassword,
                    weak.to_string(),
                )];
                return Ok(ChangePasswordPayload { user_errors });
            }
        };
        let services = ctx.data_unchecked::<Arc<Services>>();
        let user_errors = match services
            .customers
            .change_password(customer, &input.current_password, &new)
            .await
            .or_graphql()?
        {
            Ok(()) => vec![],
            Err(wrong) => vec![UserError::new(
                Some("input.currentPassword"),
                UserErrorCode::InvalidCredentials,
                wrong.to_string(),
            )],
        };
        Ok(ChangePasswordPayload { user_errors })
    }
}

fn failed(user_errors: Vec<UserError>) -> AuthPayload {
    AuthPayload { token: None, customer: None, user_errors }
}

/// A new session for `customer`, with the calling session's guest cart merged into theirs. After a
/// registration (`wrote`), the new session's reads wait for the write.
async fn sign_in(
    ctx: &Context<'_>,
    customer: infra::entities::customer::Model,
    wrote: bool,
) -> Result<AuthPayload> {
    let services = ctx.data_unchecked::<Arc<Services>>();
    let theirs = CartOwner::Customer(customer.id);
    if let Some(current) = &ctx.data_unchecked::<Caller>().session
        && current.cart_owner() != theirs
        && current.customer().is_none()
    {
        services.carts.merge(&current.cart_owner(), &theirs).await.or_graphql()?;
    }
    let session = Session::of_customer(Tokens::new_session().id, customer.id);
    if wrote {
        let position = services.db.write_position().await.map_err(infra::Error::from).or_graphql()?;
        services.sessions.record_write(&session.id, position).await.or_graphql()?;
    }
    let profile = services.customers.profile(customer.id, &Consistency::Primary).await.or_graphql()?;
    let token = hand_out(ctx, &session)?;
    Ok(AuthPayload { token: Some(token), customer: profile.map(Customer), user_errors: vec![] })
}
