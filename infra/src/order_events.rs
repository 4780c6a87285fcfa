//! What the worker does when orders are placed, for all the orders of the events it read together,
//! in one transaction on the primary: each one's confirmation message into the mail sink (with the
//! order-status link) with a notice for each ordered variant whose stock ran low, then the payments
//! captured and the orders marked paid. Handling the same event again has the effect of once: each
//! message has a key of what it is about, and only a placed order is captured and marked paid.

use std::collections::HashMap;
use std::sync::Arc;

use domain::currency::CurrencyCode;
use domain::money::Money;
use domain::order::{OrderNumber, OrderStatus};
use sea_orm::sea_query::{Expr, ExprTrait, extension::postgres::PgFunc};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect, Statement,
};
use uuid::Uuid;

use crate::db::DbRouter;
use crate::entities::{order, order_line};
use crate::mail::{Message, Posting, Storefront, post};
use crate::outbox::{announce_orders_of, uuid_field};
use crate::payments::PaymentProvider;
use crate::worker::{Outcome, outcome_of};
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

    /// Handles the `order.placed` events with `payloads`, read together: an outcome for each, in
    /// order. Their orders are handled in one transaction; should it fail, one by one, so that an
    /// order that makes it fail fails alone. Errs only when a store is unavailable.
    pub async fn orders_placed(&self, payloads: &[&serde_json::Value]) -> Result<Vec<Outcome>, crate::Error> {
        let ids: Vec<Result<Uuid, String>> = payloads
            .iter()
            .map(|payload| uuid_field(payload, "orderId", "an order id").map_err(|err| err.to_string()))
            .collect();
        let mut unique: Vec<Uuid> = ids.iter().flatten().copied().collect();
        unique.sort_unstable();
        unique.dedup();
        let decided = match outcome_of(self.placed_together(&unique).await)? {
            Ok(decided) => decided,
            Err(error) if unique.len() == 1 => HashMap::from([(unique[0], Err(error))]),
            Err(error) => {
                tracing::warn!(%error, orders = unique.len(), "orders handled together failed; one by one now");
                self.placed_one_by_one(&unique).await?
            }
        };
        Ok(ids.into_iter().map(|id| id.and_then(|id| decided[&id].clone())).collect())
    }

    async fn placed_one_by_one(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Outcome>, crate::Error> {
        let mut decided = HashMap::with_capacity(ids.len());
        for &id in ids {
            let outcome = match outcome_of(self.placed_together(&[id]).await)? {
                Ok(mut one) => one.remove(&id).unwrap_or(Ok(())),
                Err(error) => Err(error),
            };
            decided.insert(id, outcome);
        }
        Ok(decided)
    }

    /// Handles the placing of orders `ids` in one transaction: each order's payment captured (an
    /// order whose capture fails is left as it was, and fails alone), the confirmations and notices
    /// posted, and the captured orders marked paid. The outcome of each order.
    async fn placed_together(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Outcome>, crate::Error> {
        let mut decided: HashMap<Uuid, Outcome> = ids.iter().map(|&id| (id, Ok(()))).collect();
        if ids.is_empty() {
            return Ok(decided);
        }
        let mut tx = WriteTx::begin(&self.db).await?;
        // Locked in id order, as every worker locks them, so that two workers' batches never deadlock.
        let orders = order::Entity::find()
            .filter(Expr::col(order::Column::Id).eq(PgFunc::any(Expr::val(ids.to_vec()))))
            .order_by_asc(order::Column::Id)
            .lock_exclusive()
            .all(tx.conn())
            .await?;
        for missing in ids.iter().filter(|&&id| orders.iter().all(|order| order.id != id)) {
            tracing::warn!(order_id = %missing, "an event names an order that does not exist");
        }
        let mut lines = lines_with_stock(tx.conn(), ids).await?;
        let captures = futures::future::join_all(orders.iter().map(|order| self.capture(order))).await;
        let (mut mail, mut paid) = (Vec::new(), Vec::new());
        for (order, captured) in orders.iter().zip(captures) {
            match captured {
                Ok(true) => paid.push(order.id),
                Ok(false) => {}
                Err(error) => {
                    decided.insert(order.id, Err(error));
                    continue;
                }
            }
            mail.extend(self.mail_for(order, &lines.remove(&order.id).unwrap_or_default())?);
        }
        post(tx.conn(), &mail).await?;
        mark_paid(tx.conn(), &paid).await?;
        for &id in &paid {
            tx.touch(Touch::Order(id));
        }
        tx.commit(()).await?.into_unobserved();
        Ok(decided)
    }

    /// Captures the payment of `order` if it is placed: whether it was.
    async fn capture(&self, order: &order::Model) -> Result<bool, String> {
        if OrderStatus::from(order.status) != OrderStatus::Placed {
            return Ok(false);
        }
        let id = order.id;
        let authorization = order
            .payment_reference
            .as_deref()
            .ok_or_else(|| format!("the placed order {id} has no payment authorisation"))?;
        self.payments
            .capture(authorization)
            .await
            .map_err(|failure| format!("capturing the payment of order {id}: {failure}"))?;
        Ok(true)
    }

    /// The confirmation of `order`, with a notice for each of its `lines` whose stock ran low.
    fn mail_for(
        &self,
        order: &order::Model,
        lines: &[(order_line::Model, i32)],
    ) -> Result<Vec<Posting>, crate::Error> {
        let ordered: Vec<&order_line::Model> = lines.iter().map(|(line, _)| line).collect();
        let confirmation = confirmation(order, &ordered, &order_page(&self.storefront, order))?;
        let key = format!("order-confirmation:{}", order.id);
        let mut mail = vec![Posting { key, recipient: order.email.clone(), message: confirmation }];
        mail.extend(self.low_stock_alerts(order, lines));
        Ok(mail)
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

/// The lines of orders `ids`, by order, each with what is left of its variant now.
async fn lines_with_stock(
    txn: &DatabaseTransaction,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<(order_line::Model, i32)>>, crate::Error> {
    let lines = "SELECT l.*, v.stock_on_hand FROM order_lines l JOIN variants v ON v.id = l.variant_id \
        WHERE l.order_id = ANY($1) ORDER BY l.order_id, l.position";
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, lines, [ids.to_vec().into()]);
    let mut by_order: HashMap<Uuid, Vec<_>> = HashMap::new();
    for row in txn.query_all_raw(statement).await? {
        let line = order_line::Model::from_query_result(&row, "")?;
        by_order.entry(line.order_id).or_default().push((line, row.try_get("", "stock_on_hand")?));
    }
    Ok(by_order)
}

/// Marks the placed orders `ids` paid, enters the capture of each one's authorisation, and announces
/// them, in one statement.
async fn mark_paid(txn: &DatabaseTransaction, ids: &[Uuid]) -> Result<(), crate::Error> {
    const PAID: &str = concat!(
        "WITH paid AS (UPDATE orders SET status = 'paid', updated_at = now() WHERE id = ANY($1) AND status = 'placed' ",
        "RETURNING id, number, status::text AS status, total_minor, payment_reference), ",
        "captured AS (INSERT INTO payments (order_id, kind, amount_minor, reference) ",
        "SELECT id, 'capture'::payment_kind, total_minor, payment_reference FROM paid) ",
        announce_orders_of!("paid")
    );
    if ids.is_empty() {
        return Ok(());
    }
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, PAID, [ids.to_vec().into()])).await?;
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
