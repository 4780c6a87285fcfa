//! The secrets of the links mailed to a customer: one verifies their email address, one lets them
//! choose a new password. A token is 32 random bytes written as 64 hex digits; only its digest is
//! stored, each is used once, and it expires.

use std::fmt;
use std::time::Duration;

/// What following a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    VerifyEmail,
    ResetPassword,
}

impl TokenPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify_email",
            Self::ResetPassword => "reset_password",
        }
    }

    /// How long a link stays valid: a reset link, which hands the account over, for an hour; a
    /// verification link for a day, as it may be opened long after registering.
    pub fn lifetime(self) -> Duration {
        match self {
            Self::VerifyEmail => Duration::from_secs(24 * 3600),
            Self::ResetPassword => Duration::from_secs(3600),
        }
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct AccountToken(String);

impl AccountToken {
    const LEN: usize = 64;

    pub fn from_random(bytes: [u8; 32]) -> Self {
        Self(crate::hex_token::encode(&bytes))
    }

    /// `text` as a token; none when it cannot be one (it then matches no account).
    pub fn parse(text: &str) -> Option<Self> {
        crate::hex_token::is_token(text, Self::LEN).then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Kept out of logs.
impl fmt::Debug for AccountToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccountToken(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_64_hex_digits() {
        let token = AccountToken::from_random([0x0f; 32]);
        assert_eq!(token.as_str(), "0f".repeat(32));
        assert_eq!(AccountToken::parse(token.as_str()), Some(token.clone()));
        for bad in ["", "0F".repeat(32).as_str(), &"a".repeat(63), &"a".repeat(65), &"g".repeat(64)] {
            assert_eq!(AccountToken::parse(bad), None, "{bad:?}");
        }
        assert!(!format!("{token:?}").contains("0f"), "kept out of logs");
    }

    #[test]
    fn a_reset_link_lasts_an_hour_and_a_verification_link_a_day() {
        assert_eq!(TokenPurpose::ResetPassword.lifetime(), Duration::from_secs(3600));
        assert_eq!(TokenPurpose::VerifyEmail.lifetime(), Duration::from_secs(86_400));
    }
}
