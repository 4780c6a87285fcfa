//! The orders' query side: a customer's history and one order by number, read with the caller's
//! consistency (never cached), so that the order page right after a checkout shows the order.

use std::sync::Arc;

use domain::order::{OrderAccessToken, OrderNumber};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::read_models::OrderView;
use crate::db::{Consistency, DbRouter};
use crate::entities::{order, order_line};

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

pub struct OrderQueries {
    db: Arc<DbRouter>,
}

impl OrderQueries {
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
    ) -> Result<Vec<OrderView>, crate::Error> {
        let rows = self
            .db
            .read_at(at, |db| async move {
                let mut query = order::Entity::find()
                    .filter(order::Column::CustomerId.eq(customer))
                    .filter(order::Column::Status.ne(order::Status::PaymentFailed));
                if let Some(after) = after {
                    query = query.filter(order::Column::Number.lt(after.get()));
                }
                let orders = query.order_by_desc(order::Column::Number).limit(first).all(&db).await?;
                lines_of(&db, orders).await
            })
            .await?;
        rows.into_iter().map(|(order, lines)| OrderView::of(order, lines)).collect()
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
                lines_of(&db, order.into_iter().collect()).await
            })
            .await?;
        let visible = found.into_iter().next().filter(|(order, _)| viewer.sees(order));
        visible.map(|(order, lines)| OrderView::of(order, lines)).transpose()
    }
}

/// `orders` with their lines, in one more statement.
pub(super) async fn lines_of<C: ConnectionTrait>(
    db: &C,
    orders: Vec<order::Model>,
) -> Result<Vec<(order::Model, Vec<order_line::Model>)>, sea_orm::DbErr> {
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
            (order, mine)
        })
        .collect())
}
