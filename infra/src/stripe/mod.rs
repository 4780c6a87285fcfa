//! Stripe as the payment provider, through its HTTP API: PaymentIntents captured by hand.
//!
//! - `open`: a PaymentIntent with the shopper's payment method and `capture_method=manual`, not
//!   confirmed (`requires_confirmation`: nothing is held), the order's key in its metadata.
//! - `authorize`: confirms it (`requires_capture`: the money is held). A card error is a decline. A
//!   card that needs 3-D Secure leaves it `requires_action`: the storefront has the shopper
//!   authenticate with the intent's client secret (Stripe.js `handleNextAction`), and Stripe's
//!   webhook tells of the outcome.
//! - `status`: reads it back. `void`: cancels it. `capture`: captures it. `refund`: a Refund of it.
//!
//! Every POST carries an `Idempotency-Key`, so that Stripe answers a request sent again as it
//! answered the first. Connection failures, 429 and 5xx answers are `Unavailable`; an unexpected
//! answer is logged and taken as a decline.

pub mod webhook;

use std::time::Duration;

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::payments::{
    Authorization, CustomerAction, PaymentFailure, PaymentProvider, PaymentRequest, PaymentStatus,
};

#[derive(Clone, Debug)]
pub struct StripeSettings {
    /// `https://api.stripe.com`, or a stand-in such as localstripe.
    pub api_base: url::Url,
    pub secret_key: SecretString,
    /// The secret Stripe signs this shop's webhook deliveries with; without it, none is taken.
    pub webhook_secret: Option<SecretString>,
}

pub struct Stripe {
    client: reqwest::Client,
    settings: StripeSettings,
}

/// Why Stripe did not do what it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
enum Refusal {
    #[error("Stripe did not get the request, or turned it away unprocessed")]
    Unreachable,
    #[error("the answer was lost, or Stripe failed: the request may have been processed")]
    Lost,
    #[error("a card error, or a request Stripe found wrong")]
    Declined,
}

impl From<Refusal> for PaymentFailure {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Unreachable | Refusal::Lost => Self::Unavailable,
            Refusal::Declined => Self::Declined,
        }
    }
}

/// How often an authorisation whose answer was lost is read back.
const READ_BACK_EVERY: Duration = Duration::from_millis(200);

impl Stripe {
    /// Stripe at `settings`, each call given at most `timeout`.
    pub fn new(settings: StripeSettings, timeout: Duration) -> Result<Self, crate::Error> {
        let client = reqwest::Client::builder().timeout(timeout).build().map_err(anyhow::Error::from)?;
        Ok(Self { client, settings })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.settings.api_base.as_str().trim_end_matches('/'))
    }

    async fn post(&self, path: &str, form: &[(&str, &str)], key: &str) -> Result<Value, Refusal> {
        let request = self.client.post(self.url(path)).form(form).header("Idempotency-Key", key);
        self.send(request).await
    }

    async fn get(&self, path: &str) -> Result<Value, Refusal> {
        self.send(self.client.get(self.url(path))).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, Refusal> {
        let response = request.bearer_auth(self.settings.secret_key.expose_secret()).send().await;
        let response = response.map_err(|err| {
            tracing::warn!(error = %err, "Stripe cannot be reached, or did not answer in time");
            if err.is_connect() { Refusal::Unreachable } else { Refusal::Lost }
        })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            return Ok(body);
        }
        let error = &body["error"];
        match status.as_u16() {
            429 => Err(Refusal::Unreachable),
            500.. => {
                tracing::warn!(%status, error = %error, "Stripe failed");
                Err(Refusal::Lost)
            }
            402 => Err(Refusal::Declined),
            _ => {
                tracing::warn!(%status, error = %error, "Stripe refused a request");
                Err(Refusal::Declined)
            }
        }
    }

    async fn cancel(&self, reference: &str) -> Result<(), Refusal> {
        let path = format!("payment_intents/{reference}/cancel");
        self.post(&path, &[], &format!("{reference}-cancel")).await.map(drop)
    }

    async fn intent_status(&self, reference: &str) -> Result<PaymentStatus, PaymentFailure> {
        let intent = self.get(&format!("payment_intents/{reference}")).await.map_err(PaymentFailure::from)?;
        Ok(match (intent["status"].as_str(), awaiting_customer(&intent)) {
            (Some("requires_capture" | "succeeded"), _) => PaymentStatus::Authorized,
            (_, Some(action)) => PaymentStatus::AwaitingCustomer(action),
            (Some("requires_confirmation" | "requires_action" | "processing"), _) => PaymentStatus::Open,
            _ => PaymentStatus::Failed,
        })
    }
}

