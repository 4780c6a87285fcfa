//! Storage and outside services behind small types: the primary/replica router (`db::router`), Redis
//! (`redis`), repositories (`shop`) and the development seed (`seed`). Only `db::router` opens
//! database connections and only `redis` opens Redis connections.

pub mod addresses;
pub mod cache;
pub mod cart_store;
pub mod catalog;
pub mod checkout;
pub mod customers;
pub mod db;
pub mod digest;
pub mod entities;
mod error;
pub mod login_limits;
pub mod order_events;
pub mod orders;
pub mod passwords;
pub mod payments;
pub mod persisted_queries;
pub mod probe;
pub mod rate_limits;
pub mod redis;
pub mod seed;
pub mod session_registry;
pub mod shop;
pub mod staff;
pub mod tokens;
pub mod worker;

pub use error::Error;
