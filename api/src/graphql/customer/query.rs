use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::types::Customer;
use crate::auth::Caller;
use crate::graphql::ReadConsistency;
use crate::graphql::errors::OrGraphql;
use crate::services::Services;

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
    /// The signed-in customer; null for guests.
    async fn me(&self, ctx: &Context<'_>) -> Result<Option<Customer>> {
        let Some(id) = ctx.data_unchecked::<Caller>().session.as_ref().and_then(|s| s.customer()) else {
            return Ok(None);
        };
        let at = &ctx.data_unchecked::<ReadConsistency>().0;
        let profile = ctx.data_unchecked::<Arc<Services>>().customers.profile(id, at).await.or_graphql()?;
        Ok(profile.map(Customer))
    }
}
