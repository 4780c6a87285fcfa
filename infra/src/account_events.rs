//! What the worker does when a customer needs a link by mail: a verification link once they have
//! registered (or asked for it again), a password-reset link once someone asked for one with their
//! email. The token and the mail are written in one transaction, keyed by the request, so handling the
//! same event again sends nothing more. A reset asked for an email that has no account sends nothing,
//! here, out of the requester's sight: the request itself was answered the same either way.

use std::sync::Arc;

use domain::account_token::{AccountToken, TokenPurpose};
use serde_json::json;
use uuid::Uuid;

use crate::customers::account_tokens::{Holder, Issued, issue};
use crate::db::DbRouter;
use crate::mail::{Message, Posting, Storefront, post};
use crate::outbox::uuid_field;
use crate::write_path::WriteTx;

pub(crate) const VERIFICATION_REQUESTED: &str = "account.verification_requested";
pub(crate) const PASSWORD_RESET_REQUESTED: &str = "account.password_reset_requested";

/// The payload of an event asking for a verification link to `customer`.
pub(crate) fn verification_request(customer: Uuid) -> serde_json::Value {
    json!({ "requestId": Uuid::now_v7(), "customerId": customer })
}

/// The payload of an event asking for a password-reset link to `email`.
pub(crate) fn password_reset_request(email: &str) -> serde_json::Value {
    json!({ "requestId": Uuid::now_v7(), "email": email })
}

pub struct AccountEvents {
    db: Arc<DbRouter>,
    storefront: Storefront,
}

impl AccountEvents {
    pub fn new(db: Arc<DbRouter>, storefront: Storefront) -> Self {
        Self { db, storefront }
    }

    /// Whether this handler deals with events of `event_type`.
    pub fn handles(event_type: &str) -> bool {
        [VERIFICATION_REQUESTED, PASSWORD_RESET_REQUESTED].contains(&event_type)
    }

    pub async fn handle(&self, event_type: &str, payload: &serde_json::Value) -> Result<(), crate::Error> {
        let request = uuid_field(payload, "requestId", "a request id")?;
        let (purpose, holder) = match event_type {
            VERIFICATION_REQUESTED => (
                TokenPurpose::VerifyEmail,
                Holder::Unverified(uuid_field(payload, "customerId", "a customer id")?),
            ),
            PASSWORD_RESET_REQUESTED => {
                let email = payload["email"]
                    .as_str()
                    .ok_or_else(|| anyhow::anyhow!("a password reset request without an email: {request}"))?;
                (TokenPurpose::ResetPassword, Holder::Email(email))
            }
            other => return Err(anyhow::anyhow!("not an account event: {other}").into()),
        };
        let tx = WriteTx::begin(&self.db).await?;
        if let Some(issued) = issue(tx.conn(), request, purpose, holder).await? {
            let message = self.message(purpose, &issued);
            let key = format!("{}:{request}", purpose.as_str());
            post(tx.conn(), &[Posting { key, recipient: issued.email.clone(), message }]).await?;
        }
        // Tokens and mail are read by no cached query.
        tx.commit(()).await?.into_unobserved();
        Ok(())
    }

    fn message(&self, purpose: TokenPurpose, issued: &Issued) -> Message {
        let Issued { token, name, .. } = issued;
        match purpose {
            TokenPurpose::VerifyEmail => Message {
                subject: "Confirm your email address".to_owned(),
                body: format!(
                    "Hello {name},\r\n\r\nPlease confirm that this is your email address by opening this link \
                     within 24 hours:\r\n{}\r\n\r\nIf you did not open an account at MyClothes, ignore this \
                     message.\r\n",
                    self.link("verify-email", token)
                ),
            },
            TokenPurpose::ResetPassword => Message {
                subject: "Reset your MyClothes password".to_owned(),
                body: format!(
                    "Hello {name},\r\n\r\nSomeone asked to reset the password of your MyClothes account. To \
                     choose a new one, open this link within an hour:\r\n{}\r\n\r\nIf it was not you, \
                     ignore this message: your password stays as it is.\r\n",
                    self.link("reset-password", token)
                ),
            },
        }
    }

    fn link(&self, page: &str, token: &AccountToken) -> String {
        self.storefront.page(&format!("{page}?token={}", token.as_str()))
    }
}
