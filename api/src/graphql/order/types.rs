use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::{DateTime, FixedOffset};
use domain::currency::CurrencyCode;
use infra::orders::{OrderLineView, OrderView, PaymentKind, PaymentView};

use crate::graphql::catalog::loaders::VariantKey;
use crate::graphql::catalog::types::{Variant, loader};
use crate::graphql::customer::PostalAddress;
use crate::graphql::global_id::{NodeKind, global_id};
use crate::graphql::money::Money;
use crate::graphql::shipping::IncludedVat;

/// placed → paid → fulfilled, or cancelled before fulfilment (its stock returned). A checkout whose
/// payment provider did not answer in time leaves its order pending payment, its stock reserved, until
/// the provider's answer places it or fails it (its stock returned).
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderStatus")]
pub enum OrderStatusValue {
    PendingPayment,
    PaymentFailed,
    Placed,
    Paid,
    Fulfilled,
    Cancelled,
}

impl From<domain::order::OrderStatus> for OrderStatusValue {
    fn from(status: domain::order::OrderStatus) -> Self {
        use domain::order::OrderStatus as S;
        match status {
            S::PendingPayment => Self::PendingPayment,
            S::PaymentFailed => Self::PaymentFailed,
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
            OrderStatusValue::PendingPayment => Self::PendingPayment,
            OrderStatusValue::PaymentFailed => Self::PaymentFailed,
            OrderStatusValue::Placed => Self::Placed,
            OrderStatusValue::Paid => Self::Paid,
            OrderStatusValue::Fulfilled => Self::Fulfilled,
            OrderStatusValue::Cancelled => Self::Cancelled,
        }
    }
}

pub struct Order(pub OrderView);

impl Order {
    fn money(&self, minor: i64) -> Money {
        Money(domain::money::Money::new(minor, self.0.currency))
    }
}

#[Object]
impl Order {
    async fn id(&self) -> ID {
        global_id(NodeKind::Order, self.0.id)
    }

    /// The number to quote, such as `MC-000123`.
    async fn number(&self) -> String {
        self.0.number.to_string()
    }

    async fn status(&self) -> OrderStatusValue {
        self.0.status.into()
    }

    /// Where the confirmation goes.
    async fn email(&self) -> &str {
        &self.0.email
    }

    async fn lines(&self) -> Vec<OrderLine> {
        self.0.lines.iter().map(|line| OrderLine { line: line.clone(), currency: self.0.currency }).collect()
    }

    /// The lines' totals.
    async fn subtotal(&self) -> Money {
        self.money(self.0.subtotal_minor)
    }

    /// The name of the shipping method, as it was at checkout; null for orders from before the
    /// shop charged shipping.
    async fn shipping_method(&self) -> Option<&str> {
        self.0.shipping_method.as_deref()
    }

    /// What shipping cost.
    async fn shipping_price(&self) -> Money {
        self.money(self.0.shipping.amount_minor)
    }

    /// The VAT in `shippingPrice`, at the destination's rate.
    async fn shipping_vat(&self) -> IncludedVat {
        IncludedVat::of(self.0.shipping.vat_rate, self.0.shipping.vat_minor, self.0.currency)
    }

    /// The discount code redeemed, if any.
    async fn discount_code(&self) -> Option<&str> {
        self.0.discount_code.as_deref()
    }

    /// What the discount code took off.
    async fn discount(&self) -> Money {
        self.money(self.0.discount_minor)
    }

    /// `subtotal` plus `shippingPrice` less `discount`: what the buyer pays.
    async fn total(&self) -> Money {
        self.money(self.0.total_minor)
    }

    /// The VAT included in `total`: the sum of the lines' `vat` and `shippingVat`. Each is worked
    /// out on its own amount at the destination's rate (none outside the VAT table) and rounded to
    /// the minor unit, half to even.
    async fn vat_included(&self) -> Money {
        self.money(self.0.vat_minor)
    }

    /// Where the order ships to, as it was at checkout.
    async fn shipping_address(&self) -> PostalAddress {
        self.0.shipping_address.clone().into()
    }

    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }

    /// What the payment provider did with the order's money, in that order: the authorisation, its
    /// capture or void, and each refund.
    async fn payments(&self) -> Vec<Payment> {
        let currency = self.0.currency;
        self.0.payments.iter().map(|payment| Payment { payment: payment.clone(), currency }).collect()
    }

    /// What has been refunded, confirmed by the payment provider.
    async fn refunded(&self) -> Money {
        let refunds = self.0.payments.iter().filter(|p| p.kind == PaymentKind::Refund && !p.pending);
        self.money(refunds.map(|refund| refund.amount_minor).sum())
    }
}

/// What the payment provider did with an order's money.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "PaymentKind")]
pub enum PaymentKindValue {
    /// The order's total, held on the buyer's card at checkout.
    Authorization,
    /// The held money, taken.
    Capture,
    /// The hold, released without taking anything.
    Void,
    /// Money given back.
    Refund,
}

pub struct Payment {
    payment: PaymentView,
    currency: CurrencyCode,
}

#[Object]
impl Payment {
    #[graphql(name = "kind")]
    async fn payment_kind(&self) -> PaymentKindValue {
        match self.payment.kind {
            PaymentKind::Authorization => PaymentKindValue::Authorization,
            PaymentKind::Capture => PaymentKindValue::Capture,
            PaymentKind::Void => PaymentKindValue::Void,
            PaymentKind::Refund => PaymentKindValue::Refund,
        }
    }

    async fn amount(&self) -> Money {
        Money(domain::money::Money::new(self.payment.amount_minor, self.currency))
    }

    /// A refund the payment provider has not confirmed yet.
    async fn pending(&self) -> bool {
        self.payment.pending
    }

    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.payment.created_at
    }
}

/// A line as it was ordered: its price and names are copies taken at checkout.
pub struct OrderLine {
    line: OrderLineView,
    currency: CurrencyCode,
}

impl OrderLine {
    fn money(&self, minor: i64) -> Money {
        Money(domain::money::Money::new(minor, self.currency))
    }
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

    async fn unit_price(&self) -> Money {
        self.money(self.line.unit_price_minor)
    }

    async fn line_total(&self) -> Money {
        self.money(self.line.total.amount_minor)
    }

    /// The line's share of the order's discount (shared over the lines it applies to in proportion
    /// to their totals).
    async fn discount(&self) -> Money {
        self.money(self.line.discount_minor)
    }

    /// The VAT in what was paid for the line (`lineTotal` less `discount`), at the destination's
    /// rate.
    async fn vat(&self) -> IncludedVat {
        IncludedVat::of(self.line.total.vat_rate, self.line.total.vat_minor, self.currency)
    }
}
