//! The orders' command side after checkout: status changes on the write path. Cancelling returns the
//! stock, exactly once, in the transaction that moves the status, and touches each restocked variant;
//! once that has committed, the payment's authorisation is voided.

use std::sync::Arc;

use domain::order::{InvalidTransition, OrderNumber, OrderStatus};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait,
    IntoActiveModel, QueryFilter, QuerySelect, Statement,
};

use super::queries::{Viewer, lines_of};
use super::read_models::OrderView;
use crate::db::DbRouter;
use crate::entities::{order, order_line};
use crate::outbox::announce_order;
use crate::payments::PaymentProvider;
use crate::write_path::{Committed, Touch, WriteTx};

/// The moved order, or why it could not move; `None` when there is no such order.
pub type Transitioned = Result<Committed<Option<Result<OrderView, InvalidTransition>>>, crate::Error>;

pub struct OrderCommands {
    db: Arc<DbRouter>,
    payments: Arc<dyn PaymentProvider>,
}

impl OrderCommands {
    pub fn new(db: Arc<DbRouter>, payments: Arc<dyn PaymentProvider>) -> Self {
        Self { db, payments }
    }

    /// Moves order `number` to `to`, if `by` may see it, returning the stock of a cancelled order and
    /// announcing the change in the outbox.
    pub async fn transition(&self, number: OrderNumber, to: OrderStatus, by: &Viewer) -> Transitioned {
        let mut tx = WriteTx::begin(&self.db).await?;
        let locked = order::Entity::find()
            .filter(order::Column::Number.eq(number.get()))
            .lock_exclusive()
            .one(tx.conn())
            .await?;
        let Some(current) = locked.filter(|order| by.sees(order)) else {
            return Ok(Committed::nothing(None));
        };
        if let Err(invalid) = OrderStatus::from(current.status).check_transition(to) {
            return Ok(Committed::nothing(Some(Err(invalid))));
        }
        let mut moved = current.into_active_model();
        moved.status = Set(to.into());
        moved.updated_at = Set(chrono::Utc::now().fixed_offset());
        let moved = moved.update(tx.conn()).await?;
        let (moved, lines) = lines_of(tx.conn(), vec![moved]).await?.remove(0);
        let cancelled = to == OrderStatus::Cancelled;
        if cancelled {
            restock(&mut tx, &lines).await?;
        }
        tx.touch(Touch::Order(moved.id));
        announce_order(tx.conn(), moved.id, number, to).await?;
        let authorization = moved.payment_authorization.clone();
        let committed = tx.commit(Some(Ok(OrderView::of(moved, lines)?))).await?;
        if let Some(authorization) = authorization.filter(|_| cancelled) {
            self.payments.void(&authorization).await;
        }
        Ok(committed)
    }
}

/// Puts the quantities of `lines` back in stock, in variant-id order as checkout takes them.
pub(super) async fn restock(tx: &mut WriteTx<'_>, lines: &[order_line::Model]) -> Result<(), crate::Error> {
    let mut lines: Vec<_> = lines.iter().map(|line| (line.variant_id, line.quantity)).collect();
    lines.sort();
    let put_back = "UPDATE variants SET stock_on_hand = stock_on_hand + $2, updated_at = now() WHERE id = $1 \
        RETURNING product_id, stock_on_hand";
    for (variant, quantity) in lines {
        let statement =
            Statement::from_sql_and_values(DbBackend::Postgres, put_back, [variant.into(), quantity.into()]);
        let row = tx.conn().query_one_raw(statement).await?;
        let row = row.ok_or_else(|| anyhow::anyhow!("an ordered variant {variant} no longer exists"))?;
        let (product, stock): (uuid::Uuid, i32) =
            (row.try_get("", "product_id")?, row.try_get("", "stock_on_hand")?);
        tx.touch(Touch::Stock { variant, product, crossed_zero: stock == quantity });
    }
    Ok(())
}
