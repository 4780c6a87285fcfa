//! Taking payment. Checkout talks to a `PaymentProvider` in two steps: it opens the payment, which
//! holds nothing yet, records the provider's reference, and then has the payment authorised. Whatever
//! happens after that record, the reference tells what became of the payment (`status`): a crash never
//! leaves a hold nobody knows of.
//!
//! The built-in `TestPaymentProvider` behaves like a card processor's sandbox, with documented tokens:
//! `tok_visa` is authorised, `tok_declined` is declined, `tok_unavailable` fails as if the provider
//! were down; any other token is declined. It takes no money. `SandboxSettings` make it answer as
//! slowly, and fail as often, as a real provider might, for benchmarks and drills.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;

/// A payment to request: `amount_minor` of `currency`, paid with the client's `token`, opened once
/// per `key`.
#[derive(Debug, Clone)]
pub struct PaymentRequest {
    /// What makes asking again safe: a provider asked again with the same key answers what it
    /// answered the first time (or decides now, if the first request never reached it).
    pub key: String,
    pub token: String,
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PaymentFailure {
    #[error("the payment was declined")]
    Declined,
    #[error("the payment provider is unavailable; nothing was charged, try again")]
    Unavailable,
}

impl PaymentFailure {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Declined => "declined",
            Self::Unavailable => "unavailable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Declined, Self::Unavailable].into_iter().find(|failure| failure.as_str() == text)
    }
}

/// What asking for an authorisation came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorization {
    /// The money is held.
    Held,
    /// The shopper must authenticate the payment first (3-D Secure): it stays open meanwhile, and the
    /// provider tells of the outcome on its own (a webhook), or when asked where it stands.
    AwaitingCustomer(CustomerAction),
}

/// What a storefront needs to have its shopper authenticate a payment: with Stripe, the
/// PaymentIntent's client secret, for Stripe.js's `handleNextAction`. For that shopper only: it is
/// never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerAction {
    pub client_secret: String,
}

impl std::fmt::Debug for CustomerAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CustomerAction { client_secret: <redacted> }")
    }
}

/// Where a payment stands at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentStatus {
    /// Opened and never authorised: nothing is held, and voiding it makes sure nothing will be.
    Open,
    /// Open, and waiting for the shopper to authenticate it: nothing is held yet.
    AwaitingCustomer(CustomerAction),
    /// The money is held, or was taken.
    Authorized,
    /// Declined, or voided: nothing is held.
    Failed,
}

pub trait PaymentProvider: Send + Sync {
    /// Opens the payment of `request`, holding nothing yet; the provider's reference of it. Opening
    /// again with the request's key gives the same reference.
    fn open<'a>(&'a self, request: &'a PaymentRequest) -> BoxFuture<'a, Result<String, PaymentFailure>>;

    /// Authorises the open payment `reference` with the request's token, or says what the shopper
    /// must do first. `Unavailable` means that this request held nothing.
    fn authorize<'a>(
        &'a self,
        reference: &'a str,
        request: &'a PaymentRequest,
    ) -> BoxFuture<'a, Result<Authorization, PaymentFailure>>;

    /// Where the payment `reference` stands, for one whose authorisation's answer was lost.
    fn status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PaymentStatus, PaymentFailure>>;

    /// Releases a payment that will not be captured: open or authorised, nothing is held afterwards.
    fn void<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, ()>;

    /// Takes the money an authorisation reserved. Capturing it again is harmless.
    fn capture<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<(), PaymentFailure>>;

    /// Returns `amount_minor` of what the captured payment `reference` took, once per `key`; the
    /// provider's reference of the refund. `Unavailable` means that this request returned nothing.
    fn refund<'a>(
        &'a self,
        reference: &'a str,
        amount_minor: i64,
        key: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentFailure>>;
}

/// How the sandbox provider answers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SandboxSettings {
    /// How long each authorisation, capture, void and refund takes; opening a payment and asking
    /// where it stands are answered at once.
    pub latency: Duration,
    /// The share of authorisations and refunds, from 0 to 1, that fail as if the provider were down.
    pub failure_rate: f64,
}

