//! Taking payment. Checkout talks to a `PaymentProvider`; the built-in `TestPaymentProvider` behaves
//! like a card processor's sandbox, with documented tokens: `tok_visa` is authorised, `tok_declined`
//! is declined, `tok_unavailable` fails as if the provider were down; any other token is declined.
//! It takes no money. `SandboxSettings` make it answer as slowly, and fail as often, as a real
//! provider might, for benchmarks and drills.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;

/// An authorisation to request: `amount_minor` of `currency`, paid with the client's `token`, once
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

pub trait PaymentProvider: Send + Sync {
    /// The provider's reference of the authorisation; never a second one for the request's key.
    /// `Unavailable` means that this request took nothing.
    fn authorize<'a>(&'a self, request: &'a PaymentRequest) -> BoxFuture<'a, Result<String, PaymentFailure>>;

    /// Releases an authorisation that will not be captured (its order was never recorded).
    fn void<'a>(&'a self, authorization: &'a str) -> BoxFuture<'a, ()>;

    /// Takes the money an authorisation reserved. Capturing it again is harmless.
    fn capture<'a>(&'a self, authorization: &'a str) -> BoxFuture<'a, Result<(), PaymentFailure>>;

    /// Returns `amount_minor` of what the captured `authorization` took, once per `key`; the
    /// provider's reference of the refund. `Unavailable` means that this request returned nothing.
    fn refund<'a>(
        &'a self,
        authorization: &'a str,
        amount_minor: i64,
        key: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentFailure>>;
}

/// How the sandbox provider answers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SandboxSettings {
    /// How long each call takes.
    pub latency: Duration,
    /// The share of authorisations, from 0 to 1, that fail as if the provider were down.
    pub failure_rate: f64,
}

/// The sandbox provider. It keeps the references of its authorisations, and its answer to each key,
/// in the memory of its process, so that tests can count every charge; another process's sandbox (a
/// worker's) knows none of them.
#[derive(Default)]
pub struct TestPaymentProvider {
    settings: SandboxSettings,
    authorizations: Mutex<Vec<String>>,
    answers: Mutex<HashMap<String, Result<String, PaymentFailure>>>,
}

impl TestPaymentProvider {
    pub fn new(settings: SandboxSettings) -> Self {
        Self { settings, ..Self::default() }
    }

    fn decide(&self, request: &PaymentRequest) -> Result<String, PaymentFailure> {
        self.answer_once(&request.key, || match request.token.as_str() {
            "tok_visa" => {
                let reference = format!("auth_{}", uuid::Uuid::now_v7().simple());
                self.authorizations.lock().expect("never poisoned").push(reference.clone());
                Some(Ok(reference))
            }
            "tok_unavailable" => None,
            _ => Some(Err(PaymentFailure::Declined)),
        })
    }

    /// The answer given to `key` before, or `decide`'s, remembered; `decide` answers none when the
    /// provider is down. It is down as often as the settings say, too.
    fn answer_once(
        &self,
        key: &str,
        decide: impl FnOnce() -> Option<Result<String, PaymentFailure>>,
    ) -> Result<String, PaymentFailure> {
        if rand::random::<f64>() < self.settings.failure_rate {
            return Err(PaymentFailure::Unavailable);
        }
        let mut answers = self.answers.lock().expect("never poisoned");
        if let Some(answer) = answers.get(key) {
            return answer.clone();
        }
        let Some(answer) = decide() else { return Err(PaymentFailure::Unavailable) };
        answers.insert(key.to_owned(), answer.clone());
        answer
    }

    /// How many distinct authorisations it has granted (and not voided).
    pub fn authorizations(&self) -> usize {
        self.authorizations.lock().expect("never poisoned").len()
    }
}

