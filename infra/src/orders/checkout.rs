//! Checkout, the command that places orders, as a saga of two short transactions on the write path
//! with the payment between them:
//!
//! 1. The cart is re-priced from the primary and its stock reserved with conditional updates in
//!    variant-id order (so two checkouts never deadlock and stock never goes below zero); the order
//!    is recorded as `pending_payment`, with copies of its prices and address, and committed.
//! 2. Outside any transaction (`settlement`), so that no row stays locked and no connection is held
//!    while the provider thinks, the payment is opened at the provider (holding nothing), its
//!    reference recorded on the order, and it is authorised.
//! 3. Its answer is recorded: placed, or payment failed with the stock returned. The ordered lines
//!    of a placed order leave the cart; a failed payment leaves the cart as it was.
//!
//! A provider that gives no answer in time leaves the order pending, which the shopper is told; the
//! reconciler finishes it. A payment the shopper must authenticate (3-D Secure) leaves it pending
//! too, with what the storefront needs to have them do it, for the payment action window; the
//! provider's webhook, or the reconciler once the window has passed, finishes it. A retry of the
//! checkout meanwhile gets the order with the action again, as the provider tells it.
//!
//! The order ships with the method the shopper chose (or the cheapest that ships to the address),
//! takes off the discount code applied to the cart (its use claimed at the end of the first
//! transaction, its row locked until the commit, so its usage limits hold; given back if the payment
//! fails), and records the VAT of the destination in each line and in shipping (`domain::totals`).
//!
//! A shopper who says what total they were shown is never charged another: the order is refused with
//! the total as it is now.
//!
//! One order per idempotency key and cart owner, which a unique index keeps: a checkout with the key
//! of an order pending or placed (its insert waits for that order's first transaction, then fails)
//! gets that order instead of charging again. A failed payment frees its key for another try.

use std::sync::Arc;
use std::time::Duration;

use domain::account::Email;
use domain::address::Address;
use domain::cart::CartOwner;
use domain::currency::CurrencyCode;
use domain::discount::{Code, CodeRefusal, Discount, LineOf};
use domain::order::{IdempotencyKey, OrderAccessToken, OrderStatus, cart_fingerprint};
use domain::shipping::choose;
use domain::totals::{Line, LineTotal, Totals};
use domain::vat::VatRate;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr,
    EntityTrait, IntoActiveModel, QueryFilter, SqlErr, Statement,
};
use uuid::Uuid;

use super::queries::{OrderRows, rows_of_one};
use super::read_models::OrderView;
use super::settlement::{
    Answer, Settled, await_customer, decision_time, pay, payment_key, settle, status_within,
};
use crate::carts::CartStore;
use crate::customers::PostalAddress;
use crate::db::DbRouter;
use crate::discounts::{claim, quote};
use crate::entities::{address, customer, order, order_line};
use crate::payments::{CustomerAction, PaymentFailure, PaymentProvider, PaymentRequest, PaymentStatus};
use crate::shipping::destination;
use crate::write_path::{Committed, Touch, WriteTx};

pub struct CheckoutRequest {
    /// Whose cart is checked out: the customer's, or the guest session's.
    pub owner: CartOwner,
    /// For guests; a customer's orders go to their account's email.
    pub email: Option<Email>,
    pub shipping: Shipping,
    /// The shipping method chosen; the cheapest that ships to the address when none was.
    pub shipping_method: Option<Uuid>,
    pub payment_token: String,
    pub idempotency_key: IdempotencyKey,
    /// The total the shopper was shown, in minor units: the order is placed only at that total.
    pub expected_total: Option<i64>,
}

pub enum Shipping {
    To(Address),
    /// An address of the customer's address book.
    Saved(Uuid),
}

/// A line that cannot be ordered as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    pub variant_id: Uuid,
    pub sku: String,
    /// What is left; zero when the variant is out of stock.
    pub available: i32,
}

