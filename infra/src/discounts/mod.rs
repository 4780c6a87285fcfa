//! Discount codes.
//!
//! - Query side: `queries` (`DiscountQueries`): a code's rules, and how often a customer used it,
//!   read with the caller's consistency (codes are not cached: they are read when a shopper applies
//!   one, and staff's list).
//! - Command side: `commands` (`DiscountCommands`): staff create, replace and disable codes; and
//!   `quote`, `claim` and `give_back`, which checkout runs in its transactions: a code is quoted
//!   without a lock, and its use claimed as the last statement before the order's commit, with the
//!   code's row locked, so its usage limits hold however many checkouts race, and the row is held
//!   briefly.

mod commands;
mod queries;

pub use commands::{DiscountCommands, DiscountRejection, DiscountTarget, Window, Written};
pub(crate) use commands::{claim, give_back, quote};
pub use queries::DiscountQueries;
