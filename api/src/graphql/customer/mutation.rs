//! Customer accounts. Signing in (by registering or logging in) starts a new session for the customer
//! and merges the guest cart of the calling session into the customer's cart, which follows them to
//! every device.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};
use domain::account::{Email, InvalidEmail, Password, Registration};
use domain::account_token::AccountToken;
use domain::session::Session;
use infra::customers::{InvalidLink, Profile};
use infra::tokens::Tokens;

use super::types::Customer;
use crate::auth::expired_session_cookie;
use crate::graphql::budget::charge_address_and_subject;
use crate::graphql::context::{commands, queries, reads, services, session};
use crate::graphql::errors::{ErrorCode, OrGraphql, error};
use crate::graphql::session::{LoginInput, charge_sign_in, hand_out, limited_login};
use crate::graphql::user_error::{UserError, UserErrorCode};
use crate::graphql::{committed, committed_for};

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
    /// The calling session's new token (also set as the session cookie): the old one ended with every
    /// other session of the account. Null when the password was not changed.
    token: Option<String>,
    user_errors: Vec<UserError>,
}

#[derive(InputObject)]
pub struct ResetPasswordInput {
    /// The token of the reset link mailed to the customer.
    token: String,
    new_password: String,
}

#[derive(SimpleObject)]
pub struct RequestPasswordResetPayload {
    /// Whether the request was taken: then, if an account has this email, a reset link valid for an
    /// hour is mailed to it. The answer is the same whether there is one or not.
    accepted: bool,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ResetPasswordPayload {
    /// Whether the password was changed; every session of the account has ended, so the customer
    /// signs in again with the new one.
    password_reset: bool,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct VerifyEmailPayload {
    verified: bool,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ResendVerificationEmailPayload {
    /// Whether a new verification link is on its way.
    sent: bool,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct CustomerMutation;

#[Object]
impl CustomerMutation {
    async fn register(&self, ctx: &Context<'_>, input: RegisterInput) -> Result<AuthPayload> {
        charge_sign_in(ctx).await?;
        let registration = match Registration::parse(&input.email, &input.password, &input.name) {
            Ok(registration) => registration,
            Err(problems) => return Ok(failed(UserError::from_problems("input", problems))),
        };
        let caller = session(ctx)?;
        let accounts = &commands(ctx).accounts;
        // The new session reads its own account at once, however far the replicas lag.
        let session = Tokens::new_session().id;
        match committed_for(ctx, Some(&session), accounts.register(&registration, caller)).await? {
            Ok(profile) => {
                let session = accounts.sign_in_registered(profile.id, caller, session).await;
                signed_in(ctx, &session, Some(profile))
            }
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
        let attempt = async {
            match Email::parse(&input.email) {
                Ok(email) => queries(ctx).customers.authenticate(&email, &input.password).await,
                Err(_) => {
                    infra::passwords::verify(&input.password, None).await;
                    Ok(None)
                }
            }
        };
        let customer = match limited_login(ctx, "customer", &input.email, attempt).await? {
            Ok(customer) => customer,
            Err(refused) => return Ok(failed(vec![refused])),
        };
        let session = commands(ctx).accounts.sign_in(customer, session(ctx)?).await.or_graphql()?;
        let profile = queries(ctx).customers.profile(customer, reads(ctx)).await.or_graphql()?;
        signed_in(ctx, &session, profile)
    }

    /// Ends the calling session: its token is refused from now on and the cookie is cleared.
    async fn logout(&self, ctx: &Context<'_>) -> Result<LogoutPayload> {
        let services = services(ctx);
        ctx.append_http_header("set-cookie", expired_session_cookie(&services.cookies));
        match session(ctx)? {
            Some(session) => {
                services.sessions.revoke(session).await.or_graphql()?;
                Ok(LogoutPayload { logged_out: true })
            }
            None => Ok(LogoutPayload { logged_out: false }),
        }
    }

    /// Changes the password and ends every other session of the account; the calling session goes
    /// on under a new token.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        input: ChangePasswordInput,
    ) -> Result<ChangePasswordPayload> {
        let Some((current, customer)) = session(ctx)?.and_then(|s| Some((s, s.customer()?))) else {
            return Err(error(ErrorCode::Unauthenticated, "sign in to change your password"));
        };
        charge_sign_in(ctx).await?;
        let new = match Password::parse(&input.new_password) {
            Ok(new) => new,
            Err(weak) => {
                return Ok(ChangePasswordPayload::failed(UserError::new(
                    Some("input.newPassword"),
                    UserErrorCode::WeakPassword,
                    weak.to_string(),
                )));
            }
        };
        let command = commands(ctx).accounts.change_password(customer, &input.current_password, &new);
        match committed(ctx, command).await? {
            Ok(generation) => {
                let token = hand_out(ctx, &Session { generation, ..current.clone() })?;
                Ok(ChangePasswordPayload { token: Some(token), user_errors: vec![] })
            }
            Err(wrong) => Ok(ChangePasswordPayload::failed(UserError::new(
                Some("input.currentPassword"),
                UserErrorCode::InvalidCredentials,
                wrong.to_string(),
            ))),
        }
    }

    /// Mails a link to choose a new password to the account with this email, if there is one. The
    /// answer and its time are the same either way; requests are budgeted per client address and per
    /// email (`RATE_LIMITED` beyond).
    async fn request_password_reset(
        &self,
        ctx: &Context<'_>,
        email: String,
    ) -> Result<RequestPasswordResetPayload> {
        let Ok(email) = Email::parse(&email) else {
            let refused =
                UserError::new(Some("email"), UserErrorCode::InvalidValue, InvalidEmail.to_string());
            return Ok(RequestPasswordResetPayload { accepted: false, user_errors: vec![refused] });
        };
        charge_address_and_subject(ctx, "password-reset", email.as_str(), services(ctx).rates.account_mail)
            .await?;
        commands(ctx).accounts.request_password_reset(&email).await.or_graphql()?;
        Ok(RequestPasswordResetPayload { accepted: true, user_errors: vec![] })
    }

    /// Sets a new password with the token of a reset link, which is then used up, and ends every
    /// session of the account.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        input: ResetPasswordInput,
    ) -> Result<ResetPasswordPayload> {
        charge_sign_in(ctx).await?;
        let new = match Password::parse(&input.new_password) {
            Ok(new) => new,
            Err(weak) => {
                let refused =
                    UserError::new(Some("input.newPassword"), UserErrorCode::WeakPassword, weak.to_string());
                return Ok(ResetPasswordPayload { password_reset: false, user_errors: vec![refused] });
            }
        };
        let outcome = match AccountToken::parse(&input.token) {
            Some(token) => committed(ctx, commands(ctx).accounts.reset_password(&token, &new)).await?,
            None => Err(InvalidLink),
        };
        Ok(match outcome {
            Ok(()) => ResetPasswordPayload { password_reset: true, user_errors: vec![] },
            Err(invalid) => ResetPasswordPayload {
                password_reset: false,
                user_errors: vec![invalid_link("input.token", invalid)],
            },
        })
    }

    /// Verifies the customer's email address with the token of the link mailed to it.
    async fn verify_email(&self, ctx: &Context<'_>, token: String) -> Result<VerifyEmailPayload> {
        charge_sign_in(ctx).await?;
        let outcome = match AccountToken::parse(&token) {
            Some(token) => committed(ctx, commands(ctx).accounts.verify_email(&token)).await?,
            None => Err(InvalidLink),
        };
        Ok(match outcome {
            Ok(()) => VerifyEmailPayload { verified: true, user_errors: vec![] },
            Err(invalid) => {
                VerifyEmailPayload { verified: false, user_errors: vec![invalid_link("token", invalid)] }
            }
        })
    }

    /// Mails the signed-in customer a new verification link, within a budget per account and per
    /// client address (`RATE_LIMITED` beyond).
    async fn resend_verification_email(&self, ctx: &Context<'_>) -> Result<ResendVerificationEmailPayload> {
        let Some(customer) = session(ctx)?.and_then(Session::customer) else {
            return Err(error(ErrorCode::Unauthenticated, "sign in to have your email address verified"));
        };
        charge_address_and_subject(
            ctx,
            "verification",
            &customer.to_string(),
            services(ctx).rates.account_mail,
        )
        .await?;
        Ok(match commands(ctx).accounts.resend_verification(customer).await.or_graphql()? {
            Ok(()) => ResendVerificationEmailPayload { sent: true, user_errors: vec![] },
            Err(verified) => ResendVerificationEmailPayload {
                sent: false,
                user_errors: vec![UserError::new(None, UserErrorCode::AlreadyVerified, verified.to_string())],
            },
        })
    }
}

fn invalid_link(field: &str, invalid: InvalidLink) -> UserError {
    UserError::new(Some(field), UserErrorCode::InvalidLink, invalid.to_string())
}

impl ChangePasswordPayload {
    fn failed(user_error: UserError) -> Self {
        Self { token: None, user_errors: vec![user_error] }
    }
}

fn failed(user_errors: Vec<UserError>) -> AuthPayload {
    AuthPayload { token: None, customer: None, user_errors }
}

/// Hands `session` out (token and cookie) with the customer's `profile`.
fn signed_in(ctx: &Context<'_>, session: &Session, profile: Option<Profile>) -> Result<AuthPayload> {
    let token = hand_out(ctx, session)?;
    Ok(AuthPayload { token: Some(token), customer: profile.map(Customer), user_errors: vec![] })
}
