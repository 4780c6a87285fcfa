use async_graphql::{Context, Object, Result};
use domain::cart::CartOwner;

use super::types::Cart;
use crate::graphql::context::{queries, session};
use crate::graphql::errors::OrGraphql;

#[derive(Default)]
pub struct CartQuery;

#[Object]
impl CartQuery {
    /// The caller's cart, priced from the live catalogue; empty without a session.
    async fn cart(&self, ctx: &Context<'_>) -> Result<Cart> {
        let stored = match session(ctx)? {
            Some(session) => queries(ctx).carts.get(&CartOwner::of(session)).await.or_graphql()?,
            None => Default::default(),
        };
        Cart::price(ctx, stored, None).await
    }
}
