//! Cart mutations. Each is one cart command; the first one that needs a cart starts a session when
//! the caller has none (its token is in the payload and in the session cookie).
//!
//! The cart store checks, in the round trip of the change itself, that the caller's session has not
//! ended, so a request of these mutations alone is served without looking the session up first. An
//! ended session is refused (`UNAUTHENTICATED`) when it came as a bearer token; from a cookie, the
//! caller goes on as a guest and the cookie is replaced or cleared, as for any other request.

use std::future::Future;

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use domain::cart::{CartOwner, MAX_LINES, Quantity};
use domain::discount::CodeRefusal;
use domain::session::Session;
use infra::carts::{CartChange, CartRefusal, StoredCart};
use infra::session_registry::Liveness;
use infra::tokens::Tokens;

use super::types::Cart;
use crate::auth::{expired_session_cookie, session_cookie};
use crate::graphql::context::{caller, commands, services, session};
use crate::graphql::errors::{ErrorCode, OrGraphql, error};
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

/// The mutations that check the caller's session themselves, in the cart store.
pub const CHECKING_THEIR_SESSION: &[&str] = &["addToCart", "updateCartLine", "removeFromCart", "clearCart"];

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
        let (change, token) = change_for_session(ctx, |owner, liveness| async move {
            commands(ctx).carts.add(&owner, &liveness, variant, quantity).await
        })
        .await?;
        payload(ctx, change, token).await
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
        let (change, token) = change_for_session(ctx, |owner, liveness| async move {
            commands(ctx).carts.set_quantity(&owner, &liveness, variant, quantity).await
        })
        .await?;
        payload(ctx, change, token).await
    }

    async fn remove_from_cart(&self, ctx: &Context<'_>, variant_id: ID) -> Result<CartPayload> {
        crate::metrics::record_cart_change("remove");
        let variant = uuid_of(&variant_id, NodeKind::Variant)?;
        let change = change_existing_cart(ctx, |owner, liveness| async move {
            commands(ctx).carts.remove(&owner, &liveness, variant).await
        })
        .await?;
        payload(ctx, change, None).await
    }

    /// Applies a discount code (in any case) to the cart, in place of any other, if the cart may use
    /// it now: `UNKNOWN_CODE`, `CODE_EXPIRED`, `CODE_USED_UP`, `MINIMUM_NOT_MET` or `NOT_APPLICABLE`
    /// when it may not. Checkout checks it again and redeems it.
    async fn apply_discount_code(&self, ctx: &Context<'_>, code: String) -> Result<CartPayload> {
        let change = change_existing_cart(ctx, |owner, liveness| async move {
            commands(ctx).carts.apply_code(&owner, &liveness, &code).await
        })
        .await?;
        payload(ctx, change, None).await
    }

    async fn remove_discount_code(&self, ctx: &Context<'_>) -> Result<CartPayload> {
        let change = change_existing_cart(ctx, |owner, liveness| async move {
            commands(ctx).carts.remove_code(&owner, &liveness).await
        })
        .await?;
        payload(ctx, change, None).await
    }

    async fn clear_cart(&self, ctx: &Context<'_>) -> Result<CartPayload> {
        crate::metrics::record_cart_change("clear");
        let change = change_existing_cart(ctx, |owner, liveness| async move {
            commands(ctx).carts.clear(&owner, &liveness).await
        })
        .await?;
        payload(ctx, change, None).await
    }
}

