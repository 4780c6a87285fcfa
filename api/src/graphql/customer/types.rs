use async_graphql::{ID, Object};
use chrono::{DateTime, FixedOffset};
use infra::customers::Profile;
use infra::entities::address;

use crate::graphql::node::{NodeKind, global_id};

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

    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }

    /// The address book, oldest first.
    async fn addresses(&self) -> Vec<Address> {
        self.0.addresses.iter().cloned().map(Address).collect()
    }

    async fn default_shipping_address(&self) -> Option<Address> {
        self.0.addresses.iter().find(|a| a.is_default_shipping).cloned().map(Address)
    }

    async fn default_billing_address(&self) -> Option<Address> {
        self.0.addresses.iter().find(|a| a.is_default_billing).cloned().map(Address)
    }
}

pub struct Address(pub address::Model);

#[Object]
impl Address {
    async fn id(&self) -> ID {
        global_id(NodeKind::Address, self.0.id)
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn line1(&self) -> &str {
        &self.0.line1
    }

    async fn line2(&self) -> Option<&str> {
        self.0.line2.as_deref()
    }

    async fn city(&self) -> &str {
        &self.0.city
    }

    async fn postal_code(&self) -> &str {
        &self.0.postal_code
    }

    /// An ISO 3166-1 alpha-2 code.
    async fn country(&self) -> &str {
        &self.0.country
    }

    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }

    async fn is_default_shipping(&self) -> bool {
        self.0.is_default_shipping
    }

    async fn is_default_billing(&self) -> bool {
        self.0.is_default_billing
    }
}
