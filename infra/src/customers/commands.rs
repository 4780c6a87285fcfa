//! The customers' command side: registering, changing a password (on the write path; it ends the
//! account's other sessions), signing in, which hands the calling guest's cart over to the
//! customer's cart, and what the links mailed to them do: verify the email address, reset the
//! password. Asking for a link writes an event; the worker mails it (`account_events`).

use std::sync::Arc;

use chrono::Utc;
use domain::account::{Email, Password, Registration};
use domain::account_token::{AccountToken, TokenPurpose};
use domain::cart::CartOwner;
use domain::session::{Session, SessionId};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QuerySelect, SqlErr, Statement,
};
use uuid::Uuid;

use super::account_tokens::redeem;
use super::read_models::Profile;
use crate::account_events::{
    PASSWORD_RESET_REQUESTED, VERIFICATION_REQUESTED, password_reset_request, verification_request,
};
use crate::carts::CartStore;
use crate::db::DbRouter;
use crate::entities::customer;
use crate::outbox;
use crate::passwords;
use crate::session_registry::SessionRegistry;
use crate::tokens::Tokens;
use crate::write_path::{Committed, Touch, WriteTx, refused, write_untouched};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an account with this email exists already")]
pub struct EmailTaken;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the current password is wrong")]
pub struct WrongPassword;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this link is not valid: it was used already, it has expired, or it was never sent")]
pub struct InvalidLink;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("this email address is verified already")]
pub struct AlreadyVerified;

pub struct AccountCommands {
    db: Arc<DbRouter>,
    carts: Arc<CartStore>,
    sessions: Arc<SessionRegistry>,
}

impl AccountCommands {
    pub fn new(db: Arc<DbRouter>, carts: Arc<CartStore>, sessions: Arc<SessionRegistry>) -> Self {
        Self { db, carts, sessions }
    }

