//! Orders: their human-friendly numbers, their status machine, and what makes a checkout idempotent.

use std::fmt;

use uuid::Uuid;

/// An order's number as people read it: `MC-000123`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderNumber(i64);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an order number such as MC-000123")]
pub struct InvalidOrderNumber;

impl OrderNumber {
    pub fn new(number: i64) -> Self {
        Self(number)
    }

    /// Accepts `MC-000123` in any case, with or without the leading zeros.
    pub fn parse(text: &str) -> Result<Self, InvalidOrderNumber> {
        let text = text.trim();
        let digits = text.get(..3).filter(|p| p.eq_ignore_ascii_case("MC-")).map(|_| &text[3..]);
        match digits.filter(|d| !d.is_empty() && d.len() <= 18 && d.bytes().all(|b| b.is_ascii_digit())) {
            Some(digits) => digits.parse().map(Self).map_err(|_| InvalidOrderNumber),
            None => Err(InvalidOrderNumber),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MC-{:06}", self.0)
    }
}

/// An order is pending payment while the payment provider decides, then placed or (its stock returned)
/// payment failed; the provider's answer alone moves it. Then placed → paid → fulfilled; placed or paid
/// → cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    PendingPayment,
    PaymentFailed,
    Placed,
    Paid,
    Fulfilled,
    Cancelled,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an order that is {from} cannot become {to}")]
pub struct InvalidTransition {
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderStatus {
    pub const ALL: [Self; 6] = [
        Self::PendingPayment,
        Self::PaymentFailed,
        Self::Placed,
        Self::Paid,
        Self::Fulfilled,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingPayment => "pending_payment",
            Self::PaymentFailed => "payment_failed",
            Self::Placed => "placed",
            Self::Paid => "paid",
            Self::Fulfilled => "fulfilled",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// The statuses an order may be moved to `to` from, by staff or its customer; the payment's
    /// outcome is not one of these moves.
    pub fn sources_of(to: Self) -> &'static [Self] {
        match to {
            Self::PendingPayment | Self::PaymentFailed | Self::Placed => &[],
            Self::Paid => &[Self::Placed],
            Self::Fulfilled => &[Self::Paid],
            Self::Cancelled => &[Self::Placed, Self::Paid],
        }
    }

    pub fn check_transition(self, to: Self) -> Result<(), InvalidTransition> {
        if Self::sources_of(to).contains(&self) { Ok(()) } else { Err(InvalidTransition { from: self, to }) }
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The key a client sends with a checkout, so that a retry never makes a second order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must have 1 to 100 visible ASCII characters, such as a UUID")]
pub struct InvalidIdempotencyKey;

impl IdempotencyKey {
    pub fn parse(key: &str) -> Result<Self, InvalidIdempotencyKey> {
        if (1..=100).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) {
            Ok(Self(key.to_owned()))
        } else {
            Err(InvalidIdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An order's access token: 128 random bits as 32 lowercase hex digits. With the order number it shows
/// the order to whoever holds it, as an order-status link does.
#[derive(Clone, PartialEq, Eq)]
pub struct OrderAccessToken(String);

impl OrderAccessToken {
    /// The token of 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(crate::hex_token::encode(&bytes))
    }

    /// `text` as a token; none when it cannot be one (it then matches no order).
    pub fn parse(text: &str) -> Option<Self> {
        crate::hex_token::is_token(text, 32).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `stored` is this token, in a time that does not depend on where they differ.
    pub fn matches(&self, stored: &str) -> bool {
        self.0.len() == stored.len()
            && self.0.bytes().zip(stored.bytes()).fold(0u8, |differ, (a, b)| differ | (a ^ b)) == 0
    }
}

/// Kept out of logs.
impl fmt::Debug for OrderAccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OrderAccessToken(…)")
    }
}

/// What a cart held, independent of line order: tells a retried checkout from another cart under a
/// reused idempotency key.
pub fn cart_fingerprint(lines: &[(Uuid, u32)]) -> String {
    let mut lines = lines.to_vec();
    lines.sort();
    lines
        .iter()
        .map(|(variant, quantity)| format!("{}x{quantity}", variant.simple()))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_token_is_32_hex_digits_and_matches_only_itself() {
        let token = OrderAccessToken::from_random([0xab; 16]);
        assert_eq!(OrderAccessToken::parse(token.as_str()), Some(token.clone()));
        assert!(token.matches(&"ab".repeat(16)));
        assert!(!token.matches(&format!("{}ac", "ab".repeat(15))));
        assert!(!token.matches("ab"));
        for bad in ["", "AB".repeat(16).as_str(), &"a".repeat(31), &"g".repeat(32)] {
            assert_eq!(OrderAccessToken::parse(bad), None, "{bad:?}");
        }
        assert!(!format!("{token:?}").contains("ab"), "kept out of logs");
    }

    #[test]
    fn order_numbers_read_like_mc_000123() {
        assert_eq!(OrderNumber::new(123).to_string(), "MC-000123");
        assert_eq!(OrderNumber::new(1_234_567).to_string(), "MC-1234567");
        assert_eq!(OrderNumber::parse(" mc-000123 "), Ok(OrderNumber::new(123)));
        assert_eq!(OrderNumber::parse("MC-123"), Ok(OrderNumber::new(123)));
        for bad in ["123", "MC-", "MC-12a", "MC--1", "XX-000123", "MC-9999999999999999999"] {
            assert_eq!(OrderNumber::parse(bad), Err(InvalidOrderNumber), "{bad}");
        }
    }

    #[test]
    fn the_status_machine_moves_forward_or_cancels_before_fulfilment() {
        use OrderStatus::*;
        let allowed = [(Placed, Paid), (Paid, Fulfilled), (Placed, Cancelled), (Paid, Cancelled)];
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                assert_eq!(from.check_transition(to).is_ok(), allowed.contains(&(from, to)), "{from} → {to}");
            }
        }
    }

    #[test]
    fn a_fingerprint_ignores_line_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert_eq!(cart_fingerprint(&[(a, 1), (b, 2)]), cart_fingerprint(&[(b, 2), (a, 1)]));
        assert_ne!(cart_fingerprint(&[(a, 1)]), cart_fingerprint(&[(a, 2)]));
    }

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(IdempotencyKey::parse("0f8c7e9a-checkout-1").is_ok());
        assert_eq!(IdempotencyKey::parse(""), Err(InvalidIdempotencyKey));
        assert_eq!(IdempotencyKey::parse("has space"), Err(InvalidIdempotencyKey));
        assert_eq!(IdempotencyKey::parse(&"k".repeat(101)), Err(InvalidIdempotencyKey));
    }
}
