//! The orders' command side after checkout, on the write path: status changes and refunds.
//!
//! Cancelling returns the stock, exactly once, in the transaction that moves the status, and touches
//! each restocked variant. Its money goes back too: an authorisation not yet captured is voided once
//! that has committed; captured money is refunded, the refund recorded pending in that transaction
//! and the provider asked once it has committed (`ledger`).
//!
//! Staff refund part or all of what was captured; refunds at once never return more than that.

use std::sync::Arc;
use std::time::Duration;

use domain::currency::CurrencyCode;
use domain::order::{InvalidTransition, OrderNumber, OrderStatus};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend,
    EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Statement,
};

use super::ledger::{self, PendingRefund, close_refund, open_refund, refundable};
use super::queries::{OrderRows, Viewer, rows_of, rows_of_one};
use super::read_models::OrderView;
use crate::db::DbRouter;
use crate::entities::{order, order_line, payment};
use crate::outbox::announce_order;
use crate::payments::{PaymentFailure, PaymentProvider};
use crate::write_path::{Committed, Touch, WriteTx};

/// The moved order, or why it could not move; `None` when there is no such order.
pub type Transitioned = Result<Committed<Option<Result<OrderView, InvalidTransition>>>, crate::Error>;

/// The order after the refund, or why there was none; `None` when there is no such order.
pub type Refunded = Result<Committed<Option<Result<OrderView, RefundRejection>>>, crate::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundRejection {
    /// More than may still be refunded: what was captured, less what was refunded. This is that much,
    /// in the order's currency.
    TooMuch {
        refundable: i64,
        currency: CurrencyCode,
    },
    Payment(PaymentFailure),
}

pub struct OrderCommands {
    db: Arc<DbRouter>,
    payments: Arc<dyn PaymentProvider>,
    /// How long the provider may take to answer.
    payment_timeout: Duration,
}

impl OrderCommands {
    pub fn new(db: Arc<DbRouter>, payments: Arc<dyn PaymentProvider>, payment_timeout: Duration) -> Self {
        Self { db, payments, payment_timeout }
    }

    /// Moves order `number` to `to`, if `by` may see it, returning the stock and the money of a
    /// cancelled order and announcing the change in the outbox.
    pub async fn transition(&self, number: OrderNumber, to: OrderStatus, by: &Viewer) -> Transitioned {
        let mut tx = WriteTx::begin(&self.db).await?;
        let Some(current) = locked(tx.conn(), number).await?.filter(|order| by.sees(order)) else {
            return Ok(Committed::nothing(None));
        };
        if let Err(invalid) = OrderStatus::from(current.status).check_transition(to) {
            return Ok(Committed::nothing(Some(Err(invalid))));
        }
        let mut moved = current.into_active_model();
        moved.status = Set(to.into());
        moved.updated_at = Set(chrono::Utc::now().fixed_offset());
        let mut moved = rows_of_one(tx.conn(), moved.update(tx.conn()).await?).await?;
        let id = moved.order.id;
        let money_back = match to {
            OrderStatus::Cancelled => {
                restock(&mut tx, &moved.lines).await?;
                self.give_back(tx.conn(), &mut moved).await?
            }
            _ => MoneyBack::Nothing,
        };
        tx.touch(Touch::Order(id));
        announce_order(tx.conn(), id, number, to).await?;
        let moved = tx.commit(OrderView::of(moved)?).await?;
        let refunded = match money_back {
            MoneyBack::Nothing => return Ok(moved.map(|order| Some(Ok(order)))),
            MoneyBack::Void(authorization) => {
                self.payments.void(&authorization).await;
                return Ok(moved.map(|order| Some(Ok(order))));
            }
            // The cancellation stands whatever the provider says: a refund it could not make now
            // stays pending, and the reconciler asks again.
            MoneyBack::Refund(refund) => self.finish_refund(&refund, Unanswered::KeepPending).await?.1,
        };
        let (_, moved) = moved.split();
        let answer = moved.followed_by(refunded).followed_by(self.current(id).await?);
        Ok(answer.map(|order| Some(Ok(order))))
    }

