use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, Result};
use domain::account::Email;
use domain::order::OrderNumber;
use domain::paging::PageRequest;
use infra::orders::Viewer;

use super::types::Order;
use crate::graphql::context::{queries, reads, session};
use crate::graphql::errors::{ErrorCode, OrGraphql, bad_user_input, error};
use crate::graphql::limits::page_cost;

pub type OrderConnection = Connection<String, Order, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// The signed-in customer's orders, newest first. Right after a checkout, the new order is there.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<OrderConnection> {
        let Some(customer) = session(ctx)?.and_then(|s| s.customer()) else {
            return Err(error(ErrorCode::Unauthenticated, "sign in to see your orders"));
        };
        let page =
            PageRequest::parse(first, after, None, None).map_err(|e| bad_user_input(&e.to_string()))?;
        let after = page
            .cursor
            .as_deref()
            .map(OrderNumber::parse)
            .transpose()
            .map_err(|e| bad_user_input(&e.to_string()))?;
        let size = u64::from(page.size);
        let at = reads(ctx).consistency();
        let mut orders =
            queries(ctx).orders.for_customer(customer, size + 1, after, &at).await.or_graphql()?;
        let has_next_page = orders.len() as u64 > size;
        orders.truncate(page.size as usize);
        let mut connection = OrderConnection::new(after.is_some(), has_next_page);
        connection.edges.extend(orders.into_iter().map(|o| Edge::new(o.number.to_string(), Order(o))));
        Ok(connection)
    }

    /// An order by its number: the signed-in customer's own, or anyone's given the email it was
    /// placed with (how a guest finds theirs). Null when there is none the caller may see.
    async fn order(&self, ctx: &Context<'_>, number: String, email: Option<String>) -> Result<Option<Order>> {
        let Ok(number) = OrderNumber::parse(&number) else { return Ok(None) };
        let session = session(ctx)?;
        let viewer = match (email, session) {
            (Some(email), _) => match Email::parse(&email) {
                Ok(email) => Viewer::Email(email.to_string()),
                Err(_) => return Ok(None),
            },
            (None, Some(session)) if session.is_admin() => Viewer::Staff,
            (None, Some(session)) => match session.customer() {
                Some(customer) => Viewer::Customer(customer),
                None => return Ok(None),
            },
            (None, None) => return Ok(None),
        };
        let at = reads(ctx).consistency();
        Ok(queries(ctx).orders.by_number(number, &viewer, &at).await.or_graphql()?.map(Order))
    }
}
