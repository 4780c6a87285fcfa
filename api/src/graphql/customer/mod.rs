mod mutation;
mod query;
mod types;

pub use mutation::CustomerMutation;
pub use query::CustomerQuery;