    /// Opens an account, and asks for the verification mail; its profile is the answer. A guest
    /// registering has their cart read first, so that Redis is known to answer before the account
    /// exists: once it does, signing in cannot fail.
    pub async fn register(
        &self,
        registration: &Registration,
        caller: Option<&Session>,
    ) -> Result<Committed<Result<Profile, EmailTaken>>, crate::Error> {
        if let Some(guest) = guest_cart(caller) {
            self.carts.get(&guest).await?;
        }
        let now = Utc::now().fixed_offset();
        let account = customer::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(registration.email.to_string()),
            password_hash: Set(passwords::hash(&registration.password).await?),
            name: Set(registration.name.clone()),
            created_at: Set(now),
            updated_at: Set(now),
            email_verified_at: Set(None),
        };
        let mut tx = WriteTx::begin(&self.db).await?;
        let account = match account.insert(tx.conn()).await {
            Ok(account) => account,
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return refused(EmailTaken);
            }
            Err(err) => return Err(err.into()),
        };
        tx.conn()
            .execute_raw(outbox::event(VERIFICATION_REQUESTED, verification_request(account.id)))
            .await?;
        tx.touch(Touch::Profile(account.id));
        tx.commit(Ok(Profile::of(account, Vec::new()))).await
    }

    /// Asks for another verification mail to `customer`, unless their email is verified already.
    pub async fn resend_verification(
        &self,
        customer: Uuid,
    ) -> Result<Result<(), AlreadyVerified>, crate::Error> {
        let request = "INSERT INTO outbox (event_type, payload) SELECT $1, $2 \
            WHERE EXISTS (SELECT 1 FROM customers WHERE id = $3 AND email_verified_at IS NULL)";
        let values = [VERIFICATION_REQUESTED.into(), verification_request(customer).into(), customer.into()];
        let asked =
            write_untouched(&self.db, Statement::from_sql_and_values(DbBackend::Postgres, request, values));
        Ok(if asked.await? == 1 { Ok(()) } else { Err(AlreadyVerified) })
    }

    /// Asks for a password-reset mail to `email`. Whether an account has this email is not looked
    /// at here: asking takes the same steps either way, so that neither the answer nor its time
    /// tells.
    pub async fn request_password_reset(&self, email: &Email) -> Result<(), crate::Error> {
        let event = outbox::event(PASSWORD_RESET_REQUESTED, password_reset_request(email.as_str()));
        write_untouched(&self.db, event).await.map(drop)
    }

    /// Sets a new password through a reset link, which it uses up with every other reset link of the
    /// account, and ends every session of the account. Having received the link, the customer has
    /// shown the email address is theirs: it is verified too. The sessions end before the change
    /// commits, as for a password change.
    pub async fn reset_password(
        &self,
        token: &AccountToken,
        new: &Password,
    ) -> Result<Committed<Result<(), InvalidLink>>, crate::Error> {
        let mut tx = WriteTx::begin(&self.db).await?;
        let Some(customer) = redeem(tx.conn(), token, TokenPurpose::ResetPassword).await? else {
            return refused(InvalidLink);
        };
        let reset = "UPDATE customers SET password_hash = $2, updated_at = now(), \
            email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1";
        let values = [customer.into(), passwords::hash(new).await?.into()];
        tx.conn().execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, reset, values)).await?;
        self.sessions.end_all(&Session::customer_subject(customer)).await?;
        tx.touch(Touch::Profile(customer));
        tx.commit(Ok(())).await
    }

    /// Verifies the email address a verification link was sent to.
    pub async fn verify_email(
        &self,
        token: &AccountToken,
    ) -> Result<Committed<Result<(), InvalidLink>>, crate::Error> {
        let mut tx = WriteTx::begin(&self.db).await?;
        let Some(customer) = redeem(tx.conn(), token, TokenPurpose::VerifyEmail).await? else {
            return refused(InvalidLink);
        };
        let verify =
            "UPDATE customers SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = $1";
        tx.conn()
            .execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, verify, [customer.into()]))
            .await?;
        tx.touch(Touch::Profile(customer));
        tx.commit(Ok(())).await
    }

    /// Changes the password and ends every session of the account; the answer is the generation the
    /// caller's session continues in. The sessions end before the change commits, so that a change
    /// never leaves them valid: if the commit fails after that, they are over all the same.
    pub async fn change_password(
        &self,
        id: Uuid,
        current: &str,
        new: &Password,
    ) -> Result<Committed<Result<u64, WrongPassword>>, crate::Error> {
        let tx = WriteTx::begin(&self.db).await?;
        let account = customer::Entity::find_by_id(id).lock_exclusive().one(tx.conn()).await?;
        let Some(account) = account else { return refused(WrongPassword) };
        if !passwords::verify(current, Some(&account.password_hash)).await {
            return refused(WrongPassword);
        }
        let mut account = account.into_active_model();
        account.password_hash = Set(passwords::hash(new).await?);
        account.updated_at = Set(Utc::now().fixed_offset());
        account.update(tx.conn()).await?;
        let generation = self.sessions.end_all(&Session::customer_subject(id)).await?;
        // A profile does not show the password: nothing a reader caches changed.
        tx.commit(Ok(generation)).await
    }

    /// A new session for `customer` (so that a session id known before the login grants nothing
    /// after it), into whose cart the calling guest's cart is merged.
    pub async fn sign_in(&self, customer: Uuid, caller: Option<&Session>) -> Result<Session, crate::Error> {
        if let Some(guest) = guest_cart(caller) {
            self.carts.merge(&guest, &CartOwner::Customer(customer)).await?;
        }
        let generation = self.sessions.generation(&Session::customer_subject(customer)).await?;
        Ok(Session::of_customer(Tokens::new_session().id, customer, generation))
    }

    /// Signs a customer who has just registered in, as session `session`. The account exists
    /// whatever happens now, so a guest cart that cannot be merged (Redis failed since `register` read
    /// it) stays with the guest session instead of failing the registration.
    pub async fn sign_in_registered(
        &self,
        customer: Uuid,
        caller: Option<&Session>,
        session: SessionId,
    ) -> Session {
        if let Some(guest) = guest_cart(caller)
            && let Err(err) = self.carts.merge(&guest, &CartOwner::Customer(customer)).await
        {
            tracing::warn!(error = %err, "a new customer's guest cart could not be merged; it stays with the guest session");
        }
        // No session of a new account has ever been ended.
        Session::of_customer(session, customer, 0)
    }
}

/// The cart of a calling guest, which signing in hands over.
fn guest_cart(caller: Option<&Session>) -> Option<CartOwner> {
    caller.filter(|session| session.customer().is_none()).map(CartOwner::of)
}