/// What the shopper must do for the PaymentIntent `intent`, when it waits for them.
fn awaiting_customer(intent: &Value) -> Option<CustomerAction> {
    let secret = intent["client_secret"].as_str().filter(|_| intent["status"] == "requires_action")?;
    Some(CustomerAction { client_secret: secret.to_owned() })
}

impl PaymentProvider for Stripe {
    fn open<'a>(&'a self, request: &'a PaymentRequest) -> BoxFuture<'a, Result<String, PaymentFailure>> {
        Box::pin(async move {
            let (amount, currency) = (request.amount_minor.to_string(), request.currency.to_lowercase());
            let form = [
                ("amount", amount.as_str()),
                ("currency", currency.as_str()),
                ("payment_method", request.token.as_str()),
                ("capture_method", "manual"),
                ("metadata[payment_key]", request.key.as_str()),
            ];
            let intent = self.post("payment_intents", &form, &request.key).await?;
            intent["id"].as_str().map(str::to_owned).ok_or_else(|| {
                tracing::warn!(answer = %intent, "Stripe opened a payment without an id");
                PaymentFailure::Unavailable
            })
        })
    }

    /// An answer lost may hide an authorisation: the intent is read back until Stripe tells where it
    /// stands (the caller's timeout bounds the wait, and then the payment is undecided).
    fn authorize<'a>(
        &'a self,
        reference: &'a str,
        request: &'a PaymentRequest,
    ) -> BoxFuture<'a, Result<Authorization, PaymentFailure>> {
        Box::pin(async move {
            let key = format!("{}-confirm", request.key);
            match self.post(&format!("payment_intents/{reference}/confirm"), &[], &key).await {
                Ok(intent) => match (intent["status"].as_str(), awaiting_customer(&intent)) {
                    (Some("requires_capture"), _) => Ok(Authorization::Held),
                    (_, Some(action)) => Ok(Authorization::AwaitingCustomer(action)),
                    // Nothing this shop can act on may stay open.
                    (status, _) => {
                        tracing::warn!(%reference, ?status, "Stripe left a confirmed payment in an unexpected state");
                        self.void(reference).await;
                        Err(PaymentFailure::Declined)
                    }
                },
                Err(Refusal::Lost) => loop {
                    match self.intent_status(reference).await {
                        Ok(PaymentStatus::Authorized) => return Ok(Authorization::Held),
                        Ok(PaymentStatus::Failed) => return Err(PaymentFailure::Declined),
                        Ok(PaymentStatus::AwaitingCustomer(action)) => {
                            return Ok(Authorization::AwaitingCustomer(action));
                        }
                        // Cancelled, it can no longer be confirmed by a request still on its way.
                        Ok(PaymentStatus::Open) if self.cancel(reference).await.is_ok() => {
                            return Err(PaymentFailure::Unavailable);
                        }
                        _ => tokio::time::sleep(READ_BACK_EVERY).await,
                    }
                },
                Err(refusal) => Err(refusal.into()),
            }
        })
    }

    fn status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PaymentStatus, PaymentFailure>> {
        Box::pin(self.intent_status(reference))
    }

    fn void<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if let Err(refusal) = self.cancel(reference).await {
                tracing::warn!(%reference, %refusal, "Stripe did not cancel a payment");
            }
        })
    }

    fn capture<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<(), PaymentFailure>> {
        Box::pin(async move {
            let path = format!("payment_intents/{reference}/capture");
            match self.post(&path, &[], &format!("{reference}-capture")).await {
                Err(Refusal::Declined) => {
                    match self.get(&format!("payment_intents/{reference}")).await {
                        // Captured already: capturing again is harmless.
                        Ok(intent) if intent["status"] == "succeeded" => Ok(()),
                        _ => Err(PaymentFailure::Declined),
                    }
                }
                captured => captured.map(drop).map_err(PaymentFailure::from),
            }
        })
    }

    fn refund<'a>(
        &'a self,
        reference: &'a str,
        amount_minor: i64,
        key: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentFailure>> {
        Box::pin(async move {
            let amount = amount_minor.to_string();
            let form = [("payment_intent", reference), ("amount", amount.as_str())];
            let refund = self.post("refunds", &form, key).await?;
            refund["id"].as_str().map(str::to_owned).ok_or(PaymentFailure::Declined)
        })
    }
}
