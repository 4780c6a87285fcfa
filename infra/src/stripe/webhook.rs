//! Stripe's webhooks. Each delivery is signed: `Stripe-Signature: t=<unix time>,v1=<hex>` where the
//! hex is the HMAC-SHA256, under the endpoint's secret, of `<t>.<body>`. A delivery is taken only when
//! one of its `v1` signatures matches (compared in constant time) and `t` is within five minutes of
//! now, so that a captured delivery cannot be replayed later.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;

/// How far a signature's time may be from now.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a delivery was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("no valid Stripe-Signature")]
    BadSignature,
    #[error("the signature's time is more than five minutes from now")]
    Stale,
    #[error("the body is not a Stripe event")]
    Malformed,
}

/// A verified event: its id (each is handled once), its type, and the object it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    /// The PaymentIntent it is about, for `payment_intent.*` events.
    pub payment_intent: Option<String>,
}

/// The event `body` carries, if `signature` (the `Stripe-Signature` header) signs it with `secret`
/// at a time within the tolerance of `now` (unix seconds).
pub fn verify(secret: &SecretString, signature: &str, body: &[u8], now: i64) -> Result<Event, Rejected> {
    let mut time = None;
    let mut signatures = Vec::new();
    for part in signature.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => time = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let time = time.ok_or(Rejected::BadSignature)?;
    if !signatures.iter().any(|expected| mac(secret, body, time).verify_slice(expected).is_ok()) {
        return Err(Rejected::BadSignature);
    }
    if (now - time).abs() > TOLERANCE_SECONDS {
        return Err(Rejected::Stale);
    }
    event(body)
}

fn event(body: &[u8]) -> Result<Event, Rejected> {
    let event: Value = serde_json::from_slice(body).map_err(|_| Rejected::Malformed)?;
    let text = |value: &Value| value.as_str().map(str::to_owned);
    let (id, kind) = (text(&event["id"]), text(&event["type"]));
    let object = &event["data"]["object"];
    let payment_intent = (object["object"] == "payment_intent").then(|| text(&object["id"])).flatten();
    match (id, kind) {
        (Some(id), Some(kind)) if (1..=255).contains(&id.len()) => Ok(Event { id, kind, payment_intent }),
        _ => Err(Rejected::Malformed),
    }
}

/// The `Stripe-Signature` of `body` at `time`, as Stripe makes it.
pub fn sign(secret: &SecretString, body: &[u8], time: i64) -> String {
    format!("t={time},v1={}", hex::encode(mac(secret, body, time).finalize().into_bytes()))
}

/// The HMAC-SHA256 under `secret` of `<time>.<body>`, which a `v1` signature is.
fn mac(secret: &SecretString, body: &[u8], time: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("any key length");
    mac.update(format!("{time}.").as_bytes());
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"payment_intent.succeeded","data":{"object":{"object":"payment_intent","id":"pi_1"}}}"#;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn a_delivery_signed_with_the_secret_within_five_minutes_is_taken() {
        let signature = sign(&secret("whsec_test"), BODY, 1_000);
        let event = verify(&secret("whsec_test"), &signature, BODY, 1_000 + TOLERANCE_SECONDS).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.kind, "payment_intent.succeeded");
        assert_eq!(event.payment_intent.as_deref(), Some("pi_1"));
        let also_an_old_one = format!("{signature},v1={}", "00".repeat(32));
        assert!(verify(&secret("whsec_test"), &also_an_old_one, BODY, 1_000).is_ok());
    }

    #[test]
    fn another_secret_another_body_or_an_old_time_is_refused() {
        let signature = sign(&secret("whsec_test"), BODY, 1_000);
        assert_eq!(verify(&secret("whsec_other"), &signature, BODY, 1_000), Err(Rejected::BadSignature));
        let tampered =
            BODY.to_vec().into_iter().map(|b| if b == b'1' { b'2' } else { b }).collect::<Vec<_>>();
        assert_eq!(verify(&secret("whsec_test"), &signature, &tampered, 1_000), Err(Rejected::BadSignature));
        let later = 1_000 + TOLERANCE_SECONDS + 1;
        assert_eq!(verify(&secret("whsec_test"), &signature, BODY, later), Err(Rejected::Stale));
        for header in ["", "t=1000", "v1=abcd", "t=x,v1=zz"] {
            assert_eq!(
                verify(&secret("whsec_test"), header, BODY, 1_000),
                Err(Rejected::BadSignature),
                "{header}"
            );
        }
        let not_json = sign(&secret("whsec_test"), b"{", 1_000);
        assert_eq!(verify(&secret("whsec_test"), &not_json, b"{", 1_000), Err(Rejected::Malformed));
    }
}