/// Why no order was placed; nothing was charged and neither stock nor cart changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckoutRejection {
    EmptyCart,
    /// This key already placed an order for another cart.
    IdempotencyConflict,
    /// Guests must give an email.
    EmailRequired,
    UnknownAddress,
    /// The shipping method chosen does not ship to the address (or none does).
    UnavailableShippingMethod,
    /// The cart's discount code may not be used now.
    Discount(CodeRefusal),
    /// Variants in the cart that are no longer for sale.
    Unavailable(Vec<Uuid>),
    OutOfStock(Vec<Shortage>),
    /// The cart's total is not the one the shopper was shown; this is the total now, in minor units.
    PriceChanged(i64),
    Payment(PaymentFailure),
}

/// A checkout's order, and what its buyer must do before its payment is decided.
pub struct CheckoutOrder {
    pub order: OrderView,
    /// Set when the provider waits for the shopper to authenticate the payment.
    pub payment_action: Option<CustomerAction>,
}

pub type CheckedOut = Result<Committed<Result<CheckoutOrder, CheckoutRejection>>, crate::Error>;

pub struct Checkout {
    db: Arc<DbRouter>,
    carts: Arc<CartStore>,
    payments: Arc<dyn PaymentProvider>,
    /// How long the provider may take to answer.
    payment_timeout: Duration,
    /// How long a shopper has to authenticate a payment.
    action_window: Duration,
}

/// A cart line as reserved on the primary, with its price and names at this moment.
struct Reserved {
    variant_id: Uuid,
    product_id: Uuid,
    brand_id: Uuid,
    category_id: Uuid,
    /// What is left after the reservation.
    left: i32,
    quantity: i32,
    sku: String,
    product_name: String,
    size: String,
    colour: String,
    price_minor: i64,
}

/// What the first transaction ends with: an order waiting for its payment, the order a retry's key
/// placed before (with its payment's reference while it waits for it), or a refusal.
enum Begun {
    Pending(Box<(OrderView, PaymentRequest)>),
    Retried(Box<(OrderView, Option<String>)>),
    Refused(CheckoutRejection),
}

/// How the first transaction's order came out.
enum Opening {
    Opened(Box<(OrderView, PaymentRequest)>),
    /// Refused before anything of the order was written: its transaction may look the key up.
    Refused(CheckoutRejection),
    /// The order's insert ran into the order that holds the key (none), or its discount code was
    /// refused after it: the transaction can only roll back.
    Undone(Option<CheckoutRejection>),
}

/// The unique index on the owner and idempotency key of the orders whose payment did not fail.
const KEY_INDEX: &str = "orders_checkout_key_idx";

/// How often a checkout tries again when the order that held its key failed its payment between
/// the insert that ran into it and the look-up that followed.
const KEY_ATTEMPTS: usize = 3;

impl Checkout {
    pub fn new(
        db: Arc<DbRouter>,
        carts: Arc<CartStore>,
        payments: Arc<dyn PaymentProvider>,
        payment_timeout: Duration,
        action_window: Duration,
    ) -> Self {
        Self { db, carts, payments, payment_timeout, action_window }
    }

