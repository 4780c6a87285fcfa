//! A checkout's payment, after the order waits for it (`pending_payment`), outside any transaction
//! and each call under a timeout: the payment is opened at the provider with a key derived from the
//! order (nothing is held yet), its reference recorded on the order, and then it is authorised. The
//! answer is recorded in a short transaction of its own: authorised, the order is placed and
//! announced to the worker; declined or unavailable, it is `payment_failed` and its stock goes back.
//!
//! While the provider is asked, the order's `payment_due_by` says until when the asker is deciding:
//! once it passes, the asker is taken for dead (a crash, a lost answer) and the `PaymentReconciler`
//! asks the provider where the recorded payment stands. No authorisation is asked for before its
//! reference is recorded, so none is ever held unknown to the shop.

use std::time::Duration;

use domain::cart::CartOwner;
use domain::order::{OrderNumber, OrderStatus};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel,
    QuerySelect, Statement, Value,
};
use uuid::Uuid;

use super::commands::restock;
use super::ledger;
use super::queries::rows_of_one;
use super::read_models::OrderView;
use crate::carts::CartStore;
use crate::db::DbRouter;
use crate::entities::{order, payment};
use crate::outbox::announce_order;
use crate::payments::{
    Authorization, CustomerAction, PaymentFailure, PaymentProvider, PaymentRequest, PaymentStatus,
};
use crate::write_path::{Committed, Touch, WriteTx};

/// An order after its payment was decided, or as it is while it waits.
pub(super) struct Settled {
    pub order: OrderView,
    /// Why its payment failed, when it did.
    pub failure: Option<PaymentFailure>,
    /// The cart it was ordered from, when this settlement is the one that placed it.
    pub placed_from: Option<CartOwner>,
    /// What its buyer must do before its payment is decided, when the provider waits for them.
    pub awaiting: Option<CustomerAction>,
}

impl Settled {
    pub fn waiting(order: OrderView) -> Self {
        Self { order, failure: None, placed_from: None, awaiting: None }
    }

    /// Takes the ordered lines out of the cart, once the settlement that placed the order committed;
    /// whatever was added meanwhile stays.
    pub async fn take_ordered(&self, carts: &CartStore) {
        let Some(owner) = &self.placed_from else { return };
        let lines: Vec<(Uuid, u32)> =
            self.order.lines.iter().map(|line| (line.variant_id, line.quantity.unsigned_abs())).collect();
        if let Err(err) = carts.take(owner, &lines).await {
            tracing::warn!(order = %self.order.number, error = %err, "the ordered lines stay in the cart");
        }
    }
}

/// What a checkout learnt of its payment.
pub(super) enum Answer {
    /// Authorised, with the payment's reference, or why not.
    Decided(Result<String, PaymentFailure>),
    /// The shopper must authenticate the payment first; it holds nothing until they have.
    AwaitingCustomer(CustomerAction),
    /// No answer in time after the authorisation was asked for: it may hold money.
    Unknown,
}

/// The key the provider dedupes the payment of order `id` on.
pub(super) fn payment_key(id: Uuid) -> String {
    format!("order-{}", id.simple())
}

/// How long the asker of the provider has to record its answer: time to open the payment, to
/// authorise it, and as long again to record both, so that a live asker is never overtaken by a
/// reconciler.
pub(super) fn decision_time(timeout: Duration) -> Duration {
    timeout * 3
}

/// Opens the payment of order `id`, records its reference on the order, and has it authorised.
pub(super) async fn pay(
    db: &DbRouter,
    provider: &dyn PaymentProvider,
    id: Uuid,
    request: &PaymentRequest,
    timeout: Duration,
) -> Result<Answer, crate::Error> {
    let reference = match tokio::time::timeout(timeout, provider.open(request)).await {
        Ok(Ok(reference)) => reference,
        Ok(Err(failure)) => return Ok(Answer::Decided(Err(failure))),
        // An open payment holds nothing, whether or not it was opened.
        Err(_) => return Ok(Answer::Decided(Err(PaymentFailure::Unavailable))),
    };
    let record = "UPDATE orders SET payment_reference = $2 WHERE id = $1 AND status = 'pending_payment'";
    update_pending(db, id, record, reference.clone().into()).await?;
    Ok(match tokio::time::timeout(timeout, provider.authorize(&reference, request)).await {
        Ok(Ok(Authorization::Held)) => Answer::Decided(Ok(reference)),
        Ok(Ok(Authorization::AwaitingCustomer(action))) => Answer::AwaitingCustomer(action),
        Ok(Err(failure)) => Answer::Decided(Err(failure)),
        Err(_) => Answer::Unknown,
    })
}

