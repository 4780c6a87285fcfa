//! A cart as the shopper sees it: each stored line priced from the live catalogue, with warnings.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use domain::cart::LineWarning;
use domain::currency::CurrencyCode;
use infra::carts::{PricedLine, StoredCart};
use infra::catalog::VariantsForSale;

use super::mutation::refusal_error;
use crate::graphql::catalog::loaders::{ProductKey, VariantKey};
use crate::graphql::catalog::types::{Variant, loader};
use crate::graphql::context::{queries, reads, services, session};
use crate::graphql::errors::OrGraphql;
use crate::graphql::money::Money;
use crate::graphql::shipping::{ShippingOption, country_argument};
use crate::graphql::user_error::UserErrorCode;

pub struct Cart {
    lines: Vec<CartLine>,
    currency: CurrencyCode,
    discount: Option<CartDiscount>,
}

/// The discount code applied to a cart, and what it takes off now.
#[derive(SimpleObject)]
pub struct CartDiscount {
    code: String,
    /// Nothing while `problem` says why the code does not apply.
    amount: Money,
    /// Why the code would be refused at checkout now (the bag changed, the code expired…); null
    /// while it applies.
    problem: Option<UserErrorCode>,
}

pub struct CartLine {
    line: PricedLine,
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
    /// Prices `stored` (with `read`, what the change that made it read of the catalogue, if any); the
    /// variants and products it shows need no further query.
    pub async fn price(ctx: &Context<'_>, stored: StoredCart, read: Option<VariantsForSale>) -> Result<Self> {
        let currency = services(ctx).shop.currency().await.or_graphql()?;
        let priced = queries(ctx).carts.price(stored, read).await.or_graphql()?;
        let discount = match &priced.discount_code {
            Some(code) => {
                let lines = priced.lines_for_discount(reads(ctx));
                let customer = session(ctx)?.and_then(|session| session.customer());
                let applies =
                    queries(ctx).discounts.check(code, &lines, customer, reads(ctx)).await.or_graphql()?;
                Some(CartDiscount {
                    code: code.as_str().to_owned(),
                    amount: Money(domain::money::Money::new(*applies.as_ref().unwrap_or(&0), currency)),
                    problem: applies.err().map(|refusal| refusal_error(refusal).0),
                })
            }
            None => None,
        };
        let loader = loader(ctx);
        loader.feed_many(priced.lines.iter().map(|l| (VariantKey(l.variant.id), l.variant.clone()))).await;
        loader.feed_many(priced.products.into_iter().map(|p| (ProductKey(p.id), p))).await;
        let lines = priced
            .lines
            .into_iter()
            .map(|line| {
                let warnings = line.warnings.iter().map(|w| describe(*w, currency)).collect();
                CartLine { line, currency, warnings }
            })
            .collect();
        Ok(Self { lines, currency, discount })
    }

    /// The sum of the line totals that can be bought, at today's prices.
    fn subtotal_minor(&self, ctx: &Context<'_>) -> i64 {
        self.lines.iter().filter(|l| l.line.available).map(|l| l.line.total_minor(reads(ctx))).sum()
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
        self.lines.iter().filter(|l| l.line.available).map(|l| l.line.quantity as i32).sum()
    }

    /// The sum of the line totals that can be bought, at today's prices.
    async fn subtotal(&self, ctx: &Context<'_>) -> Money {
        Money(domain::money::Money::new(self.subtotal_minor(ctx), self.currency))
    }

    /// The discount code applied (`applyDiscountCode`), if any.
    async fn discount(&self) -> Option<&CartDiscount> {
        self.discount.as_ref()
    }

    /// The methods that ship to `country` (ISO 3166-1 alpha-2), cheapest first, each with what
    /// shipping this cart costs with it (free from a method's `freeFrom`, reckoned on `subtotal`
    /// before any discount); none when the shop does not ship there. The total to pay is `subtotal`
    /// plus the chosen option's `price` less `discount.amount` (VAT included in all).
    async fn available_shipping_methods(
        &self,
        ctx: &Context<'_>,
        country: String,
    ) -> Result<Vec<ShippingOption>> {
        let country = country_argument(&country)?;
        let destination = queries(ctx).shipping.destination(&country, reads(ctx)).await.or_graphql()?;
        let subtotal = self.subtotal_minor(ctx);
        Ok(destination
            .methods
            .into_iter()
            .map(|method| ShippingOption::of(method, subtotal, self.currency))
            .collect())
    }
}

#[Object]
impl CartLine {
    async fn variant(&self) -> Variant {
        Variant(self.line.variant.clone())
    }

    async fn quantity(&self) -> i32 {
        self.line.quantity as i32
    }

    /// Today's price of one unit.
    async fn unit_price(&self, ctx: &Context<'_>) -> Money {
        Money(domain::money::Money::new(self.line.variant.price_minor(reads(ctx)), self.currency))
    }

    async fn line_total(&self, ctx: &Context<'_>) -> Money {
        Money(domain::money::Money::new(self.line.total_minor(reads(ctx)), self.currency))
    }

    async fn warnings(&self) -> &[CartLineWarning] {
        &self.warnings
    }
}
