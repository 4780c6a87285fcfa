//! The outbox: events written in the transaction of the change they announce, so that a change is
//! never made without its event (the worker relays them to the Redis stream).

use domain::order::{OrderNumber, OrderStatus};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, Statement};
use serde_json::json;
use uuid::Uuid;

/// Writes the event `order.<status>` about an order in the transaction that moves it there.
pub(crate) async fn announce_order(
    txn: &DatabaseTransaction,
    id: Uuid,
    number: OrderNumber,
    status: OrderStatus,
) -> Result<(), crate::Error> {
    let payload = json!({ "orderId": id, "number": number.get(), "status": status.as_str() });
    let insert = "INSERT INTO outbox (event_type, payload) VALUES ($1, $2)";
    let values = [format!("order.{status}").into(), payload.into()];
    txn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, insert, values)).await?;
    Ok(())
}
