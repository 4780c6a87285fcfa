use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use domain::account::Email;
use domain::cart::CartOwner;
use domain::currency::CurrencyCode;
use domain::money::Money;
use domain::order::{IdempotencyKey, OrderAccessToken, OrderNumber, OrderStatus};
use domain::session::Session;
use infra::orders::{CheckoutOrder, CheckoutRejection, CheckoutRequest, RefundRejection, Shipping, Viewer};
use infra::payments::PaymentFailure;

use super::types::{Order, OrderStatusValue};
use crate::graphql::cart::discount_refused;
use crate::graphql::committed;
use crate::graphql::context::{commands, services, session};
use crate::graphql::customer::AddressInput;
use crate::graphql::errors::OrGraphql;
use crate::graphql::global_id::{NodeKind, global_id, uuid_of};
use crate::graphql::guards::AdminOnly;
use crate::graphql::user_error::{UserError, UserErrorCode};

/// Give exactly one of `shippingAddress` and `shippingAddressId` (a signed-in customer's saved
/// address), and the `shippingMethodId` of one of the cart's `availableShippingMethods` for its
/// country. Guests give their `email`. Send the same `idempotencyKey` when retrying a checkout.
#[derive(InputObject)]
pub struct CheckoutInput {
    email: Option<String>,
    shipping_address: Option<AddressInput>,
    shipping_address_id: Option<ID>,
    /// `UNAVAILABLE_SHIPPING_METHOD` when it does not ship to the address's country; the cheapest
    /// that does when not given.
    shipping_method_id: Option<ID>,
    /// The test provider's tokens: `tok_visa` succeeds, `tok_declined` is declined,
    /// `tok_unavailable` fails as if the provider were down.
    payment_token: String,
    idempotency_key: String,
    /// The total the shopper was shown (lines and shipping), in minor units of the shop's currency:
    /// the order is placed only if the cart still costs that (`PRICE_CHANGED`, with the total now, when it does not).
    expected_total: Option<i64>,
}

#[derive(SimpleObject)]
pub struct CheckoutPayload {
    order: Option<Order>,
    /// The order's access token: with the order number (`order(number, accessToken)`) it shows the
    /// order to whoever holds it, like the link in the confirmation mail. Keep it with the buyer.
    access_token: Option<String>,
    /// Set when the shopper must authenticate the payment (3-D Secure) before it is decided; the
    /// order waits `PENDING_PAYMENT` meanwhile, for `MYCLOTHES_PAYMENT_ACTION_WINDOW`. A retry with
    /// the same key gets it again while the payment waits for the shopper.
    payment_action: Option<PaymentAction>,
    user_errors: Vec<UserError>,
}

/// What the storefront does to have its shopper authenticate a payment.
#[derive(SimpleObject)]
pub struct PaymentAction {
    /// With Stripe, the PaymentIntent's client secret: give it to Stripe.js `handleNextAction`. The
    /// order is placed (or its payment failed) once Stripe tells the shop of the outcome. For this
    /// shopper only: never store or log it.
    client_secret: String,
}

impl CheckoutPayload {
    fn refused(user_errors: Vec<UserError>) -> Self {
        Self { order: None, access_token: None, payment_action: None, user_errors }
    }
}

#[derive(SimpleObject)]
pub struct OrderPayload {
    order: Option<Order>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct OrderMutation;

#[Object]
impl OrderMutation {
    /// Turns the caller's cart into an order: reserves the stock, has the payment authorised, and
    /// takes the ordered lines out of the cart. A declined payment places no order: the stock and the
    /// cart are as they were, and the same `idempotencyKey` may be tried again with another card.
    /// When the payment provider does not answer in time, the order comes back `PENDING_PAYMENT`
    /// (its stock reserved) and is placed or failed once the provider answers.
    async fn checkout(&self, ctx: &Context<'_>, input: CheckoutInput) -> Result<CheckoutPayload> {
        let request = match checkout_request(session(ctx)?, &input) {
            Ok(request) => request,
            Err(user_errors) => return Ok(CheckoutPayload::refused(user_errors)),
        };
        let currency = services(ctx).shop.currency().await.or_graphql()?;
        match committed(ctx, commands(ctx).checkout.place(request, currency)).await? {
            Ok(CheckoutOrder { order, payment_action }) => {
                let status = OrderStatusValue::from(order.status);
                crate::metrics::record_checkout(
                    async_graphql::resolver_utils::enum_value(status).to_string(),
                );
                Ok(CheckoutPayload {
                    access_token: Some(order.access_token.as_str().to_owned()),
                    order: Some(Order(order)),
                    payment_action: payment_action
                        .map(|action| PaymentAction { client_secret: action.client_secret }),
                    user_errors: vec![],
                })
            }
            Err(rejection) => {
                let user_errors = refused(rejection, currency);
                crate::metrics::record_checkout(
                    async_graphql::resolver_utils::enum_value(user_errors[0].code).to_string(),
                );
                Ok(CheckoutPayload::refused(user_errors))
            }
        }
    }

