//! MyClothes types and rules. Every value here can only be built valid ("parse, don't validate"),
//! so the rest of the code never re-checks one. This crate does no I/O.

pub mod account;
pub mod account_token;
pub mod address;
pub mod cart;
pub mod catalog;
pub mod catalog_edit;
pub mod currency;
pub mod discount;
mod hex_token;
pub mod listing;
pub mod money;
pub mod order;
pub mod paging;
pub mod session;
pub mod shipping;
pub mod shop;
pub mod totals;
pub mod vat;
