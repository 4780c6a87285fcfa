use std::sync::Arc;

use async_graphql::{Context, Object, Result};

use super::types::Shop;
use crate::graphql::errors::OrGraphql;
use crate::services::Services;

#[derive(Default)]
pub struct ShopQuery;

#[Object]
impl ShopQuery {
    /// The shop: its name and the currency of every price.
    async fn shop(&self, ctx: &Context<'_>) -> Result<Shop> {
        let services = ctx.data_unchecked::<Arc<Services>>();
        services.shop.get().await.map(Shop).or_graphql()
    }
}