    /// Refunds `amount_minor` of order `number` (all that is left when none), up to what was captured
    /// and not refunded yet.
    pub async fn refund(&self, number: OrderNumber, amount_minor: Option<i64>) -> Refunded {
        let mut tx = WriteTx::begin(&self.db).await?;
        let Some(current) = locked(tx.conn(), number).await? else { return Ok(Committed::nothing(None)) };
        let current = rows_of(tx.conn(), vec![current]).await?.remove(0);
        let left = refundable(&current.payments);
        let amount = amount_minor.unwrap_or(left);
        let Some(authorization) =
            current.order.payment_reference.as_deref().filter(|_| amount <= left && left > 0)
        else {
            let currency = CurrencyCode::parse(&current.order.currency).map_err(anyhow::Error::from)?;
            return Ok(Committed::nothing(Some(Err(RefundRejection::TooMuch {
                refundable: left,
                currency,
            }))));
        };
        let (refund, _) =
            open_refund(tx.conn(), current.order.id, authorization, amount, self.payment_timeout).await?;
        tx.touch(Touch::Order(refund.order));
        let opened = tx.commit(()).await?;
        let (failure, closed) = self.finish_refund(&refund, Unanswered::Remove).await?;
        let answer = opened.followed_by(closed).followed_by(self.current(refund.order).await?);
        Ok(answer
            .map(|order| Some(failure.map_or(Ok(order), |failure| Err(RefundRejection::Payment(failure))))))
    }

    /// What goes back to the shopper of the order of `rows`, cancelled in `txn`, recorded there and
    /// among its payments: the void of an authorisation not captured, or a refund, pending, of what
    /// was captured and not refunded.
    async fn give_back(
        &self,
        txn: &DatabaseTransaction,
        rows: &mut OrderRows,
    ) -> Result<MoneyBack, crate::Error> {
        let order = &rows.order;
        let Some(authorization) = order.payment_reference.clone() else { return Ok(MoneyBack::Nothing) };
        let captured = rows.payments.iter().any(|p| p.kind == payment::Kind::Capture);
        let left = refundable(&rows.payments);
        let (money_back, entry) = if !captured {
            let entry =
                ledger::record(txn, order.id, payment::Kind::Void, order.total_minor, &authorization).await?;
            (MoneyBack::Void(authorization), entry)
        } else if left > 0 {
            let (refund, entry) =
                open_refund(txn, order.id, &authorization, left, self.payment_timeout).await?;
            (MoneyBack::Refund(refund), entry)
        } else {
            return Ok(MoneyBack::Nothing);
        };
        rows.payments.push(entry);
        Ok(money_back)
    }

    /// Asks the provider for `refund` and records its answer. A refusal removes the refund, unless
    /// the provider was only unavailable and `unanswered` keeps it pending; no answer in time keeps it
    /// pending. Returns the refusal, if any.
    async fn finish_refund(
        &self,
        refund: &PendingRefund,
        unanswered: Unanswered,
    ) -> Result<(Option<PaymentFailure>, Committed<()>), crate::Error> {
        let answer = refund.ask(self.payments.as_ref(), self.payment_timeout).await;
        match (answer, unanswered) {
            (None, _) | (Some(Err(PaymentFailure::Unavailable)), Unanswered::KeepPending) => {
                tracing::warn!(order = %refund.order, "a refund waits for the reconciler");
                Ok((None, Committed::nothing(())))
            }
            (Some(answer), _) => {
                Ok((answer.as_ref().err().copied(), close_refund(&self.db, refund, &answer).await?))
            }
        }
    }

    /// Order `id` as it is now, read on the primary.
    async fn current(&self, id: uuid::Uuid) -> Result<Committed<OrderView>, crate::Error> {
        let tx = WriteTx::begin(&self.db).await?;
        let found = order::Entity::find_by_id(id).one(tx.conn()).await?;
        let found = found.ok_or_else(|| anyhow::anyhow!("order {id} is gone"))?;
        let view = OrderView::of(rows_of_one(tx.conn(), found).await?)?;
        tx.commit(view).await
    }
}

/// What a cancellation gives back, once it has committed.
enum MoneyBack {
    Nothing,
    Void(String),
    Refund(PendingRefund),
}

/// What a refund the provider could not make now becomes.
enum Unanswered {
    KeepPending,
    Remove,
}

/// Order `number`, locked until the transaction ends.
async fn locked(
    txn: &DatabaseTransaction,
    number: OrderNumber,
) -> Result<Option<order::Model>, crate::Error> {
    Ok(order::Entity::find().filter(order::Column::Number.eq(number.get())).lock_exclusive().one(txn).await?)
}

/// Puts the quantities of `lines` back in stock, in variant-id order as checkout takes them.
pub(super) async fn restock(tx: &mut WriteTx, lines: &[order_line::Model]) -> Result<(), crate::Error> {
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
