use async_graphql::{Context, Object, Result};

use super::types::Customer;
use crate::graphql::context::{queries, reads, session};
use crate::graphql::errors::OrGraphql;

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// The signed-in customer; null for guests.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let Some(id) = session(ctx)?.and_then(|s| s.customer()) else {
            return Ok(None);
        };
        let profile = queries(ctx).customers.profile(id, reads(ctx)).await.or_graphql()?;
        Ok(profile.map(Customer))
    }
}