    /// Places the order for `request` in `currency`, or returns the order its idempotency key placed.
    /// The order is pending when the provider's answer could not be had, or recorded, in time.
    pub async fn place(&self, request: CheckoutRequest, currency: CurrencyCode) -> CheckedOut {
        let cart = self.carts.get(&request.owner).await?;
        let mut lines: Vec<(Uuid, u32)> = cart.lines.iter().map(|l| (l.variant_id, l.quantity)).collect();
        lines.sort();
        let code = cart.discount_code.as_ref();
        let (begun, reserved) = self.begin(&request, &lines, code, currency).await?.split();
        let (pending, payment) = match begun {
            Begun::Pending(pending) => *pending,
            Begun::Retried(retried) => {
                let (order, waiting_on) = *retried;
                let payment_action = match waiting_on {
                    Some(reference) => self.action_awaited(&reference).await,
                    None => None,
                };
                return Ok(reserved.map(|()| Ok(CheckoutOrder { order, payment_action })));
            }
            Begun::Refused(rejection) => return Ok(reserved.map(|()| Err(rejection))),
        };
        let id = pending.id;
        let still_pending = |reason: &str| {
            tracing::warn!(order = %id, "{reason}; the order waits for the reconciler");
            Committed::nothing(Settled::waiting(pending.clone()))
        };
        let answer = pay(&self.db, self.payments.as_ref(), id, &payment, self.payment_timeout).await;
        let recorded = match answer {
            Ok(Answer::Decided(answer)) => match settle(&self.db, &self.carts, id, answer).await {
                Ok(recorded) => recorded,
                Err(err) => still_pending(&format!("the payment's outcome could not be recorded: {err}")),
            },
            Ok(Answer::AwaitingCustomer(action)) => {
                match await_customer(&self.db, id, self.action_window).await {
                    Ok(()) => Committed::nothing(Settled {
                        awaiting: Some(action),
                        ..Settled::waiting(pending.clone())
                    }),
                    Err(err) => still_pending(&format!(
                        "the shopper's time to authenticate could not be recorded: {err}"
                    )),
                }
            }
            Ok(Answer::Unknown) => still_pending("the payment provider gave no answer in time"),
            Err(err) => still_pending(&format!("the payment's reference could not be recorded: {err}")),
        };
        let (settled, recorded) = recorded.split();
        let answer = match settled.failure {
            Some(failure) => Err(CheckoutRejection::Payment(failure)),
            None => Ok(CheckoutOrder { order: settled.order, payment_action: settled.awaiting }),
        };
        Ok(reserved.followed_by(recorded).map(|()| answer))
    }

    /// What the shopper must do for the payment `reference` of a retried checkout's order, when the
    /// provider waits for them to authenticate it.
    async fn action_awaited(&self, reference: &str) -> Option<CustomerAction> {
        match status_within(self.payments.as_ref(), reference, self.payment_timeout).await? {
            PaymentStatus::AwaitingCustomer(action) => Some(action),
            _ => None,
        }
    }

    /// The first transaction: an order of the cart's `lines`, waiting for its payment, or the order
    /// the key placed before. The key is looked up only when no new order came of it: the cart is
    /// empty (a retry after the order took its lines), the checkout was refused (a retry while the
    /// order holds the last of the stock; looked up in the refused transaction, before it rolls
    /// back), or the order's insert ran into the order that holds the key (unique per owner; an
    /// insert waits for a checkout with the key still in its first transaction). A checkout that
    /// goes through spends no round trip on its key.
    async fn begin(
        &self,
        request: &CheckoutRequest,
        lines: &[(Uuid, u32)],
        discount_code: Option<&Code>,
        currency: CurrencyCode,
    ) -> Result<Committed<Begun>, crate::Error> {
        for _ in 0..KEY_ATTEMPTS {
            let mut tx = WriteTx::begin(&self.db).await?;
            let refusal = match self.open(&mut tx, request, lines, discount_code, currency).await? {
                Opening::Opened(pending) => return tx.commit(Begun::Pending(pending)).await,
                Opening::Refused(rejection) => Some(rejection),
                // Rolled back (first, so that no checkout holds two connections); the key is looked
                // up in a transaction that sees only committed orders.
                Opening::Undone(rejection) => {
                    drop(tx);
                    tx = WriteTx::begin(&self.db).await?;
                    rejection
                }
            };
            let owner = request.owner.to_string();
            if let Some(existing) = placed_with_key(tx.conn(), &owner, &request.idempotency_key).await? {
                // A retry after the order was placed finds the ordered lines gone from the cart.
                if !lines.is_empty() && existing.cart_fingerprint != cart_fingerprint(lines) {
                    return Ok(Committed::nothing(Begun::Refused(CheckoutRejection::IdempotencyConflict)));
                }
                let pending = existing.status == order::Status::PendingPayment;
                let waiting_on = existing.payment_reference.clone().filter(|_| pending);
                let existing = OrderView::of(rows_of_one(tx.conn(), existing).await?)?;
                return Ok(Committed::nothing(Begun::Retried(Box::new((existing, waiting_on)))));
            }
            if let Some(rejection) = refusal {
                return Ok(Committed::nothing(Begun::Refused(rejection)));
            }
            // The order that held the key failed its payment since, which frees the key: again.
        }
        let owner = &request.owner;
        Err(anyhow::anyhow!("the checkout key of {owner} changed hands {KEY_ATTEMPTS} times at once").into())
    }

