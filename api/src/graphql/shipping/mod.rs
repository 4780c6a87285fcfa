mod mutation;
mod query;
mod types;

pub use mutation::ShippingMutation;
pub use query::ShippingQuery;
pub use types::{IncludedVat, ShippingOption, country_argument};
