//! What the worker does when an order is placed, in one transaction on the primary: the confirmation
//! message into the mail sink (with the order-status link) with a notice for each ordered variant
//! whose stock ran low, then the payment captured and the order marked paid. Handling the same event
//! again has the effect of once: each message has a key of what it is about, and only a placed order
//! is captured and marked paid.

use std::sync::Arc;

use domain::currency::CurrencyCode;
use domain::money::Money;
use domain::order::{OrderNumber, OrderStatus};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, QuerySelect, Statement,
};
use uuid::Uuid;

use crate::db::DbRouter;
use crate::entities::{order, order_line};
use crate::mail::{Message, Posting, Storefront, post};
use crate::outbox::{announce_orders_of, uuid_field};
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
        let lines = lines_with_stock(tx.conn(), order_id).await?;
        let ordered: Vec<&order_line::Model> = lines.iter().map(|(line, _)| line).collect();
        let confirmation = confirmation(&order, &ordered, &order_page(&self.storefront, &order))?;
        let key = format!("order-confirmation:{order_id}");
        let mut mail = vec![Posting { key, recipient: order.email.clone(), message: confirmation }];
        mail.extend(self.low_stock_alerts(&order, &lines));
        post(tx.conn(), &mail).await?;
        if OrderStatus::from(order.status) == OrderStatus::Placed {
            let authorization = order
                .payment_reference
                .as_deref()
                .ok_or_else(|| anyhow::anyhow!("the placed order {order_id} has no payment authorisation"))?;
            self.payments
                .capture(authorization)
                .await
                .map_err(|failure| anyhow::anyhow!("capturing the payment of order {order_id}: {failure}"))?;
            mark_paid(tx.conn(), order_id).await?;
            tx.touch(Touch::Order(order_id));
        }
        tx.commit(()).await?.into_unobserved();
        Ok(())
    }

    /// A notice for each ordered variant whose stock, `left` after the order, is at the alert level or
    /// below.
    fn low_stock_alerts(&self, order: &order::Model, lines: &[(order_line::Model, i32)]) -> Vec<Posting> {
        let number = OrderNumber::new(order.number);
        let low = lines.iter().filter(|(_, left)| *left <= self.alerts.level);
        low.map(|(line, left)| {
            let message = Message {
                subject: format!("Low stock: {}", line.sku),
                body: format!("{} has {left} left after order {number}.\r\n", line.sku),
            };
            let key = format!("low-stock:{}:{}", line.variant_id, order.id);
            Posting { key, recipient: self.alerts.recipient.clone(), message }
        })
        .collect()
    }
}

/// The lines of order `id`, each with what is left of its variant now.
async fn lines_with_stock(
    txn: &DatabaseTransaction,
    id: Uuid,
) -> Result<Vec<(order_line::Model, i32)>, crate::Error> {
    let lines = "SELECT l.*, v.stock_on_hand FROM order_lines l JOIN variants v ON v.id = l.variant_id \
        WHERE l.order_id = $1 ORDER BY l.position";
    let rows =
        txn.query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, lines, [id.into()])).await?;
    rows.iter()
        .map(|row| Ok((order_line::Model::from_query_result(row, "")?, row.try_get("", "stock_on_hand")?)))
        .collect()
}

/// Marks the placed order `id` paid, enters the capture of its authorisation, and announces it, in
/// one statement.
async fn mark_paid(txn: &DatabaseTransaction, id: Uuid) -> Result<(), crate::Error> {
    const PAID: &str = concat!(
        "WITH paid AS (UPDATE orders SET status = 'paid', updated_at = now() WHERE id = $1 AND status = 'placed' ",
        "RETURNING id, number, status::text AS status, total_minor, payment_reference), ",
        "captured AS (INSERT INTO payments (order_id, kind, amount_minor, reference) ",
        "SELECT id, 'capture'::payment_kind, total_minor, payment_reference FROM paid) ",
        announce_orders_of!("paid")
    );
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, PAID, [id.into()])).await?;
    Ok(())
}

/// The order-status link of `order`: it shows the order to whoever holds it.
fn order_page(storefront: &Storefront, order: &order::Model) -> String {
    storefront.page(&format!("order/{}?key={}", OrderNumber::new(order.number), order.access_token))
}

fn confirmation(
    order: &order::Model,
    lines: &[&order_line::Model],
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
