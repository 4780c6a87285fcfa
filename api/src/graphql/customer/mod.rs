mod address;
mod mutation;
mod query;
mod types;

pub use address::{AddressInput, AddressMutation};
pub use mutation::CustomerMutation;
pub use query::CustomerQuery;
pub use types::PostalAddress;
