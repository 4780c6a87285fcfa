//! The outbox: events written in the transaction of the change they announce, so that a change is
//! never made without its event (the worker relays them to the Redis stream). A row stays until its
//! event is handled, or for good once the event is dead.

use domain::order::{OrderNumber, OrderStatus};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};

use crate::db::{Consistency, DbRouter};
use uuid::Uuid;

/// The statement that writes the event `order.<status>` about each order of `$orders`, a relation
/// with the columns `id`, `number` and `status` (text): the one shape of an order's event, for a
/// statement that moves orders and announces them at once.
macro_rules! announce_orders_of {
    ($orders:literal) => {
        concat!(
            "INSERT INTO outbox (event_type, payload) SELECT 'order.' || status, ",
            "jsonb_build_object('orderId', id, 'number', number, 'status', status) FROM ",
            $orders
        )
    };
}
pub(crate) use announce_orders_of;

/// Writes the event `order.<status>` about an order in the transaction that moves it there.
pub(crate) async fn announce_order(
    txn: &DatabaseTransaction,
    id: Uuid,
    number: OrderNumber,
    status: OrderStatus,
) -> Result<(), crate::Error> {
    const ANNOUNCE: &str =
        announce_orders_of!("(VALUES ($1::uuid, $2::bigint, $3::text)) AS o (id, number, status)");
    let values = [id.into(), number.get().into(), status.as_str().into()];
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, ANNOUNCE, values)).await?;
    Ok(())
}

/// The statement that writes an event into the outbox.
pub(crate) fn event(event_type: &str, payload: serde_json::Value) -> Statement {
    let insert = "INSERT INTO outbox (event_type, payload) VALUES ($1, $2)";
    Statement::from_sql_and_values(DbBackend::Postgres, insert, [event_type.into(), payload.into()])
}

/// The id in `field` of an event's payload, which names `what` it is in the error without one.
pub(crate) fn uuid_field(payload: &serde_json::Value, field: &str, what: &str) -> Result<Uuid, crate::Error> {
    payload[field]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or_else(|| anyhow::anyhow!("an event without {what}").into())
}

/// The events not handled yet: those still to be handled, and those given up on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backlog {
    pub pending: i64,
    pub dead: i64,
}

/// The outbox's backlog, on the primary: the table only holds what is not handled, so it is small.
pub async fn backlog(db: &DbRouter) -> Result<Backlog, crate::Error> {
    let count = "SELECT count(*) FILTER (WHERE dead_at IS NULL) AS pending, \
        count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead FROM outbox";
    let row = db
        .read_at(&Consistency::Primary, |db| async move {
            db.query_one_raw(Statement::from_string(DbBackend::Postgres, count)).await
        })
        .await?
        .ok_or_else(|| anyhow::anyhow!("a count answers one row"))?;
    Ok(Backlog { pending: row.try_get("", "pending")?, dead: row.try_get("", "dead")? })
}