/// Gives the buyer of order `id` until `window` from now to authenticate its payment: the reconciler
/// leaves it alone until then.
pub(super) async fn await_customer(db: &DbRouter, id: Uuid, window: Duration) -> Result<(), crate::Error> {
    let extend = "UPDATE orders SET payment_due_by = now() + make_interval(secs => $2) \
        WHERE id = $1 AND status = 'pending_payment'";
    update_pending(db, id, extend, window.as_secs_f64().into()).await
}

/// Where the payment `reference` stands, as the provider says within `timeout`; none when it
/// cannot tell now.
pub(super) async fn status_within(
    provider: &dyn PaymentProvider,
    reference: &str,
    timeout: Duration,
) -> Option<PaymentStatus> {
    tokio::time::timeout(timeout, provider.status(reference)).await.ok()?.ok()
}

/// Runs `update` ($1 the id, $2 `value`) on order `id`, which must still wait for its payment: a
/// payment is never authorised unless the order knows its reference.
async fn update_pending(db: &DbRouter, id: Uuid, update: &str, value: Value) -> Result<(), crate::Error> {
    let tx = WriteTx::begin(db).await?;
    let values = [id.into(), value];
    let recorded =
        tx.conn().execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, update, values)).await?;
    if recorded.rows_affected() != 1 {
        return Err(anyhow::anyhow!("order {id} no longer waits for its payment").into());
    }
    tx.commit(()).await?.into_unobserved();
    Ok(())
}

/// Records `answer` for order `id` if its payment is still pending; otherwise the order as it is.
pub(super) async fn settle(
    db: &DbRouter,
    id: Uuid,
    answer: Result<String, PaymentFailure>,
) -> Result<Committed<Settled>, crate::Error> {
    let mut tx = WriteTx::begin(db).await?;
    let found = order::Entity::find_by_id(id).lock_exclusive().one(tx.conn()).await?;
    let current = found.ok_or_else(|| anyhow::anyhow!("the pending order {id} is gone"))?;
    if current.status != order::Status::PendingPayment {
        let failure = current.payment_failure.as_deref().and_then(PaymentFailure::parse);
        let order = OrderView::of(rows_of_one(tx.conn(), current).await?)?;
        return Ok(Committed::nothing(Settled { failure, ..Settled::waiting(order) }));
    }
    let (number, total) = (OrderNumber::new(current.number), current.total_minor);
    let placed_from = answer.is_ok().then(|| CartOwner::parse(&current.checkout_owner)).flatten();
    let mut settled = current.into_active_model();
    settled.payment_due_by = Set(None);
    settled.updated_at = Set(chrono::Utc::now().fixed_offset());
    let status = match &answer {
        Ok(authorization) => {
            settled.payment_reference = Set(Some(authorization.clone()));
            ledger::record(tx.conn(), id, payment::Kind::Authorization, total, authorization).await?;
            OrderStatus::Placed
        }
        Err(failure) => {
            settled.payment_failure = Set(Some(failure.as_str().to_owned()));
            OrderStatus::PaymentFailed
        }
    };
    settled.status = Set(status.into());
    let settled = rows_of_one(tx.conn(), settled.update(tx.conn()).await?).await?;
    if status == OrderStatus::PaymentFailed {
        restock(&mut tx, &settled.lines).await?;
    }
    announce_order(tx.conn(), id, number, status).await?;
    tx.touch(Touch::Order(id));
    let order = OrderView::of(settled)?;
    tx.commit(Settled { failure: answer.err(), placed_from, ..Settled::waiting(order) }).await
}
