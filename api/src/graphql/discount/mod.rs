mod mutation;
mod query;
mod types;

pub use mutation::DiscountMutation;
pub use query::DiscountQuery;
