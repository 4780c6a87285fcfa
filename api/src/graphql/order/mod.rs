mod mutation;
mod query;
mod types;

pub use mutation::OrderMutation;
pub use query::OrderQuery;
