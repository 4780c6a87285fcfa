//! Orders: placing them, their status machine, and reading them back.
//!
//! - Query side: `queries` (`OrderQueries`: a customer's history and an order by number, at the
//!   caller's consistency), returning `read_models`.
//! - Command side: `checkout` (`Checkout`, the command that places an order, with its payment in
//!   `settlement`), `reconciler` (`PaymentReconciler`: finishes the payments checkout left undecided),
//!   `payment_events` (`PaymentEvents`: what the provider tells of payments on its own) and
//!   `commands` (`OrderCommands`: status changes and refunds, with the `ledger` of each order's
//!   money), on the write path.

mod checkout;
mod commands;
pub(crate) mod ledger;
mod payment_events;
mod queries;
mod read_models;
mod reconciler;
mod settlement;

pub use crate::entities::payment::Kind as PaymentKind;
pub use checkout::{
    CheckedOut, Checkout, CheckoutOrder, CheckoutRejection, CheckoutRequest, Shipping, Shortage,
};
pub use commands::{OrderCommands, RefundRejection, Refunded, Transitioned};
pub use payment_events::{PaymentEvent, PaymentEvents};
pub use queries::{Listing, OrderQueries, Viewer};
pub use read_models::{OrderLineView, OrderView, PaymentView, PricePart};
pub use reconciler::PaymentReconciler;
