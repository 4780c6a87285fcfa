mod query;
mod types;

pub use query::ShopQuery;
