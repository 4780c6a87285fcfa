use async_graphql::{Context, Object, Result};

use super::types::Cart;
use crate::auth::Caller;
use crate::graphql::errors::OrGraphql;

#[derive(Default)]
pub struct CartQuery;

#[Object]
impl CartQuery {
    /// The caller's cart, priced from the live catalogue; empty without a session.
    async fn cart(&self, ctx: &Context<'_>) -> Result<Cart> {
        let stored = match &ctx.data_unchecked::<Caller>().session {
            Some(session) => {
                super::types::services(ctx).carts.get(&session.cart_owner()).await.or_graphql()?
            }
            None => Default::default(),
        };
        Cart::price(ctx, stored).await
    }
}
