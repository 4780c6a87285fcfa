mod mutation;
mod query;
mod types;

pub use mutation::{CHECKING_THEIR_SESSION, CartMutation};
pub use query::CartQuery;
