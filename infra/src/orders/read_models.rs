//! What the orders' read side returns: an order as its customer and staff see it, with its lines.
//! Prices, names and the address are the copies taken at checkout.

use chrono::{DateTime, FixedOffset};
use domain::currency::CurrencyCode;
use domain::order::{OrderAccessToken, OrderNumber, OrderStatus};
use domain::vat::VatRate;
use uuid::Uuid;

use super::queries::OrderRows;
use crate::customers::PostalAddress;
use crate::entities::order_line;
use crate::entities::payment::{self, Kind as PaymentKind};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderView {
    pub id: Uuid,
    pub number: OrderNumber,
    pub status: OrderStatus,
    /// Where the confirmation goes.
    pub email: String,
    /// Shows the order to whoever holds it: for its buyer only.
    pub access_token: OrderAccessToken,
    pub currency: CurrencyCode,
    /// The lines' totals.
    pub subtotal_minor: i64,
    /// The lines' totals and shipping, less the discount.
    pub total_minor: i64,
    /// The discount code redeemed, and what it took off.
    pub discount_code: Option<String>,
    pub discount_minor: i64,
    /// The VAT included in the total.
    pub vat_minor: i64,
    /// The name of the method it ships with; none for orders from before shipping was charged.
    pub shipping_method: Option<String>,
    pub shipping: PricePart,
    pub shipping_address: PostalAddress,
    pub created_at: DateTime<FixedOffset>,
    /// In checkout order.
    pub lines: Vec<OrderLineView>,
    /// What happened to its money, in that order.
    pub payments: Vec<PaymentView>,
}

/// Something the payment provider did with an order's money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentView {
    pub kind: PaymentKind,
    pub amount_minor: i64,
    /// A refund the provider has not confirmed yet.
    pub pending: bool,
    pub created_at: DateTime<FixedOffset>,
}

impl From<payment::Model> for PaymentView {
    fn from(payment: payment::Model) -> Self {
        Self {
            kind: payment.kind,
            amount_minor: payment.amount_minor,
            pending: payment.pending_until.is_some(),
            created_at: payment.created_at,
        }
    }
}

/// An amount paid, with its VAT rate and the VAT in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PricePart {
    pub amount_minor: i64,
    pub vat_rate: VatRate,
    pub vat_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderLineView {
    pub variant_id: Uuid,
    pub sku: String,
    pub product_name: String,
    pub size: String,
    pub colour: String,
    pub unit_price_minor: i64,
    pub quantity: i32,
    /// The line's total, with the VAT in what was paid for it (its total less its share of the
    /// discount).
    pub total: PricePart,
    pub discount_minor: i64,
}

impl OrderView {
    /// The view of an order's rows; fails only on a row no checkout writes.
    pub(super) fn of(rows: OrderRows) -> Result<Self, crate::Error> {
        let OrderRows { order, lines, payments } = rows;
        let currency = CurrencyCode::parse(&order.currency)
            .map_err(|e| anyhow::anyhow!("order {}'s currency: {e}", order.number))?;
        let shipping_address = serde_json::from_value(order.shipping_address)
            .map_err(|e| anyhow::anyhow!("order {}'s shipping address: {e}", order.number))?;
        Ok(Self {
            id: order.id,
            number: OrderNumber::new(order.number),
            status: order.status.into(),
            email: order.email,
            access_token: OrderAccessToken::parse(&order.access_token)
                .ok_or_else(|| anyhow::anyhow!("order {}'s access token is malformed", order.number))?,
            currency,
            subtotal_minor: order.subtotal_minor,
            total_minor: order.total_minor,
            discount_code: order.discount_code,
            discount_minor: order.discount_minor,
            vat_minor: order.vat_minor,
            shipping_method: order.shipping_method,
            shipping: PricePart {
                amount_minor: order.shipping_minor,
                vat_rate: stored_rate(order.shipping_vat_basis_points)?,
                vat_minor: order.shipping_vat_minor,
            },
            shipping_address,
            created_at: order.created_at,
            lines: lines.into_iter().map(OrderLineView::of).collect::<Result<_, _>>()?,
            payments: payments.into_iter().map(PaymentView::from).collect(),
        })
    }
}

fn stored_rate(points: i32) -> Result<VatRate, crate::Error> {
    Ok(VatRate::from_basis_points(points).map_err(|e| anyhow::anyhow!("a stored VAT rate: {e}"))?)
}

impl OrderLineView {
    fn of(line: order_line::Model) -> Result<Self, crate::Error> {
        Ok(Self {
            variant_id: line.variant_id,
            sku: line.sku,
            product_name: line.product_name,
            size: line.size,
            colour: line.colour,
            unit_price_minor: line.unit_price_minor,
            quantity: line.quantity,
            total: PricePart {
                amount_minor: line.unit_price_minor * i64::from(line.quantity),
                vat_rate: stored_rate(line.vat_basis_points)?,
                vat_minor: line.vat_minor,
            },
            discount_minor: line.discount_minor,
        })
    }
}