/// The sandbox provider. It keeps its payments, and its answer to each refund's key, in the memory
/// of its process, so that tests can count every charge; another process's sandbox (a worker's)
/// finds none of them, and takes them for open.
#[derive(Default)]
pub struct TestPaymentProvider {
    settings: SandboxSettings,
    payments: Mutex<HashMap<String, PaymentStatus>>,
    refunds: Mutex<HashMap<String, Result<String, PaymentFailure>>>,
}

impl TestPaymentProvider {
    pub fn new(settings: SandboxSettings) -> Self {
        Self { settings, ..Self::default() }
    }

    /// How many of its payments hold money (authorised, and not voided).
    pub fn authorizations(&self) -> usize {
        let payments = self.payments.lock().expect("never poisoned");
        payments.values().filter(|status| **status == PaymentStatus::Authorized).count()
    }

    fn down(&self) -> bool {
        rand::random::<f64>() < self.settings.failure_rate
    }

    /// Decides at once; the answer then takes the sandbox's latency, as a provider whose answer is
    /// on its way back: a caller that stops waiting may have been authorised.
    fn authorization(&self, reference: &str, token: &str) -> Result<Authorization, PaymentFailure> {
        if self.down() || token == "tok_unavailable" {
            return Err(PaymentFailure::Unavailable);
        }
        let mut payments = self.payments.lock().expect("never poisoned");
        let status = payments.entry(reference.to_owned()).or_insert(PaymentStatus::Open);
        if *status == PaymentStatus::Open {
            *status = if token == "tok_visa" { PaymentStatus::Authorized } else { PaymentStatus::Failed };
        }
        match status {
            PaymentStatus::Authorized => Ok(Authorization::Held),
            _ => Err(PaymentFailure::Declined),
        }
    }

    fn refund_once(&self, reference: &str, key: &str) -> Result<String, PaymentFailure> {
        if self.down() {
            return Err(PaymentFailure::Unavailable);
        }
        let mut refunds = self.refunds.lock().expect("never poisoned");
        let answer = refunds.entry(key.to_owned()).or_insert_with(|| match reference.starts_with("pay_") {
            true => Ok(format!("re_{}", uuid::Uuid::now_v7().simple())),
            false => Err(PaymentFailure::Declined),
        });
        answer.clone()
    }

    async fn after_latency<T>(&self, answer: T) -> T {
        // Even a sleep of no time waits for the timer's next tick, a millisecond.
        if !self.settings.latency.is_zero() {
            tokio::time::sleep(self.settings.latency).await;
        }
        answer
    }
}

impl PaymentProvider for TestPaymentProvider {
    /// The reference is made of the key, so opening needs no state.
    fn open<'a>(&'a self, request: &'a PaymentRequest) -> BoxFuture<'a, Result<String, PaymentFailure>> {
        Box::pin(async move { Ok(format!("pay_{}", request.key)) })
    }

