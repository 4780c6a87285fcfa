//! Cart mutations. Each is one atomic cart-store operation; the first one that needs a cart starts a
//! session when the caller has none (its token is in the payload and in the session cookie).

use async_graphql::{Context, ID, Object, Result, SimpleObject};
use domain::cart::Quantity;
use domain::session::Session;
use infra::cart_store::{CartChange, CartRejection, StoredCart};
use infra::tokens::Tokens;
use uuid::Uuid;

use super::types::{Cart, services};
use crate::auth::{Caller, session_cookie};
use crate::graphql::errors::OrGraphql;
use crate::graphql::node::{NodeKind, uuid_of};
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
        let Ok(quantity) = Quantity::parse(quantity) else {
            return refused(ctx, &session, token, invalid_quantity()).await;
        };
        let price = match price_for_sale(ctx, variant).await? {
            Ok(price) => price,
            Err(error) => return refused(ctx, &session, token, error).await,
        };
        let change = services(ctx).carts.add(&session.cart_owner(), variant, quantity, price).await;
        changed(ctx, &session, token, change).await
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
        if quantity == 0 {
            let cart = services(ctx).carts.remove(&session.cart_owner(), variant).await.or_graphql()?;
            return payload(ctx, cart, vec![], token).await;
        }
        let Ok(quantity) = Quantity::parse(quantity) else {
            return refused(ctx, &session, token, invalid_quantity()).await;
        };
        let price = match price_for_sale(ctx, variant).await? {
            Ok(price) => price,
            Err(error) => return refused(ctx, &session, token, error).await,
        };
        let change =
            services(ctx).carts.set_quantity(&session.cart_owner(), variant, quantity.get(), price).await;
        changed(ctx, &session, token, change).await
    }

    async fn remove_from_cart(&self, ctx: &Context<'_>, variant_id: ID) -> Result<CartPayload> {
        crate::metrics::record_cart_change("remove");
        let variant = uuid_of(&variant_id, NodeKind::Variant)?;
        let cart = match &ctx.data_unchecked::<Caller>().session {
            Some(session) => services(ctx).carts.remove(&session.cart_owner(), variant).await.or_graphql()?,
            None => StoredCart::default(),
        };
        payload(ctx, cart, vec![], None).await
    }

    async fn clear_cart(&self, ctx: &Context<'_>) -> Result<CartPayload> {
        crate::metrics::record_cart_change("clear");
        let cart = match &ctx.data_unchecked::<Caller>().session {
            Some(session) => services(ctx).carts.clear(&session.cart_owner()).await.or_graphql()?,
            None => StoredCart::default(),
        };
        payload(ctx, cart, vec![], None).await
    }
}

/// The caller's session, or a new one (whose token goes into the payload and the session cookie).
fn session_for_cart(ctx: &Context<'_>) -> Result<(Session, Option<String>)> {
    if let Some(session) = &ctx.data_unchecked::<Caller>().session {
        return Ok((session.clone(), None));
    }
    let services = services(ctx);
    let session = Tokens::new_session();
    let token = services.tokens.issue(&session).or_graphql()?;
    ctx.append_http_header("set-cookie", session_cookie(&token, &services.cookies));
    Ok((session, Some(token)))
}

/// The live price of a variant that can be bought, or why it cannot.
async fn price_for_sale(ctx: &Context<'_>, variant: Uuid) -> Result<Result<i64, UserError>> {
    let for_sale = services(ctx).cached_catalog.variants_for_sale(&[variant]).await.or_graphql()?;
    let Some(found) = for_sale.variants.iter().find(|v| v.id == variant) else {
        return Ok(Err(unknown_variant()));
    };
    let on_sale = for_sale.products.iter().any(|p| p.id == found.product_id && p.archived_at.is_none());
    Ok(match (on_sale, found.stock_on_hand) {
        (false, _) => Err(unknown_variant()),
        (true, 0) => {
            Err(UserError::new(Some("variantId"), UserErrorCode::OutOfStock, "this variant is out of stock"))
        }
        (true, _) => Ok(found.price_minor),
    })
}

fn unknown_variant() -> UserError {
    UserError::new(Some("variantId"), UserErrorCode::UnknownVariant, "no such variant is for sale")
}

fn invalid_quantity() -> UserError {
    UserError::new(
        Some("quantity"),
        UserErrorCode::InvalidQuantity,
        format!("a line holds 1 to {}", Quantity::MAX),
    )
}

async fn changed(
    ctx: &Context<'_>,
    session: &Session,
    token: Option<String>,
    change: CartChange,
) -> Result<CartPayload> {
    match change.or_graphql()? {
        Ok(cart) => payload(ctx, cart, vec![], token).await,
        Err(CartRejection::QuantityLimit) => refused(ctx, session, token, invalid_quantity()).await,
        Err(CartRejection::LineLimit) => {
            let error = UserError::new(
                Some("variantId"),
                UserErrorCode::CartLimit,
                format!("a cart holds at most {} lines", domain::cart::MAX_LINES),
            );
            refused(ctx, session, token, error).await
        }
    }
}

/// The unchanged cart with `error`.
async fn refused(
    ctx: &Context<'_>,
    session: &Session,
    token: Option<String>,
    error: UserError,
) -> Result<CartPayload> {
    let cart = match token {
        Some(_) => StoredCart::default(),
        None => services(ctx).carts.get(&session.cart_owner()).await.or_graphql()?,
    };
    payload(ctx, cart, vec![error], token).await
}

async fn payload(
    ctx: &Context<'_>,
    cart: StoredCart,
    user_errors: Vec<UserError>,
    token: Option<String>,
) -> Result<CartPayload> {
    Ok(CartPayload { cart: Cart::price(ctx, cart).await?, user_errors, token })
}
