//! Sessions: who is calling. A session id names a cart; a subject and a role come with logging in.

use std::fmt;

use uuid::Uuid;

/// A session id: 128 random bits as 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a session id is 32 lowercase hex digits")]
pub struct InvalidSessionId;

impl SessionId {
    pub fn parse(id: &str) -> Result<Self, InvalidSessionId> {
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(id.to_owned()))
        } else {
            Err(InvalidSessionId)
        }
    }

    /// The id of 16 random bytes.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Customer,
    Admin,
}

/// A verified session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    /// Who logged in, as `kind:uuid` (`staff:…`, `customer:…`); none for a guest.
    pub subject: Option<String>,
    pub role: Option<Role>,
    /// The subject's session generation when the session began: ending all of an account's sessions
    /// (a password change, a removed account) starts a new generation, and older sessions are over.
    pub generation: u64,
}

impl Session {
    pub fn is_admin(&self) -> bool {
        self.role == Some(Role::Admin)
    }

    /// The customer signed in to this session, if one is.
    pub fn customer(&self) -> Option<Uuid> {
        let id = self.subject.as_deref()?.strip_prefix(CUSTOMER_SUBJECT)?;
        (self.role == Some(Role::Customer)).then(|| Uuid::parse_str(id).ok()).flatten()
    }

    /// A session `id` (new, so that a session id known before the login grants nothing after it) of
    /// `customer` signed in.
    pub fn of_customer(id: SessionId, customer: Uuid, generation: u64) -> Self {
        Self { id, subject: Some(Self::customer_subject(customer)), role: Some(Role::Customer), generation }
    }

    /// The subject that signs in as customer `customer`.
    pub fn customer_subject(customer: Uuid) -> String {
        format!("{CUSTOMER_SUBJECT}{customer}")
    }

    /// The subject that signs in as staff account `staff`.
    pub fn staff_subject(staff: Uuid) -> String {
        format!("{STAFF_SUBJECT}{staff}")
    }
}

const CUSTOMER_SUBJECT: &str = "customer:";
const STAFF_SUBJECT: &str = "staff:";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_session_names_the_customer() {
        let customer = Uuid::now_v7();
        let session = Session::of_customer(SessionId::from_random([1; 16]), customer, 0);
        assert_eq!(session.customer(), Some(customer));
        let guest = Session { id: SessionId::from_random([2; 16]), subject: None, role: None, generation: 0 };
        assert_eq!(guest.customer(), None);
        let staff =
            Session { subject: Some(format!("customer:{customer}")), role: Some(Role::Admin), ..guest };
        assert_eq!(staff.customer(), None, "only the customer role names a customer");
    }

    #[test]
    fn session_ids_are_32_hex_digits() {
        let id = SessionId::from_random([0xab; 16]);
        assert_eq!(id.as_str(), "ab".repeat(16));
        assert_eq!(SessionId::parse(id.as_str()), Ok(id));
        for bad in ["", "AB".repeat(16).as_str(), &"a".repeat(31), &"g".repeat(32)] {
            assert_eq!(SessionId::parse(bad), Err(InvalidSessionId), "{bad:?}");
        }
    }
}
