//! Carts, held in Redis under their owner (a guest session or a customer), not on the primary.
//!
//! - `store`: `CartStore`, one atomic Lua script per change.
//! - Command side: `commands` (`CartCommands`: a shopper's changes, checked against the catalogue).
//! - Query side: `queries` (`CartQueries`: a cart priced from the live catalogue).

mod commands;
mod queries;
mod store;

pub use commands::{CartChange, CartCommands, CartRefusal};
pub use queries::{CartQueries, PricedCart, PricedLine};
pub use store::{CartRejection, CartStore, StoredCart, StoredLine};
