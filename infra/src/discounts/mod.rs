//! Discount codes.
//!
//! - Query side: `queries` (`DiscountQueries`): a code's rules, and how often a customer used it,
//!   read with the caller's consistency (codes are not cached: they are read when a shopper applies
//!   one, and staff's list).
//! - Command side: `commands` (`DiscountCommands`): staff create, replace and disable codes; and
//!   `redeem`/`give_back`, which checkout runs in its own transactions: the code's row locked, its
//!   rules checked again, its use counted, so the usage limit holds however many checkouts race.

mod commands;
mod queries;

pub use commands::{DiscountCommands, DiscountRejection, DiscountTarget, Window, Written};
pub(crate) use commands::{give_back, redeem};
pub use queries::DiscountQueries;
