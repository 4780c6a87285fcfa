mod mutation;
mod query;
mod types;

pub use mutation::{CHECKING_THEIR_SESSION, CartMutation, discount_refused};
pub use query::CartQuery;
