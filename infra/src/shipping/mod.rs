//! Shipping and VAT: the zones of countries the shop ships to, the methods that ship to each, and
//! the VAT table (the rate of each country whose VAT the shop charges).
//!
//! - Query side: `queries` (`ShippingQueries`): what ships to a country, and its VAT rate, through
//!   the cache for shoppers; zones and the VAT table for staff.
//! - Command side: `commands` (`ShippingCommands`): staff edits, on the write path; each touches
//!   `Touch::Shipping`, which the cached answers show.
//!
//! `destination` reads what ships to a country and its VAT rate in one statement; the cached query
//! and checkout (in its transaction, on the primary) both read it so.

mod commands;
mod queries;
mod read_models;

pub use commands::{Edited, ShippingCommands, ShippingRejection};
pub use queries::ShippingQueries;
pub(crate) use queries::destination;
pub use read_models::{Destination, MethodSetting, ZoneView};