    /// Moves an order along its status machine; cancelling returns its stock.
    #[graphql(guard = "AdminOnly")]
    async fn set_order_status(
        &self,
        ctx: &Context<'_>,
        number: String,
        status: OrderStatusValue,
    ) -> Result<OrderPayload> {
        let Ok(number) = OrderNumber::parse(&number) else { return Ok(unknown_order()) };
        move_order(ctx, number, status.into(), &Viewer::Staff, "status").await
    }

    /// Cancels an order before it ships: its stock goes back and its payment is released. The
    /// signed-in customer cancels their own orders; anyone else needs the order's access token.
    /// `UNKNOWN_ORDER` when there is no such order the caller may cancel; `INVALID_TRANSITION` once
    /// it has shipped or was cancelled already.
    async fn cancel_order(
        &self,
        ctx: &Context<'_>,
        number: String,
        access_token: Option<String>,
    ) -> Result<OrderPayload> {
        let viewer = match access_token {
            Some(token) => OrderAccessToken::parse(&token).map(Viewer::Token),
            None => session(ctx)?.and_then(Session::customer).map(Viewer::Customer),
        };
        let (Ok(number), Some(viewer)) = (OrderNumber::parse(&number), viewer) else {
            return Ok(unknown_order());
        };
        move_order(ctx, number, OrderStatus::Cancelled, &viewer, "number").await
    }

