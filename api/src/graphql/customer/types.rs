use async_graphql::{ID, Object};
use chrono::{DateTime, FixedOffset};
use infra::entities::customer;

use crate::graphql::node::{NodeKind, global_id};

pub struct Customer(pub customer::Model);

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
}
