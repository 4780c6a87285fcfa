use async_graphql::{ID, Object, SimpleObject};
use chrono::{DateTime, FixedOffset};
use infra::customers::{AddressView, Profile};

use crate::graphql::global_id::{NodeKind, global_id};

pub struct Customer(pub Profile);

#[Object]
impl Customer {
    async fn id(&self) -> ID {
        global_id(NodeKind::Customer, self.0.id)
    }

    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// Whether the customer has followed the verification link mailed to this address.
    async fn email_verified(&self) -> bool {
        self.0.email_verified
    }

    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }

    /// The address book, oldest first.
    async fn addresses(&self) -> Vec<Address> {
        self.0.addresses.iter().cloned().map(Address::from).collect()
    }

    async fn default_shipping_address(&self) -> Option<Address> {
        self.0.addresses.iter().find(|a| a.is_default_shipping).cloned().map(Address::from)
    }

    async fn default_billing_address(&self) -> Option<Address> {
        self.0.addresses.iter().find(|a| a.is_default_billing).cloned().map(Address::from)
    }
}

/// A saved address of the customer's address book.
#[derive(SimpleObject)]
pub struct Address {
    id: ID,
    #[graphql(flatten)]
    postal: PostalAddress,
    is_default_shipping: bool,
    is_default_billing: bool,
}

impl From<AddressView> for Address {
    fn from(view: AddressView) -> Self {
        Self {
            id: global_id(NodeKind::Address, view.id),
            postal: view.postal.into(),
            is_default_shipping: view.is_default_shipping,
            is_default_billing: view.is_default_billing,
        }
    }
}

/// A postal address: of the address book, or where an order ships to.
#[derive(SimpleObject)]
pub struct PostalAddress {
    name: String,
    line1: String,
    line2: Option<String>,
    city: String,
    postal_code: String,
    /// An ISO 3166-1 alpha-2 code.
    country: String,
    phone: Option<String>,
}

impl From<infra::customers::PostalAddress> for PostalAddress {
    fn from(a: infra::customers::PostalAddress) -> Self {
        let infra::customers::PostalAddress { name, line1, line2, city, postal_code, country, phone } = a;
        Self { name, line1, line2, city, postal_code, country, phone }
    }
}
