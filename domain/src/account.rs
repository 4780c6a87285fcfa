//! Account credentials: normalised email addresses, the password policy, and what registering
//! takes.

use std::fmt;

use crate::catalog_edit::{FieldProblem, Problem, Problems};

/// An email address, trimmed and lowercased, so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an email address such as ada@example.com")]
pub struct InvalidEmail;

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(email: &str) -> Result<Self, InvalidEmail> {
        let email = email.trim().to_lowercase();
        let (local, domain) = email.rsplit_once('@').ok_or(InvalidEmail)?;
        let domain_ok = domain.split('.').count() >= 2
            && domain
                .split('.')
                .all(|label| !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-'));
        let local_ok = !local.is_empty() && !local.contains(char::is_whitespace) && !local.contains('@');
        if email.len() > Self::MAX_LEN || !domain_ok || !local_ok {
            return Err(InvalidEmail);
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy: 10 to 128 characters, not all the same character. It never
/// prints itself.
pub struct Password(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WeakPassword {
    #[error("a password has at least {} characters", Password::MIN_CHARS)]
    TooShort,
    #[error("a password has at most {} characters", Password::MAX_CHARS)]
    TooLong,
    #[error("a password is not one character repeated")]
    Repetitive,
}

impl Password {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(password: &str) -> Result<Self, WeakPassword> {
        let chars = password.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(WeakPassword::TooShort);
        }
        if chars > Self::MAX_CHARS {
            return Err(WeakPassword::TooLong);
        }
        let mut distinct = password.chars();
        let first = distinct.next();
        if distinct.all(|c| Some(c) == first) {
            return Err(WeakPassword::Repetitive);
        }
        Ok(Self(password.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

/// What a new customer gives, every field checked.
#[derive(Debug)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    /// Trimmed; 1 to `Registration::MAX_NAME_CHARS` characters.
    pub name: String,
}

impl Registration {
    pub const MAX_NAME_CHARS: usize = 100;

    /// The registration, or a problem for each bad field (`email`, `password`, `name`).
    pub fn parse(email: &str, password: &str, name: &str) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let email =
            Email::parse(email).map_err(|e| problems.add("email", Problem::InvalidValue, e.to_string())).ok();
        let password = Password::parse(password)
            .map_err(|e| problems.add("password", Problem::WeakPassword, e.to_string()))
            .ok();
        let name = problems.text("name", name, Self::MAX_NAME_CHARS);
        match (email, password) {
            (Some(email), Some(password)) => problems.finish(|| Self { email, password, name }),
            _ => Err(problems.into_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_reports_every_bad_field_at_once() {
        let fields = |problems: Vec<FieldProblem>| -> Vec<(&str, Problem)> {
            problems.into_iter().map(|p| (p.field, p.problem)).collect()
        };
        let refused = Registration::parse("nope", "short", "  ").unwrap_err();
        assert_eq!(
            fields(refused),
            [
                ("email", Problem::InvalidValue),
                ("password", Problem::WeakPassword),
                ("name", Problem::InvalidValue)
            ]
        );
        let registered = Registration::parse(" Ada@Example.com ", "a long password", " Ada ").unwrap();
        assert_eq!((registered.email.as_str(), registered.name.as_str()), ("ada@example.com", "Ada"));
    }

    #[test]
    fn emails_are_normalised() {
        assert_eq!(Email::parse("  Ada.Lovelace@Example.COM ").unwrap().as_str(), "ada.lovelace@example.com");
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@exa mple.com",
            "a b@example.com",
            "ada@.com",
        ] {
            assert_eq!(Email::parse(bad), Err(InvalidEmail), "{bad:?}");
        }
    }

    #[test]
    fn the_password_policy_holds() {
        assert_eq!(Password::parse("short").unwrap_err(), WeakPassword::TooShort);
        assert_eq!(Password::parse("aaaaaaaaaaaa").unwrap_err(), WeakPassword::Repetitive);
        assert_eq!(Password::parse(&"ab".repeat(65)).unwrap_err(), WeakPassword::TooLong);
        assert!(Password::parse("correct horse battery").is_ok());
        assert_eq!(format!("{:?}", Password::parse("correct horse battery").unwrap()), "Password(…)");
    }
}
