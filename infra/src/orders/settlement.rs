//! A checkout's payment, after the order waits for it (`pending_payment`), outside any transaction
//! and each call under a timeout: the payment is opened at the provider with a key derived from the
//! order (nothing is held yet), its reference recorded on the order, and then it is authorised. The
//! answer is recorded on its own: authorised, the order is placed, its authorisation entered and the
//! worker told in one statement; declined or unavailable, it is `payment_failed` and its stock goes
//! back, in a short transaction.
//!
//! While the provider is asked, the order's `payment_due_by` says until when the asker is deciding:
//! once it passes, the asker is taken for dead (a crash, a lost answer) and the `PaymentReconciler`
//! asks the provider where the recorded payment stands. No authorisation is asked for before its
//! reference is recorded, so none is ever held unknown to the shop. A payment the shopper must
//! authenticate first moves that time on by the payment action window; the provider's webhook
//! usually settles it before then.

use std::time::Duration;

use domain::cart::CartOwner;
use domain::order::{OrderNumber, OrderStatus};
use sea_orm::{
    ColumnTrait, DatabaseTransaction, DbBackend, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    Statement, Value,
};
use uuid::Uuid;

use super::commands::restock;
use super::queries::{OrderRows, rows_of_one};
use super::read_models::OrderView;
use crate::carts::CartStore;
use crate::db::DbRouter;
use crate::discounts::give_back;
use crate::entities::{order, order_line, payment};
use crate::outbox::{announce_order, announce_orders_of};
use crate::payments::{
    Authorization, CustomerAction, PaymentFailure, PaymentProvider, PaymentRequest, PaymentStatus,
};
use crate::write_path::{Committed, Touch, WriteTx, write_returning, write_untouched};

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
    async fn take_ordered(&self, carts: &CartStore) {
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
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, update, [id.into(), value]);
    if write_untouched(db, statement).await? != 1 {
        return Err(anyhow::anyhow!("order {id} no longer waits for its payment").into());
    }
    Ok(())
}

/// Records `answer` for order `id` if its payment is still pending, and then takes the lines of an
/// order it placed out of its cart; otherwise the order as it is.
pub(super) async fn settle(
    db: &DbRouter,
    carts: &CartStore,
    id: Uuid,
    answer: Result<String, PaymentFailure>,
) -> Result<Committed<Settled>, crate::Error> {
    match answer {
        Ok(reference) => place(db, carts, id, reference).await,
        Err(failure) => fail(db, id, failure).await,
    }
}

/// An order's columns as `order::Model` reads them.
macro_rules! order_columns {
    () => {
        "id, number, customer_id, email, status::text AS status, currency, subtotal_minor, total_minor, \
        shipping_address, payment_reference, checkout_owner, idempotency_key, cart_fingerprint, access_token, \
        payment_due_by, payment_failure, shipping_method_id, shipping_method, shipping_minor, \
        shipping_vat_basis_points, shipping_vat_minor, vat_minor, discount_code_id, discount_code, \
        discount_minor, created_at, updated_at"
    };
}

/// Places order `id` with its authorisation `$2` if it still waits for its payment: the order, its
/// authorisation entry and its event in one statement, so in one round trip and one commit. A row
/// per line: the order's columns, the entry's (`a_`) and the line's (`l_`).
const PLACE: &str = concat!(
    "WITH decided AS (UPDATE orders SET status = 'placed', payment_due_by = NULL, updated_at = now(), ",
    "payment_reference = $2 WHERE id = $1 AND status = 'pending_payment' RETURNING ",
    order_columns!(),
    "), authorised AS (INSERT INTO payments (order_id, kind, amount_minor, reference) ",
    "SELECT id, 'authorization'::payment_kind, total_minor, $2 FROM decided RETURNING *), announced AS (",
    announce_orders_of!("decided"),
    ") SELECT d.*, a.id AS a_id, a.order_id AS a_order_id, a.kind::text AS a_kind, a.amount_minor AS a_amount_minor, ",
    "a.reference AS a_reference, a.pending_until AS a_pending_until, a.created_at AS a_created_at, ",
    "l.order_id AS l_order_id, l.position AS l_position, l.variant_id AS l_variant_id, l.sku AS l_sku, ",
    "l.product_name AS l_product_name, l.size AS l_size, l.colour AS l_colour, ",
    "l.unit_price_minor AS l_unit_price_minor, l.quantity AS l_quantity, l.vat_basis_points AS l_vat_basis_points, ",
    "l.vat_minor AS l_vat_minor, l.discount_minor AS l_discount_minor ",
    "FROM decided d, authorised a, order_lines l WHERE l.order_id = d.id ORDER BY l.position"
);