    /// Gives back `amount` (in minor units of the order's currency) of what was captured for order
    /// `number`, or all of it that is left when `amount` is not given. Never more than was captured,
    /// less what was refunded before (`AMOUNT_NOT_REFUNDABLE`, with what may be); a refund the
    /// provider refuses is `PAYMENT_DECLINED` or `PAYMENT_UNAVAILABLE`. The order's `payments` show
    /// it: pending until the provider has confirmed it.
    #[graphql(guard = "AdminOnly")]
    async fn refund_order(
        &self,
        ctx: &Context<'_>,
        number: String,
        amount: Option<i64>,
    ) -> Result<OrderPayload> {
        let Ok(number) = OrderNumber::parse(&number) else { return Ok(unknown_order()) };
        if amount.is_some_and(|amount| amount <= 0) {
            let refused =
                UserError::new(Some("amount"), UserErrorCode::InvalidValue, "must be more than zero");
            return Ok(OrderPayload { order: None, user_errors: vec![refused] });
        }
        let refund = match committed(ctx, commands(ctx).orders.refund(number, amount)).await? {
            None => return Ok(unknown_order()),
            Some(refund) => refund,
        };
        let refused = |code, message: String| OrderPayload {
            order: None,
            user_errors: vec![UserError::new(Some("amount"), code, message)],
        };
        Ok(match refund {
            Ok(order) => OrderPayload { order: Some(Order(order)), user_errors: vec![] },
            Err(RefundRejection::TooMuch { refundable, currency }) => {
                let left = Money::new(refundable, currency).decimal_string();
                refused(
                    UserErrorCode::AmountNotRefundable,
                    format!("at most {left} {currency} may be refunded"),
                )
            }
            Err(RefundRejection::Payment(PaymentFailure::Declined)) => {
                refused(UserErrorCode::PaymentDeclined, "the payment provider refused the refund".to_owned())
            }
            Err(RefundRejection::Payment(PaymentFailure::Unavailable)) => refused(
                UserErrorCode::PaymentUnavailable,
                "the payment provider is unavailable; nothing was refunded, try again".to_owned(),
            ),
        })
    }
}

/// Moves order `number` to `to` for `viewer`; `field` is the argument a refused move is about.
async fn move_order(
    ctx: &Context<'_>,
    number: OrderNumber,
    to: OrderStatus,
    viewer: &Viewer,
    field: &str,
) -> Result<OrderPayload> {
    match committed(ctx, commands(ctx).orders.transition(number, to, viewer)).await? {
        None => Ok(unknown_order()),
        Some(Ok(order)) => Ok(OrderPayload { order: Some(Order(order)), user_errors: vec![] }),
        Some(Err(invalid)) => Ok(OrderPayload {
            order: None,
            user_errors: vec![UserError::new(
                Some(field),
                UserErrorCode::InvalidTransition,
                invalid.to_string(),
            )],
        }),
    }
}

fn unknown_order() -> OrderPayload {
    OrderPayload {
        order: None,
        user_errors: vec![UserError::new(
            Some("number"),
            UserErrorCode::UnknownOrder,
            "no order has this number",
        )],
    }
}

/// The checked request, or a user error for each bad field.
fn checkout_request(
    session: Option<&Session>,
    input: &CheckoutInput,
) -> Result<CheckoutRequest, Vec<UserError>> {
    let Some(session) = session else {
        return Err(vec![empty_cart()]);
    };
    let mut problems = Vec::new();
    let email = match input.email.as_deref().map(Email::parse).transpose() {
        Ok(email) => email,
        Err(invalid) => {
            problems.push(UserError::new(
                Some("input.email"),
                UserErrorCode::InvalidValue,
                invalid.to_string(),
            ));
            None
        }
    };
    let shipping = match (&input.shipping_address, &input.shipping_address_id) {
        (Some(address), None) => address
            .parse("input.shippingAddress")
            .map(Shipping::To)
            .map_err(|mut errors| problems.append(&mut errors))
            .ok(),
        (None, Some(id)) => match uuid_of(id, NodeKind::Address) {
            Ok(id) => Some(Shipping::Saved(id)),
            Err(_) => {
                problems.push(UserError::new(
                    Some("input.shippingAddressId"),
                    UserErrorCode::UnknownAddress,
                    "not an address ID",
                ));
                None
            }
        },
        _ => {
            let message = "give exactly one of shippingAddress and shippingAddressId";
            problems.push(UserError::new(
                Some("input.shippingAddress"),
                UserErrorCode::InvalidValue,
                message,
            ));
            None
        }
    };
    let shipping_method =
        match input.shipping_method_id.as_ref().map(|id| uuid_of(id, NodeKind::ShippingMethod)) {
            Some(Ok(id)) => Some(id),
            Some(Err(_)) => {
                problems.push(unavailable_shipping_method());
                None
            }
            None => None,
        };
    let idempotency_key = IdempotencyKey::parse(&input.idempotency_key)
        .map_err(|e| {
            problems.push(UserError::new(
                Some("input.idempotencyKey"),
                UserErrorCode::InvalidValue,
                e.to_string(),
            ))
        })
        .ok();
    match (shipping, idempotency_key) {
        (Some(shipping), Some(idempotency_key)) if problems.is_empty() => Ok(CheckoutRequest {
            owner: CartOwner::of(session),
            email,
            shipping,
            shipping_method,
            payment_token: input.payment_token.clone(),
            idempotency_key,
            expected_total: input.expected_total,
        }),
        _ => Err(problems),
    }
}

fn unavailable_shipping_method() -> UserError {
    UserError::new(
        Some("input.shippingMethodId"),
        UserErrorCode::UnavailableShippingMethod,
        "this shipping method does not ship to the address; choose one of availableShippingMethods",
    )
}

fn empty_cart() -> UserError {
    UserError::new(None, UserErrorCode::EmptyCart, "the cart is empty")
}

fn refused(rejection: CheckoutRejection, currency: CurrencyCode) -> Vec<UserError> {
    let one = |field: Option<&str>, code, message: &str| vec![UserError::new(field, code, message)];
    match rejection {
        CheckoutRejection::EmptyCart => vec![empty_cart()],
        CheckoutRejection::IdempotencyConflict => one(
            Some("input.idempotencyKey"),
            UserErrorCode::IdempotencyConflict,
            "this key already placed an order for another cart; use a new key",
        ),
        CheckoutRejection::EmailRequired => {
            one(Some("input.email"), UserErrorCode::InvalidValue, "guests give an email for their order")
        }
        CheckoutRejection::UnknownAddress => one(
            Some("input.shippingAddressId"),
            UserErrorCode::UnknownAddress,
            "you have no address with this id",
        ),
        CheckoutRejection::UnavailableShippingMethod => vec![unavailable_shipping_method()],
        CheckoutRejection::Discount(refusal) => vec![discount_refused(None, refusal)],
        CheckoutRejection::Unavailable(variants) => variants
            .into_iter()
            .map(|variant| {
                UserError::new(
                    None,
                    UserErrorCode::UnknownVariant,
                    "a variant in the cart is no longer for sale",
                )
                .for_variant(global_id(NodeKind::Variant, variant))
            })
            .collect(),
        CheckoutRejection::OutOfStock(shortages) => shortages
            .into_iter()
            .map(|short| {
                let message = match short.available {
                    0 => format!("{} is out of stock", short.sku),
                    left => format!("only {left} of {} left", short.sku),
                };
                UserError::new(None, UserErrorCode::OutOfStock, message)
                    .for_variant(global_id(NodeKind::Variant, short.variant_id))
            })
            .collect(),
        CheckoutRejection::PriceChanged(total) => {
            let total = Money::new(total, currency).decimal_string();
            let message = format!("the cart now costs {total} {currency}; nothing was charged");
            one(Some("input.expectedTotal"), UserErrorCode::PriceChanged, &message)
        }
        CheckoutRejection::Payment(PaymentFailure::Declined) => one(
            Some("input.paymentToken"),
            UserErrorCode::PaymentDeclined,
            "the payment was declined; nothing was charged",
        ),
        CheckoutRejection::Payment(PaymentFailure::Unavailable) => one(
            Some("input.paymentToken"),
            UserErrorCode::PaymentUnavailable,
            "the payment provider is unavailable; nothing was charged, try again",
        ),
    }
}
