//! The catalogue: products with their variants, brands and categories.
//!
//! - Query side: `queries` (`CatalogQueries`, the storefront's reads through the cache, each a
//!   declared `CachedQuery`), `reader` (`CatalogReader`, the database reads behind them and behind
//!   the per-request loaders), `listing` (the listing SQL) and `cursor` (opaque keyset cursors). They
//!   return `read_models`, which are also what the cache keeps.
//! - Command side: `commands` (`CatalogCommands`, administrators' writes on the write path).

mod commands;
pub mod cursor;
mod listing;
mod queries;
mod read_models;
mod reader;

pub use commands::{CatalogCommands, Rejection, Written};
pub use queries::{CatalogQueries, Listing, ProductRef};
pub use read_models::{
    BrandView, CategoryView, FacetValue, Facets, ProductDetail, ProductPage, ProductView, Related,
    VariantView, VariantsForSale,
};
pub use reader::CatalogReader;
