//! Cart mutations. Each is one cart command; the first one that needs a cart starts a session when
//! the caller has none (its token is in the payload and in the session cookie).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use domain::cart::{CartOwner, MAX_LINES, Quantity};
use domain::session::Session;
use infra::carts::{CartChange, CartRefusal, StoredCart};
use infra::tokens::Tokens;

use super::types::Cart;
use crate::auth::session_cookie;
use crate::graphql::context::{commands, services, session};
use crate::graphql::errors::OrGraphql;
use crate::graphql::global_id::{NodeKind, uuid_of};
use crate::graphql::user_error::{UserError, UserErrorCode};

#[derive(SimpleObject)]
pub struct CartPayload {
    /// The cart after the call; unchanged when there are user errors.
    cart: Cart,
    user_errors: Vec<UserError>,
    /// The token of the session this call started, if the caller had none.
    token: Option<String>,
}

#[derive(Default)]
pub struct CartMutation;

#[Object]
impl CartMutation {
    /// Adds `quantity` of a variant; a line of the same variant grows.
    async fn add_to_cart(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        #[graphql(default = 1)] quantity: i32,
    ) -> Result<CartPayload> {
        crate::metrics::record_cart_change("add");
        let variant = uuid_of(&variant_id, NodeKind::Variant)?;
        let (session, token) = session_for_cart(ctx)?;
        let change = commands(ctx).carts.add(&CartOwner::of(&session), variant, quantity).await;
        payload(ctx, change.or_graphql()?, token).await
    }

    /// Sets the quantity of a variant's line; 0 removes it.
    async fn update_cart_line(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        quantity: i32,
    ) -> Result<CartPayload> {
        crate::metrics::record_cart_change("update");
        let variant = uuid_of(&variant_id, NodeKind::Variant)?;
        let (session, token) = session_for_cart(ctx)?;
        let change = commands(ctx).carts.set_quantity(&CartOwner::of(&session), variant, quantity).await;
        payload(ctx, change.or_graphql()?, token).await
    }

    async fn remove_from_cart(&self, ctx: &Context<'_>, variant_id: ID) -> Result<CartPayload> {
        crate::metrics::record_cart_change("remove");
        let variant = uuid_of(&variant_id, NodeKind::Variant)?;
        let change = match session(ctx)? {
            Some(session) => {
                commands(ctx).carts.remove(&CartOwner::of(session), variant).await.or_graphql()?
            }
            None => unchanged(),
        };
        payload(ctx, change, None).await
    }

    async fn clear_cart(&self, ctx: &Context<'_>) -> Result<CartPayload> {
        crate::metrics::record_cart_change("clear");
        let change = match session(ctx)? {
            Some(session) => commands(ctx).carts.clear(&CartOwner::of(session)).await.or_graphql()?,
            None => unchanged(),
        };
        payload(ctx, change, None).await
    }
}

/// The caller's session, or a new one (whose token goes into the payload and the session cookie).
fn session_for_cart(ctx: &Context<'_>) -> Result<(Session, Option<String>)> {
    if let Some(session) = session(ctx)? {
        return Ok((session.clone(), None));
    }
    let services = services(ctx);
    let session = Tokens::new_session();
    let token = services.tokens.issue(&session).or_graphql()?;
    ctx.append_http_header("set-cookie", session_cookie(&token, &services.cookies));
    Ok((session, Some(token)))
}

/// The empty cart of a caller without a session.
fn unchanged() -> CartChange {
    CartChange { cart: StoredCart::default(), refused: None }
}

async fn payload(ctx: &Context<'_>, change: CartChange, token: Option<String>) -> Result<CartPayload> {
    let user_errors = change.refused.map(refused).into_iter().collect();
    Ok(CartPayload { cart: Cart::price(ctx, change.cart).await?, user_errors, token })
}

fn refused(refusal: CartRefusal) -> UserError {
    match refusal {
        CartRefusal::InvalidQuantity => UserError::new(
            Some("quantity"),
            UserErrorCode::InvalidQuantity,
            format!("a line holds 1 to {}", Quantity::MAX),
        ),
        CartRefusal::UnknownVariant => {
            UserError::new(Some("variantId"), UserErrorCode::UnknownVariant, "no such variant is for sale")
        }
        CartRefusal::OutOfStock => {
            UserError::new(Some("variantId"), UserErrorCode::OutOfStock, "this variant is out of stock")
        }
        CartRefusal::LineLimit => UserError::new(
            Some("variantId"),
            UserErrorCode::CartLimit,
            format!("a cart holds at most {MAX_LINES} lines"),
        ),
    }
}