    /// An order of the cart's `lines` waiting for its payment, written in `tx`; why not, or that
    /// another order of the owner holds the key. Nothing stays of an order not opened: its
    /// transaction rolls back as it is dropped.
    async fn open(
        &self,
        tx: &mut WriteTx,
        request: &CheckoutRequest,
        lines: &[(Uuid, u32)],
        discount_code: Option<&Code>,
        currency: CurrencyCode,
    ) -> Result<Opening, crate::Error> {
        let refused = |rejection| Ok(Opening::Refused(rejection));
        if lines.is_empty() {
            return refused(CheckoutRejection::EmptyCart);
        }
        let customer = request.owner.customer();
        let email = match (customer, &request.email) {
            (Some(customer), _) => account_email(tx.conn(), customer).await?,
            (None, Some(email)) => email.to_string(),
            (None, None) => return refused(CheckoutRejection::EmailRequired),
        };
        let shipping = match (&request.shipping, customer) {
            (Shipping::To(address), _) => PostalAddress::from(address),
            (Shipping::Saved(id), Some(customer)) => match saved_address(tx.conn(), customer, *id).await? {
                Some(address) => address,
                None => return refused(CheckoutRejection::UnknownAddress),
            },
            (Shipping::Saved(_), None) => return refused(CheckoutRejection::UnknownAddress),
        };
        let destination = destination(tx.conn(), &shipping.country).await?;
        if choose(&destination.methods, request.shipping_method, 0).is_none() {
            return refused(CheckoutRejection::UnavailableShippingMethod);
        }
        let reserved = match reserve(tx.conn(), lines).await? {
            Ok(reserved) => reserved,
            Err(rejection) => return refused(rejection),
        };
        for line in &reserved {
            let (variant, product, crossed_zero) = (line.variant_id, line.product_id, line.left == 0);
            tx.touch(Touch::Stock { variant, product, crossed_zero });
        }
        let for_discount = lines_for_discount(&reserved);
        let discount = match discount_code {
            Some(code) => match quote(tx.conn(), code, customer, &email, &for_discount).await? {
                Ok(quoted) => Some(quoted),
                Err(refusal) => return refused(CheckoutRejection::Discount(refusal)),
            },
            None => None,
        };
        let subtotal: i64 = for_discount.iter().map(|line| line.total_minor).sum();
        let method = choose(&destination.methods, request.shipping_method, subtotal)
            .expect("a method that ships there was found above");
        let shipping_minor = method.rate.price_for(subtotal);
        let totals = totals_of(&reserved, shipping_minor, discount.as_ref(), destination.vat_rate);
        if request.expected_total.is_some_and(|expected| expected != totals.total_minor) {
            return refused(CheckoutRejection::PriceChanged(totals.total_minor));
        }
        let id = Uuid::now_v7();
        let payment = PaymentRequest {
            key: payment_key(id),
            token: request.payment_token.clone(),
            amount_minor: totals.total_minor,
            currency: currency.as_str().to_owned(),
        };
        let due_by = chrono::Utc::now() + decision_time(self.payment_timeout);
        let order = order::ActiveModel {
            id: Set(id),
            customer_id: Set(customer),
            email: Set(email),
            status: Set(OrderStatus::PendingPayment.into()),
            currency: Set(payment.currency.clone()),
            subtotal_minor: Set(totals.subtotal_minor),
            total_minor: Set(totals.total_minor),
            shipping_method_id: Set(Some(method.id)),
            shipping_method: Set(Some(method.name.clone())),
            shipping_minor: Set(totals.shipping_minor),
            shipping_vat_basis_points: Set(totals.vat_rate.basis_points()),
            shipping_vat_minor: Set(totals.shipping_vat_minor),
            vat_minor: Set(totals.vat_minor),
            discount_code_id: Set(discount.as_ref().map(|(d, _)| d.id)),
            discount_code: Set(discount.as_ref().map(|(d, _)| d.code.as_str().to_owned())),
            discount_minor: Set(totals.discount_minor),
            shipping_address: Set(serde_json::to_value(&shipping).map_err(anyhow::Error::from)?),
            payment_due_by: Set(Some(due_by.fixed_offset())),
            checkout_owner: Set(request.owner.to_string()),
            idempotency_key: Set(request.idempotency_key.as_str().to_owned()),
            cart_fingerprint: Set(cart_fingerprint(lines)),
            access_token: Set(OrderAccessToken::from_random(rand::random()).as_str().to_owned()),
            ..Default::default()
        };
        let order = match order.insert(tx.conn()).await {
            Ok(order) => order,
            Err(err) if holds_key(&err) => return Ok(Opening::Undone(None)),
            Err(err) => return Err(err.into()),
        };
        let lines = record_lines(tx.conn(), id, reserved, &totals).await?;
        if let Some((discount, _)) = &discount
            && let Err(refusal) = claim(tx.conn(), discount, customer, &order.email, &for_discount).await?
        {
            return Ok(Opening::Undone(Some(CheckoutRejection::Discount(refusal))));
        }
        tx.touch(Touch::Order(id));
        let pending = OrderView::of(OrderRows { order, lines, payments: Vec::new() })?;
        Ok(Opening::Opened(Box::new((pending, payment))))
    }
}

