//! Orders after checkout: a customer's history and one order by number (read with the session's
//! consistency, so the order page right after checkout shows the order), and status changes on the
//! primary. Cancelling returns the stock, exactly once, in the transaction that moves the status.

use std::sync::Arc;

use domain::address::Address;
use domain::order::{InvalidTransition, OrderNumber, OrderStatus};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checkout::announce;
use crate::db::{Consistency, DbRouter};
use crate::entities::{address, order, order_line};

/// The address an order ships to, copied into it at checkout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShippingAddress {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
}

impl From<&Address> for ShippingAddress {
    fn from(a: &Address) -> Self {
        Self {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            phone: a.phone.clone(),
        }
    }
}

impl From<&address::Model> for ShippingAddress {
    fn from(a: &address::Model) -> Self {
        Self {
            name: a.name.clone(),
            line1: a.line1.clone(),
            line2: a.line2.clone(),
            city: a.city.clone(),
            postal_code: a.postal_code.clone(),
            country: a.country.clone(),
            phone: a.phone.clone(),
        }
    }
}

/// An order with its lines, in checkout order.
#[derive(Debug, Clone)]
pub struct PlacedOrder {
    pub order: order::Model,
    pub lines: Vec<order_line::Model>,
}

impl PlacedOrder {
    pub fn number(&self) -> OrderNumber {
        OrderNumber::new(self.order.number)
    }

    pub fn status(&self) -> OrderStatus {
        OrderStatus::parse(&self.order.status).expect("the database only holds known statuses")
    }

    pub fn shipping_address(&self) -> Result<ShippingAddress, crate::Error> {
        Ok(serde_json::from_value(self.order.shipping_address.clone()).map_err(anyhow::Error::from)?)
    }
}

/// Who may see an order: its customer, or anyone who knows its email (a guest's confirmation link).
#[derive(Debug, Clone)]
pub enum Viewer {
    Customer(Uuid),
    Email(String),
    Staff,
}

pub struct OrderRepository {
    db: Arc<DbRouter>,
}

impl OrderRepository {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    /// Up to `first` of the customer's orders, newest first, after the order numbered `after`.
    pub async fn for_customer(
        &self,
        customer: Uuid,
        first: u64,
        after: Option<OrderNumber>,
        at: &Consistency,
    ) -> Result<Vec<PlacedOrder>, crate::Error> {
        let orders = self
            .db
            .read_at(at, |db| async move {
                let mut query = order::Entity::find().filter(order::Column::CustomerId.eq(customer));
                if let Some(after) = after {
                    query = query.filter(order::Column::Number.lt(after.get()));
                }
                let orders = query.order_by_desc(order::Column::Number).limit(first).all(&db).await?;
                with_lines(&db, orders).await
            })
            .await?;
        Ok(orders)
    }

    /// The order numbered `number`, if `viewer` may see it.
    pub async fn by_number(
        &self,
        number: OrderNumber,
        viewer: &Viewer,
        at: &Consistency,
    ) -> Result<Option<PlacedOrder>, crate::Error> {
        let found = self
            .db
            .read_at(at, |db| async move {
                let order =
                    order::Entity::find().filter(order::Column::Number.eq(number.get())).one(&db).await?;
                with_lines(&db, order.into_iter().collect()).await
            })
            .await?;
        Ok(found.into_iter().next().filter(|placed| match viewer {
            Viewer::Customer(id) => placed.order.customer_id == Some(*id),
            Viewer::Email(email) => placed.order.email == *email,
            Viewer::Staff => true,
        }))
    }

    /// Moves order `number` to `to` on the primary, returning the stock of a cancelled order and
    /// announcing the change in the outbox. `None` when there is no such order.
    pub async fn transition(
        &self,
        number: OrderNumber,
        to: OrderStatus,
    ) -> Result<Option<Result<PlacedOrder, InvalidTransition>>, crate::Error> {
        let txn = self.db.write().begin().await?;
        let locked = order::Entity::find()
            .filter(order::Column::Number.eq(number.get()))
            .lock_exclusive()
            .one(&txn)
            .await?;
        let Some(current) = locked else { return Ok(None) };
        let from = OrderStatus::parse(&current.status).expect("the database only holds known statuses");
        if let Err(invalid) = from.check_transition(to) {
            return Ok(Some(Err(invalid)));
        }
        let update = "UPDATE orders SET status = $2, updated_at = now() WHERE id = $1";
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            update,
            [current.id.into(), to.as_str().into()],
        ))
        .await?;
        let moved = order::Model { status: to.as_str().to_owned(), ..current };
        let placed = with_lines(&txn, vec![moved]).await?.remove(0);
        if to == OrderStatus::Cancelled {
            restock(&txn, &placed.lines).await?;
        }
        announce(&txn, &format!("order.{to}"), &placed.order).await?;
        txn.commit().await?;
        Ok(Some(Ok(placed)))
    }
}

/// Puts the quantities of `lines` back in stock, in variant-id order as checkout takes them.
async fn restock(txn: &DatabaseTransaction, lines: &[order_line::Model]) -> Result<(), crate::Error> {
    let mut lines: Vec<_> = lines.iter().map(|line| (line.variant_id, line.quantity)).collect();
    lines.sort();
    let put_back = "UPDATE variants SET stock_on_hand = stock_on_hand + $2, updated_at = now() WHERE id = $1";
    for (variant, quantity) in lines {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            put_back,
            [variant.into(), quantity.into()],
        ))
        .await?;
    }
    Ok(())
}

/// `orders` with their lines, in one more statement.
pub(crate) async fn with_lines<C: ConnectionTrait>(
    db: &C,
    orders: Vec<order::Model>,
) -> Result<Vec<PlacedOrder>, DbErr> {
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    let mut lines = if ids.is_empty() {
        Vec::new()
    } else {
        order_line::Entity::find()
            .filter(order_line::Column::OrderId.is_in(ids))
            .order_by_asc(order_line::Column::Position)
            .all(db)
            .await?
    };
    Ok(orders
        .into_iter()
        .map(|order| {
            let (mine, rest) = lines.drain(..).partition(|line| line.order_id == order.id);
            lines = rest;
            PlacedOrder { order, lines: mine }
        })
        .collect())
}
