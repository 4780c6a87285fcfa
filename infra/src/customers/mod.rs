//! Customers: accounts, profiles and address books.
//!
//! - Query side: `queries` (`CustomerQueries`: profiles through the cache, credentials checked on
//!   the primary), returning `read_models`.
//! - Command side: `commands` (`AccountCommands`: registering, changing or resetting a password,
//!   verifying an email, signing in) and `address_book` (`AddressBook`), on the write path;
//!   `account_tokens`, the tokens of the links mailed to customers.

pub(crate) mod account_tokens;
mod address_book;
mod commands;
mod queries;
mod read_models;

pub use address_book::{AddressBook, AddressRejection, AddressWritten, Defaults};
pub use commands::{AccountCommands, AlreadyVerified, EmailTaken, InvalidLink, WrongPassword};
pub use queries::CustomerQueries;
pub use read_models::{AddressView, PostalAddress, Profile};
