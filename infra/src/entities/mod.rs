//! sea-orm entities: one module per table, mirroring `migrations/src/sql`.

pub mod address;
pub mod brand;
pub mod category;
pub mod customer;
pub mod order;
pub mod order_line;
pub mod payment;
pub mod product;
pub mod shop;
pub mod staff;
pub mod variant;
