//! The orders' query side: a customer's history, staff's list of every order, and one order by
//! number, read with the caller's consistency (never cached), so that the order page right after a
//! checkout shows the order.

use std::sync::Arc;

use domain::order::{OrderAccessToken, OrderNumber, OrderStatus};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::read_models::OrderView;
use crate::db::{Consistency, DbRouter};
use crate::entities::{order, order_line, payment};

/// Who may see an order: its customer, whoever holds its access token (a guest's order-status link),
/// anyone who knows its email (the api budgets such look-ups), or staff. A checkout whose payment
/// failed placed no order: only staff see the attempt.
#[derive(Debug, Clone)]
pub enum Viewer {
    Customer(Uuid),
    Token(OrderAccessToken),
    Email(String),
    Staff,
}

impl Viewer {
    /// Whether `order` is shown to this viewer.
    pub(crate) fn sees(&self, order: &order::Model) -> bool {
        let placed = order.status != order::Status::PaymentFailed;
        match self {
            Self::Customer(id) => placed && order.customer_id == Some(*id),
            Self::Token(token) => placed && token.matches(&order.access_token),
            Self::Email(email) => placed && order.email == *email,
            Self::Staff => true,
        }
    }
}

/// Whose orders a list holds: a customer's placed orders, or, for staff, every order and every
/// failed attempt.
#[derive(Debug, Clone, Copy)]
pub enum Listing {
    Customer(Uuid),
    Staff,
}

pub struct OrderQueries {
    db: Arc<DbRouter>,
}

impl OrderQueries {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    /// Up to `first` of the orders `viewer` may list (a customer's own, or every one for staff), in
    /// `status` when given, newest first, after the order numbered `after`.
    pub async fn list(
        &self,
        viewer: &Listing,
        status: Option<OrderStatus>,
        first: u64,
        after: Option<OrderNumber>,
        at: &Consistency,
    ) -> Result<Vec<OrderView>, crate::Error> {
        let rows = self
            .db
            .read_at(at, |db| async move {
                let mut query = order::Entity::find();
                if let Listing::Customer(customer) = viewer {
                    query = query
                        .filter(order::Column::CustomerId.eq(*customer))
                        .filter(order::Column::Status.ne(order::Status::PaymentFailed));
                }
                if let Some(status) = status {
                    query = query.filter(order::Column::Status.eq(order::Status::from(status)));
                }
                if let Some(after) = after {
                    query = query.filter(order::Column::Number.lt(after.get()));
                }
                let orders = query.order_by_desc(order::Column::Number).limit(first).all(&db).await?;
                rows_of(&db, orders).await
            })
            .await?;
        rows.into_iter().map(OrderView::of).collect()
    }

    /// The order numbered `number`, if `viewer` may see it.
    pub async fn by_number(
        &self,
        number: OrderNumber,
        viewer: &Viewer,
        at: &Consistency,
    ) -> Result<Option<OrderView>, crate::Error> {
        let found = self
            .db
            .read_at(at, |db| async move {
                let order =
                    order::Entity::find().filter(order::Column::Number.eq(number.get())).one(&db).await?;
                rows_of(&db, order.into_iter().collect()).await
            })
            .await?;
        let visible = found.into_iter().next().filter(|rows| viewer.sees(&rows.order));
        visible.map(OrderView::of).transpose()
    }
}

/// An order's rows: the order, its lines in checkout order, and its payments in the order they
/// happened.
pub(super) struct OrderRows {
    pub order: order::Model,
    pub lines: Vec<order_line::Model>,
    pub payments: Vec<payment::Model>,
}

/// `orders` with their lines and payments, in two more statements.
pub(super) async fn rows_of<C: ConnectionTrait>(
    db: &C,
    orders: Vec<order::Model>,
) -> Result<Vec<OrderRows>, sea_orm::DbErr> {
    let ids: Vec<Uuid> = orders.iter().map(|o| o.id).collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut lines = order_line::Entity::find()
        .filter(order_line::Column::OrderId.is_in(ids.clone()))
        .order_by_asc(order_line::Column::Position)
        .all(db)
        .await?;
    let mut payments = payment::Entity::find()
        .filter(payment::Column::OrderId.is_in(ids))
        .order_by_asc(payment::Column::Id)
        .all(db)
        .await?;
    Ok(orders
        .into_iter()
        .map(|order| {
            let (mine, rest) = lines.drain(..).partition(|line| line.order_id == order.id);
            lines = rest;
            let (paid, rest) = payments.drain(..).partition(|payment| payment.order_id == order.id);
            payments = rest;
            OrderRows { order, lines: mine, payments: paid }
        })
        .collect())
}

/// The rows of the one order `order`.
pub(super) async fn rows_of_one<C: ConnectionTrait>(
    db: &C,
    order: order::Model,
) -> Result<OrderRows, sea_orm::DbErr> {
    Ok(rows_of(db, vec![order]).await?.remove(0))
}