    fn authorize<'a>(
        &'a self,
        reference: &'a str,
        request: &'a PaymentRequest,
    ) -> BoxFuture<'a, Result<Authorization, PaymentFailure>> {
        let answer = self.authorization(reference, &request.token);
        Box::pin(self.after_latency(answer))
    }

    fn status<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<PaymentStatus, PaymentFailure>> {
        let payments = self.payments.lock().expect("never poisoned");
        let status = payments.get(reference).cloned().unwrap_or(PaymentStatus::Open);
        Box::pin(async move { Ok(status) })
    }

    fn void<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, ()> {
        self.payments.lock().expect("never poisoned").insert(reference.to_owned(), PaymentStatus::Failed);
        Box::pin(self.after_latency(()))
    }

    /// Payments live in the memory of the api instance that authorised them, and the worker that
    /// captures runs in another process: any reference of this provider's form is captured.
    fn capture<'a>(&'a self, reference: &'a str) -> BoxFuture<'a, Result<(), PaymentFailure>> {
        let answer = if reference.starts_with("pay_") { Ok(()) } else { Err(PaymentFailure::Declined) };
        Box::pin(self.after_latency(answer))
    }

    /// Like capture, it refunds any reference of its form, whichever process authorised it.
    fn refund<'a>(
        &'a self,
        reference: &'a str,
        _amount_minor: i64,
        key: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentFailure>> {
        let answer = self.refund_once(reference, key);
        Box::pin(self.after_latency(answer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(token: &str) -> PaymentRequest {
        let key = uuid::Uuid::now_v7().to_string();
        PaymentRequest { key, token: token.into(), amount_minor: 1500, currency: "EUR".into() }
    }

    async fn pay(provider: &TestPaymentProvider, request: &PaymentRequest) -> Result<String, PaymentFailure> {
        let reference = provider.open(request).await?;
        let authorization = provider.authorize(&reference, request).await?;
        assert_eq!(authorization, Authorization::Held, "the sandbox never asks the shopper to authenticate");
        Ok(reference)
    }

    #[tokio::test]
    async fn the_documented_tokens_succeed_decline_or_fail() {
        let provider = TestPaymentProvider::default();
        let first = pay(&provider, &request("tok_visa")).await.unwrap();
        assert_eq!(pay(&provider, &request("tok_declined")).await, Err(PaymentFailure::Declined));
        assert_eq!(pay(&provider, &request("tok_unavailable")).await, Err(PaymentFailure::Unavailable));
        assert_eq!(pay(&provider, &request("tok_made_up")).await, Err(PaymentFailure::Declined));
        assert_eq!(provider.authorizations(), 1);
        assert_eq!(provider.status(&first).await, Ok(PaymentStatus::Authorized));
        provider.void(&first).await;
        assert_eq!(provider.authorizations(), 0);
        assert_eq!(provider.status(&first).await, Ok(PaymentStatus::Failed));
    }

    #[tokio::test]
    async fn a_payment_opened_again_or_authorised_again_is_the_same_one() {
        let provider = TestPaymentProvider::default();
        let visa = request("tok_visa");
        let reference = pay(&provider, &visa).await.unwrap();
        assert_eq!(provider.open(&visa).await, Ok(reference.clone()));
        assert_eq!(provider.authorize(&reference, &visa).await, Ok(Authorization::Held));
        assert_eq!(provider.authorizations(), 1);

        let declined = request("tok_declined");
        let refused = provider.open(&declined).await.unwrap();
        assert_eq!(provider.authorize(&refused, &declined).await, Err(PaymentFailure::Declined));
        let other_card = PaymentRequest { token: "tok_visa".into(), ..declined };
        assert_eq!(provider.authorize(&refused, &other_card).await, Err(PaymentFailure::Declined));
        assert_eq!(
            provider.status(&provider.open(&request("tok_visa")).await.unwrap()).await,
            Ok(PaymentStatus::Open)
        );
    }

    #[tokio::test]
    async fn a_refund_key_asked_again_gets_the_first_answer() {
        let provider = TestPaymentProvider::default();
        let first = provider.refund("pay_x", 500, "refund-1").await.unwrap();
        assert_eq!(provider.refund("pay_x", 500, "refund-1").await, Ok(first.clone()));
        assert_ne!(provider.refund("pay_x", 500, "refund-2").await, Ok(first));
        assert_eq!(provider.refund("elsewhere", 500, "refund-3").await, Err(PaymentFailure::Declined));
    }

    #[tokio::test]
    async fn it_answers_as_slowly_and_fails_as_often_as_it_is_told() {
        let latency = Duration::from_millis(50);
        let always_down = TestPaymentProvider::new(SandboxSettings { latency, failure_rate: 1.0 });
        let started = std::time::Instant::now();
        for _ in 0..3 {
            assert_eq!(pay(&always_down, &request("tok_visa")).await, Err(PaymentFailure::Unavailable));
        }
        assert!(started.elapsed() >= latency * 3);
        let never_down =
            TestPaymentProvider::new(SandboxSettings { latency: Duration::ZERO, failure_rate: 0.0 });
        for _ in 0..20 {
            assert!(pay(&never_down, &request("tok_visa")).await.is_ok());
        }
    }
}