/// Places order `id`, authorised as `reference`, and takes its lines out of its cart; the order as it
/// is when it no longer waits for its payment.
async fn place(
    db: &DbRouter,
    carts: &CartStore,
    id: Uuid,
    reference: String,
) -> Result<Committed<Settled>, crate::Error> {
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, PLACE, [id.into(), reference.into()]);
    let (rows, committed) = write_returning(db, statement, Touch::Order(id)).await?.split();
    let Some(first) = rows.first() else {
        let tx = WriteTx::begin(db).await?;
        return Ok(Committed::nothing(as_decided(tx.conn(), id).await?));
    };
    let order = order::Model::from_query_result(first, "")?;
    // A pending order has no payment entries: its authorisation is the first.
    let payments = vec![payment::Model::from_query_result(first, "a_")?];
    let lines =
        rows.iter().map(|row| order_line::Model::from_query_result(row, "l_")).collect::<Result<_, _>>()?;
    let placed_from = CartOwner::parse(&order.checkout_owner);
    let order = OrderView::of(OrderRows { order, lines, payments })?;
    let settled = Settled { placed_from, ..Settled::waiting(order) };
    settled.take_ordered(carts).await;
    Ok(committed.map(|()| settled))
}

/// Records that the payment of order `id` failed, if it still waits for it, and gives its stock and
/// its discount code's use back; otherwise the order as it is.
async fn fail(db: &DbRouter, id: Uuid, failure: PaymentFailure) -> Result<Committed<Settled>, crate::Error> {
    let mut tx = WriteTx::begin(db).await?;
    let Some(decided) = decide_failed(tx.conn(), id, failure).await? else {
        return Ok(Committed::nothing(as_decided(tx.conn(), id).await?));
    };
    let lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.eq(id))
        .order_by_asc(order_line::Column::Position)
        .all(tx.conn())
        .await?;
    restock(&mut tx, &lines).await?;
    if let Some(code) = decided.discount_code_id {
        give_back(tx.conn(), code).await?;
    }
    announce_order(tx.conn(), id, OrderNumber::new(decided.number), OrderStatus::PaymentFailed).await?;
    tx.touch(Touch::Order(id));
    let order = OrderView::of(OrderRows { order: decided, lines, payments: Vec::new() })?;
    tx.commit(Settled { failure: Some(failure), ..Settled::waiting(order) }).await
}

/// Moves order `id` from waiting for its payment to failed with `failure`, in one statement; none
/// when it no longer waits.
async fn decide_failed(
    txn: &DatabaseTransaction,
    id: Uuid,
    failure: PaymentFailure,
) -> Result<Option<order::Model>, crate::Error> {
    const DECIDE: &str = concat!(
        "UPDATE orders SET status = 'payment_failed', payment_due_by = NULL, updated_at = now(), ",
        "payment_failure = $2 WHERE id = $1 AND status = 'pending_payment' RETURNING ",
        order_columns!()
    );
    let values = [id.into(), failure.as_str().into()];
    let statement = Statement::from_sql_and_values(DbBackend::Postgres, DECIDE, values);
    Ok(order::Entity::find().from_raw_sql(statement).one(txn).await?)
}

/// Order `id` as whoever decided its payment left it.
async fn as_decided(txn: &DatabaseTransaction, id: Uuid) -> Result<Settled, crate::Error> {
    let found = order::Entity::find_by_id(id).one(txn).await?;
    let current = found.ok_or_else(|| anyhow::anyhow!("the pending order {id} is gone"))?;
    let failure = current.payment_failure.as_deref().and_then(PaymentFailure::parse);
    let order = OrderView::of(rows_of_one(txn, current).await?)?;
    Ok(Settled { failure, ..Settled::waiting(order) })
}
