//! A cart as the shopper sees it: each stored line priced from the live catalogue, with warnings.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use domain::cart::{LineState, LineWarning, warnings};
use domain::currency::CurrencyCode;
use infra::cart_store::StoredCart;
use infra::entities::variant;

use crate::graphql::catalog::loaders::{ProductKey, VariantKey};
use crate::graphql::catalog::types::{Variant, loader};
use crate::graphql::errors::OrGraphql;
use crate::graphql::money::Money;
use crate::services::Services;

pub fn services<'a>(ctx: &Context<'a>) -> &'a Arc<Services> {
    ctx.data_unchecked::<Arc<Services>>()
}

pub struct Cart {
    lines: Vec<CartLine>,
    currency: CurrencyCode,
}

pub struct CartLine {
    variant: variant::Model,
    quantity: u32,
    available: bool,
    currency: CurrencyCode,
    warnings: Vec<CartLineWarning>,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub enum CartWarningCode {
    /// Taken off sale: the line cannot be checked out.
    Unavailable,
    OutOfStock,
    /// Fewer left than the line holds.
    InsufficientStock,
    /// The unit price is not what it was when the line was added.
    PriceChanged,
}

#[derive(SimpleObject, Clone)]
pub struct CartLineWarning {
    code: CartWarningCode,
    message: String,
}

impl Cart {
    /// Prices `stored` with one cached catalogue read for all its variants; lines whose product was
    /// taken off sale stay visible with a warning and count towards nothing.
    pub async fn price(ctx: &Context<'_>, stored: StoredCart) -> Result<Self> {
        let services = services(ctx);
        let currency = services.shop.currency().await.or_graphql()?;
        if stored.lines.is_empty() {
            return Ok(Self { lines: vec![], currency });
        }
        let ids: Vec<_> = stored.lines.iter().map(|line| line.variant_id).collect();
        let for_sale = services.cached_catalog.variants_for_sale(&ids).await.or_graphql()?;
        let on_sale: HashMap<_, _> =
            for_sale.products.iter().map(|p| (p.id, p.archived_at.is_none())).collect();
        let variants: HashMap<_, _> = for_sale.variants.iter().map(|v| (v.id, v.clone())).collect();
        let loader = loader(ctx);
        loader.feed_many(for_sale.variants.into_iter().map(|v| (VariantKey(v.id), v))).await;
        loader
            .feed_many(
                for_sale
                    .products
                    .into_iter()
                    .filter(|p| p.archived_at.is_none())
                    .map(|p| (ProductKey(p.id), p)),
            )
            .await;

        let lines = stored
            .lines
            .into_iter()
            .filter_map(|line| {
                let variant = variants.get(&line.variant_id)?.clone();
                let available = on_sale.get(&variant.product_id).copied().unwrap_or(false);
                let state = LineState {
                    quantity: line.quantity,
                    available,
                    stock: variant.stock_on_hand.max(0) as u32,
                    price_now: variant.price_minor,
                    price_when_added: line.price_when_added,
                };
                let warnings = warnings(&state).into_iter().map(|w| describe(w, currency)).collect();
                Some(CartLine { variant, quantity: line.quantity, available, currency, warnings })
            })
            .collect();
        Ok(Self { lines, currency })
    }
}

fn describe(warning: LineWarning, currency: CurrencyCode) -> CartLineWarning {
    let (code, message) = match warning {
        LineWarning::Unavailable => (CartWarningCode::Unavailable, "no longer for sale".to_owned()),
        LineWarning::OutOfStock => (CartWarningCode::OutOfStock, "out of stock".to_owned()),
        LineWarning::InsufficientStock { available } => {
            (CartWarningCode::InsufficientStock, format!("only {available} left"))
        }
        LineWarning::PriceChanged { was } => {
            let was = domain::money::Money::new(was, currency).decimal_string();
            (CartWarningCode::PriceChanged, format!("the price was {was} {currency} when added"))
        }
    };
    CartLineWarning { code, message }
}

#[Object]
impl Cart {
    async fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    /// Units in the cart, over the lines that can be bought.
    async fn total_quantity(&self) -> i32 {
        self.lines.iter().filter(|l| l.available).map(|l| l.quantity as i32).sum()
    }

    /// The sum of the line totals that can be bought, at today's prices.
    async fn subtotal(&self) -> Money {
        let minor = self.lines.iter().filter(|l| l.available).map(CartLine::total_minor).sum();
        Money(domain::money::Money::new(minor, self.currency))
    }
}

impl CartLine {
    fn total_minor(&self) -> i64 {
        self.variant.price_minor * i64::from(self.quantity)
    }
}

#[Object]
impl CartLine {
    async fn variant(&self) -> Variant {
        Variant(self.variant.clone())
    }

    async fn quantity(&self) -> i32 {
        self.quantity as i32
    }

    /// Today's price of one unit.
    async fn unit_price(&self) -> Money {
        Money(domain::money::Money::new(self.variant.price_minor, self.currency))
    }

    async fn line_total(&self) -> Money {
        Money(domain::money::Money::new(self.total_minor(), self.currency))
    }

    async fn warnings(&self) -> &[CartLineWarning] {
        &self.warnings
    }
}
