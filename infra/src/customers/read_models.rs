//! What the customers' read side returns and the cache keeps: profiles with their address books,
//! never the account rows (which hold the password hash).

use chrono::{DateTime, FixedOffset};
use domain::address::Address;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entities::{address, customer};

/// What a customer sees of their account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<FixedOffset>,
    /// Whether they have followed the verification link mailed to them (or reset their password
    /// through one). Entries cached before it existed read as not verified until they expire.
    #[serde(default)]
    pub email_verified: bool,
    /// Oldest first.
    pub addresses: Vec<AddressView>,
}

/// A saved address of a customer's address book.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressView {
    pub id: Uuid,
    pub postal: PostalAddress,
    pub is_default_shipping: bool,
    pub is_default_billing: bool,
}

/// A postal address: of an address book, or where an order ships to (copied into the order at
/// checkout, in this form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PostalAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    /// An ISO 3166-1 alpha-2 code.
    pub country: String,
    pub phone: Option<String>,
}

impl Profile {
    /// The profile of `account`, whose address book holds `addresses`.
    pub(crate) fn of(account: customer::Model, addresses: Vec<address::Model>) -> Self {
        Self {
            id: account.id,
            email: account.email,
            name: account.name,
            created_at: account.created_at,
            email_verified: account.email_verified_at.is_some(),
            addresses: addresses.into_iter().map(AddressView::from).collect(),
        }
    }
}

impl From<&Address> for PostalAddress {
    fn from(a: &Address) -> Self {
        Self {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            phone: a.phone.clone(),
        }
    }
}

impl From<address::Model> for PostalAddress {
    fn from(a: address::Model) -> Self {
        let address::Model { name, line1, line2, city, postal_code, country, phone, .. } = a;
        Self { name, line1, line2, city, postal_code, country, phone }
    }
}

impl From<address::Model> for AddressView {
    fn from(model: address::Model) -> Self {
        Self {
            id: model.id,
            is_default_shipping: model.is_default_shipping,
            is_default_billing: model.is_default_billing,
            postal: model.into(),
        }
    }
}
