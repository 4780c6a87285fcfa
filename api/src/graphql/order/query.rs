use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Object, Result};
use domain::account::Email;
use domain::order::{OrderAccessToken, OrderNumber};
use domain::paging::PageRequest;
use infra::orders::{Listing, Viewer};

use super::types::{Order, OrderStatusValue};
use crate::graphql::budget::charge_address_and_subject;
use crate::graphql::context::{queries, reads, services, session};
use crate::graphql::errors::{ErrorCode, OrGraphql, bad_user_input, error};
use crate::graphql::limits::page_cost;

pub type OrderConnection = Connection<String, Order, EmptyFields, EmptyFields>;

#[derive(Default)]
pub struct OrderQuery;

#[Object]
impl OrderQuery {
    /// The signed-in customer's orders, newest first; to staff, every order, and the attempts whose
    /// payment failed. Only those in `status` when given. Right after a checkout, the new order is
    /// there.
    #[graphql(complexity = "page_cost(first, child_complexity)")]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<OrderStatusValue>,
    ) -> Result<OrderConnection> {
        let listing = match session(ctx)? {
            Some(session) if session.is_admin() => Listing::Staff,
            session => match session.and_then(|s| s.customer()) {
                Some(customer) => Listing::Customer(customer),
                None => return Err(error(ErrorCode::Unauthenticated, "sign in to see your orders")),
            },
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
        let status = status.map(Into::into);
        let mut orders =
            queries(ctx).orders.list(&listing, status, size + 1, after, &at).await.or_graphql()?;
        let has_next_page = orders.len() as u64 > size;
        orders.truncate(page.size as usize);
        let mut connection = OrderConnection::new(after.is_some(), has_next_page);
        connection.edges.extend(orders.into_iter().map(|o| Edge::new(o.number.to_string(), Order(o))));
        Ok(connection)
    }

    /// An order by its number, to whoever holds its access token (the link of the confirmation mail
    /// and of `checkout`'s answer), to its signed-in customer, or to staff. Given the email it was
    /// placed with instead, it is shown too, but such look-ups are on a strict budget per client
    /// address and per email (`RATE_LIMITED`): knowing an email must not open its orders to someone
    /// walking the numbers. Null when there is none the caller may see.
    async fn order(
        &self,
        ctx: &Context<'_>,
        number: String,
        email: Option<String>,
        access_token: Option<String>,
    ) -> Result<Option<Order>> {
        let Ok(number) = OrderNumber::parse(&number) else { return Ok(None) };
        let viewer = match (access_token, email) {
            (Some(token), _) => match OrderAccessToken::parse(&token) {
                Some(token) => Viewer::Token(token),
                None => return Ok(None),
            },
            (None, Some(email)) => {
                charge_email_lookup(ctx, &email).await?;
                match Email::parse(&email) {
                    Ok(email) => Viewer::Email(email.to_string()),
                    Err(_) => return Ok(None),
                }
            }
            (None, None) => match session(ctx)? {
                Some(session) if session.is_admin() => Viewer::Staff,
                Some(session) => match session.customer() {
                    Some(customer) => Viewer::Customer(customer),
                    None => return Ok(None),
                },
                None => return Ok(None),
            },
        };
        let at = reads(ctx).consistency();
        Ok(queries(ctx).orders.by_number(number, &viewer, &at).await.or_graphql()?.map(Order))
    }
}

/// Charges a look-up by email to the caller's address and to the email, so that neither many emails
/// from one address nor one email from many addresses can be walked through the order numbers.
async fn charge_email_lookup(ctx: &Context<'_>, email: &str) -> Result<()> {
    let rate = services(ctx).rates.order_lookup;
    charge_address_and_subject(ctx, "order-lookup", &email.trim().to_lowercase(), rate).await
}