/// The totals of the reserved lines shipped for `shipping_minor` to where VAT is `vat_rate`, less
/// the discount redeemed (its rules, and what it takes off).
fn totals_of(
    reserved: &[Reserved],
    shipping_minor: i64,
    discount: Option<&(Discount, i64)>,
    vat_rate: VatRate,
) -> Totals {
    let lines: Vec<Line> = reserved
        .iter()
        .map(|line| Line {
            unit_minor: line.price_minor,
            quantity: line.quantity,
            discounted: discount.is_some_and(|(d, _)| d.scope.covers(line.brand_id, line.category_id)),
        })
        .collect();
    Totals::of(&lines, shipping_minor, discount.map_or(0, |(_, amount)| *amount), vat_rate)
}

/// The reserved lines as a discount code sees them.
fn lines_for_discount(reserved: &[Reserved]) -> Vec<LineOf> {
    reserved
        .iter()
        .map(|line| LineOf {
            total_minor: line.price_minor * i64::from(line.quantity),
            brand: line.brand_id,
            category: line.category_id,
        })
        .collect()
}

/// Whether an order's insert failed because another order of its owner, not failed, has its key.
fn holds_key(err: &DbErr) -> bool {
    matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(message)) if message.contains(KEY_INDEX))
}

/// The order of `owner`'s checkout with `key`, pending or placed; a failed payment's attempt is not.
async fn placed_with_key(
    txn: &DatabaseTransaction,
    owner: &str,
    key: &IdempotencyKey,
) -> Result<Option<order::Model>, crate::Error> {
    Ok(order::Entity::find()
        .filter(order::Column::CheckoutOwner.eq(owner))
        .filter(order::Column::IdempotencyKey.eq(key.as_str()))
        .filter(order::Column::PaymentFailure.is_null())
        .one(txn)
        .await?)
}

async fn account_email(txn: &DatabaseTransaction, customer: Uuid) -> Result<String, crate::Error> {
    let account = customer::Entity::find_by_id(customer).one(txn).await?;
    Ok(account.ok_or_else(|| anyhow::anyhow!("the signed-in customer {customer} has no account"))?.email)
}

