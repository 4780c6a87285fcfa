//! Storage and outside services behind small types, organised by feature with the two sides of each
//! named: `queries` (reads, through the cache where cacheable) and `commands` (writes, on the write
//! path). `db::router` is the only place that opens database connections, `redis` the only place
//! that opens Redis connections, and `write_path` the only way to write on the primary.

pub mod account_events;
pub mod cache;
pub mod carts;
pub mod catalog;
pub mod customers;
pub mod db;
pub mod digest;
pub mod discounts;
pub mod entities;
mod error;
pub mod login_limits;
pub mod mail;
pub mod order_events;
pub mod orders;
pub mod outbox;
pub mod passwords;
pub mod payments;
pub mod persisted_queries;
pub mod probe;
pub mod rate_limits;
pub mod redis;
pub mod seed;
pub mod session_registry;
pub mod shipping;
pub mod shop;
pub mod staff;
pub mod stripe;
pub mod tokens;
pub mod worker;
pub mod write_path;

pub use error::Error;