impl PaymentProvider for TestPaymentProvider {
    /// It decides at once and answers after its latency, as a provider whose answer is on its way
    /// back: a caller that stops waiting may have been authorised.
    fn authorize<'a>(&'a self, request: &'a PaymentRequest) -> BoxFuture<'a, Result<String, PaymentFailure>> {
        let answer = self.decide(request);
        Box::pin(async move {
            tokio::time::sleep(self.settings.latency).await;
            answer
        })
    }

    fn void<'a>(&'a self, authorization: &'a str) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tokio::time::sleep(self.settings.latency).await;
            self.authorizations
                .lock()
                .expect("never poisoned")
                .retain(|reference| reference != authorization);
        })
    }

    /// Authorisations live in the memory of the api instance that granted them, and the worker that
    /// captures runs in another process: any reference of this provider's form is captured.
    fn capture<'a>(&'a self, authorization: &'a str) -> BoxFuture<'a, Result<(), PaymentFailure>> {
        Box::pin(async move {
            tokio::time::sleep(self.settings.latency).await;
            if authorization.starts_with("auth_") { Ok(()) } else { Err(PaymentFailure::Declined) }
        })
    }

    /// Like capture, it refunds any reference of its form, whichever process authorised it.
    fn refund<'a>(
        &'a self,
        authorization: &'a str,
        _amount_minor: i64,
        key: &'a str,
    ) -> BoxFuture<'a, Result<String, PaymentFailure>> {
        let answer = self.answer_once(key, || {
            Some(match authorization.starts_with("auth_") {
                true => Ok(format!("re_{}", uuid::Uuid::now_v7().simple())),
                false => Err(PaymentFailure::Declined),
            })
        });
        Box::pin(async move {
            tokio::time::sleep(self.settings.latency).await;
            answer
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(token: &str) -> PaymentRequest {
        let key = uuid::Uuid::now_v7().to_string();
        PaymentRequest { key, token: token.into(), amount_minor: 1500, currency: "EUR".into() }
    }

    #[tokio::test]
    async fn the_documented_tokens_succeed_decline_or_fail() {
        let provider = TestPaymentProvider::default();
        let first = provider.authorize(&request("tok_visa")).await.unwrap();
        assert_eq!(provider.authorize(&request("tok_declined")).await, Err(PaymentFailure::Declined));
        assert_eq!(provider.authorize(&request("tok_unavailable")).await, Err(PaymentFailure::Unavailable));
        assert_eq!(provider.authorize(&request("tok_made_up")).await, Err(PaymentFailure::Declined));
        assert_eq!(provider.authorizations(), 1);
        provider.void(&first).await;
        assert_eq!(provider.authorizations(), 0);
    }

    #[tokio::test]
    async fn a_key_asked_again_gets_the_first_answer() {
        let provider = TestPaymentProvider::default();
        let visa = request("tok_visa");
        let first = provider.authorize(&visa).await.unwrap();
        assert_eq!(provider.authorize(&visa).await, Ok(first));
        let declined = request("tok_declined");
        assert_eq!(provider.authorize(&declined).await, Err(PaymentFailure::Declined));
        let same_key_other_card = PaymentRequest { token: "tok_visa".into(), ..declined };
        assert_eq!(provider.authorize(&same_key_other_card).await, Err(PaymentFailure::Declined));
        assert_eq!(provider.authorizations(), 1);
    }

    #[tokio::test]
    async fn it_answers_as_slowly_and_fails_as_often_as_it_is_told() {
        let latency = Duration::from_millis(50);
        let always_down = TestPaymentProvider::new(SandboxSettings { latency, failure_rate: 1.0 });
        let started = std::time::Instant::now();
        for _ in 0..3 {
            assert_eq!(always_down.authorize(&request("tok_visa")).await, Err(PaymentFailure::Unavailable));
        }
        assert!(started.elapsed() >= latency * 3);
        let never_down =
            TestPaymentProvider::new(SandboxSettings { latency: Duration::ZERO, failure_rate: 0.0 });
        for _ in 0..20 {
            assert!(never_down.authorize(&request("tok_visa")).await.is_ok());
        }
    }
}