async fn saved_address(
    txn: &DatabaseTransaction,
    customer: Uuid,
    id: Uuid,
) -> Result<Option<PostalAddress>, crate::Error> {
    let found =
        address::Entity::find_by_id(id).filter(address::Column::CustomerId.eq(customer)).one(txn).await?;
    Ok(found.map(PostalAddress::from))
}

/// Takes each line's quantity off the stock of its variant, in the order of `lines` (sorted by
/// variant id), with its price and names as they are now. Every line that cannot be had is reported.
async fn reserve(
    txn: &DatabaseTransaction,
    lines: &[(Uuid, u32)],
) -> Result<Result<Vec<Reserved>, CheckoutRejection>, crate::Error> {
    const TAKE: &str = "UPDATE variants v SET stock_on_hand = v.stock_on_hand - $2, updated_at = now() \
        FROM products p WHERE v.id = $1 AND p.id = v.product_id AND p.archived_at IS NULL \
        AND v.stock_on_hand >= $2 RETURNING v.product_id, v.stock_on_hand, v.sku, v.size, v.colour, v.price_minor, \
        p.name, p.brand_id, p.category_id";
    const LEFT: &str = "SELECT v.sku, v.stock_on_hand FROM variants v JOIN products p ON p.id = v.product_id \
        WHERE v.id = $1 AND p.archived_at IS NULL";
    let (mut reserved, mut unavailable, mut short) = (Vec::new(), Vec::new(), Vec::new());
    for &(variant_id, quantity) in lines {
        let quantity = i32::try_from(quantity).map_err(anyhow::Error::from)?;
        let take =
            Statement::from_sql_and_values(DbBackend::Postgres, TAKE, [variant_id.into(), quantity.into()]);
        if let Some(row) = txn.query_one_raw(take).await? {
            reserved.push(Reserved {
                variant_id,
                product_id: row.try_get("", "product_id")?,
                brand_id: row.try_get("", "brand_id")?,
                category_id: row.try_get("", "category_id")?,
                left: row.try_get("", "stock_on_hand")?,
                quantity,
                sku: row.try_get("", "sku")?,
                product_name: row.try_get("", "name")?,
                size: row.try_get("", "size")?,
                colour: row.try_get("", "colour")?,
                price_minor: row.try_get("", "price_minor")?,
            });
            continue;
        }
        let left = Statement::from_sql_and_values(DbBackend::Postgres, LEFT, [variant_id.into()]);
        match txn.query_one_raw(left).await? {
            Some(row) => short.push(Shortage {
                variant_id,
                sku: row.try_get("", "sku")?,
                available: row.try_get("", "stock_on_hand")?,
            }),
            None => unavailable.push(variant_id),
        }
    }
    Ok(if !unavailable.is_empty() {
        Err(CheckoutRejection::Unavailable(unavailable))
    } else if !short.is_empty() {
        Err(CheckoutRejection::OutOfStock(short))
    } else {
        Ok(reserved)
    })
}

async fn record_lines(
    txn: &DatabaseTransaction,
    order_id: Uuid,
    lines: Vec<Reserved>,
    totals: &Totals,
) -> Result<Vec<order_line::Model>, crate::Error> {
    let lines: Vec<order_line::Model> = lines
        .into_iter()
        .zip(&totals.lines)
        .zip(0..)
        .map(|((line, &LineTotal { vat_minor, discount_minor, .. }), position)| order_line::Model {
            order_id,
            position,
            variant_id: line.variant_id,
            sku: line.sku,
            product_name: line.product_name,
            size: line.size,
            colour: line.colour,
            unit_price_minor: line.price_minor,
            quantity: line.quantity,
            vat_basis_points: totals.vat_rate.basis_points(),
            vat_minor,
            discount_minor,
        })
        .collect();
    order_line::Entity::insert_many(lines.iter().cloned().map(IntoActiveModel::into_active_model))
        .exec(txn)
        .await?;
    Ok(lines)
}
