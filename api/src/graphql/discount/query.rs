use async_graphql::{Context, Object, Result};

use super::types::DiscountCode;
use crate::graphql::context::{queries, reads, services};
use crate::graphql::errors::OrGraphql;
use crate::graphql::guards::AdminOnly;

#[derive(Default)]
pub struct DiscountQuery;

#[Object]
impl DiscountQuery {
    /// Every discount code, newest first.
    #[graphql(guard = "AdminOnly")]
    async fn discount_codes(&self, ctx: &Context<'_>) -> Result<Vec<DiscountCode>> {
        let currency = services(ctx).shop.currency().await.or_graphql()?;
        let codes = queries(ctx).discounts.list(&reads(ctx).consistency()).await.or_graphql()?;
        Ok(codes.into_iter().map(|discount| DiscountCode { discount, currency }).collect())
    }
}