/// Makes `change` to the cart of the caller's session, or of a new one (whose token is the answer's
/// second part, and goes into the session cookie); again with a new one when the caller's had ended.
async fn change_for_session<F, Fut>(ctx: &Context<'_>, change: F) -> Result<(CartChange, Option<String>)>
where
    F: Fn(CartOwner, Liveness) -> Fut,
    Fut: Future<Output = Result<CartChange, infra::Error>>,
{
    if let Some(session) = session(ctx)? {
        let made = change(CartOwner::of(session), liveness(ctx, session)).await.or_graphql()?;
        if made.refused != Some(CartRefusal::SessionEnded) {
            return Ok((made, None));
        }
        // The new session's cookie replaces the ended one's.
        refuse_an_ended_bearer_token(ctx)?;
    }
    let (session, token) = new_session(ctx)?;
    let made = change(CartOwner::of(&session), liveness(ctx, &session)).await.or_graphql()?;
    Ok((made, Some(token)))
}

/// Makes `change` to the cart of the caller's session, if the caller has one that has not ended; a
/// caller without one has an empty cart (an ended bearer token is refused, an ended cookie cleared).
async fn change_existing_cart<F, Fut>(ctx: &Context<'_>, change: F) -> Result<CartChange>
where
    F: FnOnce(CartOwner, Liveness) -> Fut,
    Fut: Future<Output = Result<CartChange, infra::Error>>,
{
    let Some(session) = session(ctx)? else { return Ok(unchanged()) };
    let made = change(CartOwner::of(session), liveness(ctx, session)).await.or_graphql()?;
    if made.refused != Some(CartRefusal::SessionEnded) {
        return Ok(made);
    }
    refuse_an_ended_bearer_token(ctx)?;
    ctx.append_http_header("set-cookie", expired_session_cookie(&services(ctx).cookies));
    Ok(unchanged())
}

/// A new session, whose token goes into the session cookie.
fn new_session(ctx: &Context<'_>) -> Result<(Session, String)> {
    let services = services(ctx);
    let session = Tokens::new_session();
    let token = services.tokens.issue(&session).or_graphql()?;
    ctx.append_http_header("set-cookie", session_cookie(&token, &services.cookies));
    Ok((session, token))
}

fn liveness(ctx: &Context<'_>, session: &Session) -> Liveness {
    services(ctx).sessions.liveness(session)
}

/// The caller's session has ended: a bearer token is refused; a cookie is the caller's to drop.
fn refuse_an_ended_bearer_token(ctx: &Context<'_>) -> Result<()> {
    if caller(ctx).from_cookie {
        return Ok(());
    }
    Err(error(ErrorCode::Unauthenticated, "the session has ended; sign in again"))
}

/// The empty cart of a caller without a session.
fn unchanged() -> CartChange {
    CartChange { cart: StoredCart::default(), refused: None, read: None }
}

async fn payload(ctx: &Context<'_>, change: CartChange, token: Option<String>) -> Result<CartPayload> {
    let user_errors = change.refused.and_then(refused).into_iter().collect();
    Ok(CartPayload { cart: Cart::price(ctx, change.cart, change.read).await?, user_errors, token })
}

/// What the shopper is told of `refusal`; nothing of an ended session, which was answered already
/// (a refused token, or a new session).
fn refused(refusal: CartRefusal) -> Option<UserError> {
    Some(match refusal {
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
        CartRefusal::Discount(refusal) => discount_refused(Some("code"), refusal),
        CartRefusal::SessionEnded => return None,
    })
}

/// What a shopper is told when a discount code may not be used, about `field` (none when the code
/// is the cart's, not an argument).
pub fn discount_refused(field: Option<&str>, refusal: CodeRefusal) -> UserError {
    let (code, message) = refusal_error(refusal);
    UserError::new(field, code, message)
}

/// The error code and message of `refusal`; a code that does not exist, is disabled or has not
/// started is unknown alike.
pub fn refusal_error(refusal: CodeRefusal) -> (UserErrorCode, &'static str) {
    match refusal {
        CodeRefusal::UnknownCode => (UserErrorCode::UnknownCode, "no such discount code"),
        CodeRefusal::Expired => (UserErrorCode::CodeExpired, "this discount code has expired"),
        CodeRefusal::UsedUp => (UserErrorCode::CodeUsedUp, "this discount code has been used up"),
        CodeRefusal::MinimumNotMet => {
            (UserErrorCode::MinimumNotMet, "the bag does not reach this code's minimum")
        }
        CodeRefusal::NotApplicable => {
            (UserErrorCode::NotApplicable, "this code applies to nothing in the bag")
        }
    }
}
