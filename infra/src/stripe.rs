//! Stripe as the payment provider, through its HTTP API: PaymentIntents captured by hand.
//!
//! - `open`: a PaymentIntent with the shopper's payment method and `capture_method=manual`, not
//!   confirmed (`requires_confirmation`: nothing is held), the order's key in its metadata.
//! - `authorize`: confirms it (`requires_capture`: the money is held). A card error is a decline.
//! - `status`: reads it back. `void`: cancels it. `capture`: captures it. `refund`: a Refund of it.
//!
//! Every POST carries an `Idempotency-Key`, so that Stripe answers a request sent again as it
//! answered the first. Connection failures, 429 and 5xx answers are `Unavailable`; an unexpected
//! answer is logged and taken as a decline.

use futures::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::payments::{PaymentFailure, PaymentProvider, PaymentRequest, PaymentStatus};

#[derive(Clone, Debug)]
pub struct StripeSettings {
    /// `https://api.stripe.com`, or a stand-in such as localstripe.
    pub api_base: url::Url,
    pub secret_key: SecretString,
}

pub struct Stripe {
    client: reqwest::Client,
    settings: StripeSettings,
}

impl Stripe {
    pub fn new(settings: StripeSettings) -> Self {
        Self { client: reqwest::Client::new(), settings }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1/{path}", self.settings.api_base.as_str().trim_end_matches('/'))
    }

    async fn post(&self, path: &str, form: &[(&str, &str)], key: &str) -> Result<Value, PaymentFailure> {
        let request = self.client.post(self.url(path)).form(form).header("Idempotency-Key", key);
        self.send(request).await
    }

    async fn get(&self, path: &str) -> Result<Value, PaymentFailure> {
        self.send(self.client.get(self.url(path))).await
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, PaymentFailure> {
        let response = request.bearer_auth(self.settings.secret_key.expose_secret()).send().await;
        let response = response.map_err(|err| {
            tracing::warn!(error = %err, "Stripe cannot be reached");
            PaymentFailure::Unavailable
        })?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        if status.is_success() {
            return Ok(body);
        }
        let error = &body["error"];
        if status.as_u16() == 429 || status.is_server_error() {
            tracing::warn!(%status, error = %error, "Stripe is unavailable");
            return Err(PaymentFailure::Unavailable);
        }
        if status.as_u16() != 402 {
            tracing::warn!(%status, error = %error, "Stripe refused a request");
        }
        Err(PaymentFailure::Declined)
    }

    async fn intent_status(&self, reference: &str) -> Result<PaymentStatus, PaymentFailure> {
        let intent = self.get(&format!("payment_intents/{reference}")).await?;
        Ok(match intent["status"].as_str() {
            Some("requires_capture" | "succeeded") => PaymentStatus::Authorized,
            Some("requires_confirmation" | "requires_action" | "processing") => PaymentStatus::Open,
            _ => PaymentStatus::Failed,
        })
    }
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

    /// An answer lost to a Stripe failure may hide an authorisation: the intent is read back.
    fn authorize<'a>(
        &'a self,
        reference: &'a str,
        request: &'a PaymentRequest,
    ) -> BoxFuture<'a, Result<(), PaymentFailure>> {
        Box::pin(async move {
            let key = format!("{}-confirm", request.key);
            match self.post(&format!("payment_intents/{reference}/confirm"), &[], &key).await {
                Ok(intent) if intent["status"] == "requires_capture" => Ok(()),
                // Such as 3-D Secure, which this shop does not offer yet: nothing may stay open.
                Ok(_) => {
                    self.void(reference).await;
                    Err(PaymentFailure::Declined)
                }
                Err(PaymentFailure::Unavailable) => match self.intent_status(reference).await {
                    Ok(PaymentStatus::Authorized) => Ok(()),
                    _ => Err(PaymentFailure::Unavailable),
                },
                Err(declined) => Err(declined),
            }
        })
    }

    fn status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PaymentStatus, PaymentFailure>> {
        Box::pin(self.intent_status(reference))
    }

    fn void<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let path = format!("payment_intents/{reference}/cancel");
            if let Err(failure) = self.post(&path, &[], &format!("{reference}-cancel")).await {
                tracing::warn!(%reference, %failure, "Stripe did not cancel a payment");
            }
        })
    }

    fn capture<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<(), PaymentFailure>> {
        Box::pin(async move {
            let path = format!("payment_intents/{reference}/capture");
            match self.post(&path, &[], &format!("{reference}-capture")).await {
                Err(PaymentFailure::Declined) => {
                    match self.get(&format!("payment_intents/{reference}")).await {
                        // Captured already: capturing again is harmless.
                        Ok(intent) if intent["status"] == "succeeded" => Ok(()),
                        _ => Err(PaymentFailure::Declined),
                    }
                }
                captured => captured.map(drop),
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
