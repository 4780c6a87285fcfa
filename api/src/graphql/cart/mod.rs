mod mutation;
mod query;
mod types;

pub use mutation::CartMutation;
pub use query::CartQuery;
