//! What the worker does when an order is placed, in one transaction on the primary: the confirmation
//! message into the mail sink (with the order-status link), the payment captured and the order marked
//! paid, and a notice for each ordered variant whose stock ran low. Handling the same event again has
//! the effect of once: each message has a key of what it is about, and only a placed order is
//! captured and marked paid.

use std::sync::Arc;

use domain::currency::CurrencyCode;
use domain::money::Money;
use domain::order::{OrderNumber, OrderStatus};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::db::DbRouter;
use crate::entities::{order, order_line, payment};
use crate::mail::{Message, Storefront, post};
use crate::orders::ledger::record;
use crate::outbox::{announce_order, uuid_field};
use crate::payments::PaymentProvider;
use crate::write_path::{Touch, WriteTx};

pub struct StockAlerts {
    /// A variant with this many or fewer left after an order gets a notice.
    pub level: i32,
    pub recipient: String,
}

pub struct OrderEvents {
    db: Arc<DbRouter>,
    payments: Arc<dyn PaymentProvider>,
    alerts: StockAlerts,
    storefront: Storefront,
}

impl OrderEvents {
    pub fn new(
        db: Arc<DbRouter>,
        payments: Arc<dyn PaymentProvider>,
        alerts: StockAlerts,
        storefront: Storefront,
    ) -> Self {
        Self { db, payments, alerts, storefront }
    }

    /// Handles one event; the others are of no concern to the worker.
    pub async fn handle(&self, event_type: &str, payload: &serde_json::Value) -> Result<(), crate::Error> {
        if event_type != "order.placed" {
            return Ok(());
        }
        let order_id = uuid_field(payload, "orderId", "an order id")?;
        self.order_placed(order_id).await
    }

    async fn order_placed(&self, order_id: Uuid) -> Result<(), crate::Error> {
        let mut tx = WriteTx::begin(&self.db).await?;
        let Some(order) = order::Entity::find_by_id(order_id).lock_exclusive().one(tx.conn()).await? else {
            tracing::warn!(%order_id, "an event names an order that does not exist");
            return Ok(());
        };
        let lines = order_line::Entity::find()
            .filter(order_line::Column::OrderId.eq(order_id))
            .all(tx.conn())
            .await?;
        let confirmation = confirmation(&order, &lines, &order_page(&self.storefront, &order))?;
        post(tx.conn(), &format!("order-confirmation:{order_id}"), &order.email, &confirmation).await?;
        if OrderStatus::from(order.status) == OrderStatus::Placed {
            let authorization = order
                .payment_reference
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("the placed order {order_id} has no payment authorisation"))?;
            self.payments
                .capture(authorization)
                .await
                .map_err(|failure| anyhow::anyhow!("capturing the payment of order {order_id}: {failure}"))?;
            record(tx.conn(), order_id, payment::Kind::Capture, order.total_minor, authorization).await?;
            let mut paid = order.clone().into_active_model();
            paid.status = Set(OrderStatus::Paid.into());
            paid.updated_at = Set(chrono::Utc::now().fixed_offset());
            paid.update(tx.conn()).await?;
            announce_order(tx.conn(), order_id, OrderNumber::new(order.number), OrderStatus::Paid).await?;
            tx.touch(Touch::Order(order_id));
        }
        self.alert_low_stock(tx.conn(), &order, &lines).await?;
        tx.commit(()).await?.into_unobserved();
        Ok(())
    }

    async fn alert_low_stock(
        &self,
        txn: &DatabaseTransaction,
        order: &order::Model,
        lines: &[order_line::Model],
    ) -> Result<(), crate::Error> {
        let variants: Vec<Uuid> = lines.iter().map(|line| line.variant_id).collect();
        let low = "SELECT id, sku, stock_on_hand FROM variants WHERE id = ANY($1) AND stock_on_hand <= $2";
        let query = Statement::from_sql_and_values(
            DbBackend::Postgres,
            low,
            [variants.into(), self.alerts.level.into()],
        );
        for row in txn.query_all_raw(query).await? {
            let (variant, sku, left): (Uuid, String, i32) =
                (row.try_get("", "id")?, row.try_get("", "sku")?, row.try_get("", "stock_on_hand")?);
            let message = Message {
                subject: format!("Low stock: {sku}"),
                body: format!("{sku} has {left} left after order {}.\r\n", OrderNumber::new(order.number)),
            };
            post(txn, &format!("low-stock:{variant}:{}", order.id), &self.alerts.recipient, &message).await?;
        }
        Ok(())
    }
}

/// The order-status link of `order`: it shows the order to whoever holds it.
fn order_page(storefront: &Storefront, order: &order::Model) -> String {
    storefront.page(&format!("order/{}?key={}", OrderNumber::new(order.number), order.access_token))
}

fn confirmation(
    order: &order::Model,
    lines: &[order_line::Model],
    order_page: &str,
) -> Result<Message, crate::Error> {
    let number = OrderNumber::new(order.number);
    let mut body = format!("Thank you for your order {number}.\r\n\r\n");
    for line in lines {
        body += &format!("{} × {} ({}, {})\r\n", line.quantity, line.product_name, line.size, line.colour);
    }
    let currency = CurrencyCode::parse(&order.currency).map_err(anyhow::Error::from)?;
    let amount = |minor| format!("{} {}", Money::new(minor, currency).decimal_string(), currency.as_str());
    if let Some(method) = &order.shipping_method {
        body += &format!("\r\nShipping ({method}): {}", amount(order.shipping_minor));
    }
    if let Some(code) = &order.discount_code {
        body += &format!("\r\nDiscount ({code}): -{}", amount(order.discount_minor));
    }
    body += &format!("\r\nTotal: {}\r\n", amount(order.total_minor));
    body += &format!("Including VAT: {}\r\n", amount(order.vat_minor));
    body += &format!("\r\nYour order's page (keep this link to yourself): {order_page}\r\n");
    Ok(Message { subject: format!("Your MyClothes order {number}"), body })
}
