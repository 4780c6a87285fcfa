use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, FixedOffset};
use domain::currency::CurrencyCode;
use infra::entities::order_line;
use infra::orders::PlacedOrder;

use crate::graphql::catalog::loaders::VariantKey;
use crate::graphql::catalog::types::{Variant, loader};
use crate::graphql::customer::PostalAddress;
use crate::graphql::errors::OrGraphql;
use crate::graphql::money::Money;
use crate::graphql::node::{NodeKind, global_id};

/// placed → paid → fulfilled, or cancelled before fulfilment (its stock returned).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderStatus")]
pub enum OrderStatusValue {
    Placed,
    Paid,
    Fulfilled,
    Cancelled,
}

impl From<domain::order::OrderStatus> for OrderStatusValue {
    fn from(status: domain::order::OrderStatus) -> Self {
        use domain::order::OrderStatus as S;
        match status {
            S::Placed => Self::Placed,
            S::Paid => Self::Paid,
            S::Fulfilled => Self::Fulfilled,
            S::Cancelled => Self::Cancelled,
        }
    }
}

impl From<OrderStatusValue> for domain::order::OrderStatus {
    fn from(status: OrderStatusValue) -> Self {
        match status {
            OrderStatusValue::Placed => Self::Placed,
            OrderStatusValue::Paid => Self::Paid,
            OrderStatusValue::Fulfilled => Self::Fulfilled,
            OrderStatusValue::Cancelled => Self::Cancelled,
        }
    }
}

pub struct Order(pub PlacedOrder);

impl Order {
    fn money(&self, minor: i64) -> Result<Money> {
        money_in(&self.0.order.currency, minor)
    }
}

#[Object]
impl Order {
    async fn id(&self) -> ID {
        global_id(NodeKind::Order, self.0.order.id)
    }

    /// The number to quote, such as `MC-000123`.
    async fn number(&self) -> String {
        self.0.number().to_string()
    }

    async fn status(&self) -> OrderStatusValue {
        self.0.status().into()
    }

    /// Where the confirmation goes.
    async fn email(&self) -> &str {
        &self.0.order.email
    }

    async fn lines(&self) -> Vec<OrderLine> {
        self.0
            .lines
            .iter()
            .map(|line| OrderLine { line: line.clone(), currency: self.0.order.currency.clone() })
            .collect()
    }

    async fn subtotal(&self) -> Result<Money> {
        self.money(self.0.order.subtotal_minor)
    }

    async fn total(&self) -> Result<Money> {
        self.money(self.0.order.total_minor)
    }

    /// Where the order ships to, as it was at checkout.
    async fn shipping_address(&self) -> Result<PostalAddress> {
        Ok(self.0.shipping_address().or_graphql()?.into())
    }

    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.order.created_at
    }
}

/// A line as it was ordered: its price and names are copies taken at checkout.
pub struct OrderLine {
    line: order_line::Model,
    currency: String,
}

impl OrderLine {
    fn money(&self, minor: i64) -> Result<Money> {
        money_in(&self.currency, minor)
    }
}

/// `minor` units of an order's stored `currency`.
fn money_in(currency: &str, minor: i64) -> Result<Money> {
    let currency = CurrencyCode::parse(currency)
        .map_err(|e| infra::Error::Unexpected(anyhow::anyhow!("an order's currency: {e}")))
        .or_graphql()?;
    Ok(Money(domain::money::Money::new(minor, currency)))
}

#[Object]
impl OrderLine {
    /// The variant as it is now; null once it no longer exists.
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<Variant>> {
        Ok(loader(ctx).load_one(VariantKey(self.line.variant_id)).await?.map(Variant))
    }

    async fn sku(&self) -> &str {
        &self.line.sku
    }

    async fn product_name(&self) -> &str {
        &self.line.product_name
    }

    async fn size(&self) -> &str {
        &self.line.size
    }

    async fn colour(&self) -> &str {
        &self.line.colour
    }

    async fn quantity(&self) -> i32 {
        self.line.quantity
    }

    async fn unit_price(&self) -> Result<Money> {
        self.money(self.line.unit_price_minor)
    }

    async fn line_total(&self) -> Result<Money> {
        self.money(self.line.unit_price_minor * i64::from(self.line.quantity))
    }
}
