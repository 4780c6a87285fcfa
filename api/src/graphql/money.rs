use async_graphql::{Context, Object, Result};

use super::errors::OrGraphql;
use crate::services::Services;

/// An amount of money: a decimal string in major units (never a float) and its ISO 4217 currency.
pub struct Money(pub domain::money::Money);

#[Object]
impl Money {
    /// The amount in major units as a decimal string, such as "38.99".
    async fn amount(&self) -> String {
        self.0.decimal_string()
    }

    async fn currency_code(&self) -> &str {
        self.0.currency.as_str()
    }
}

impl Money {
    /// `minor` units of the shop's currency.
    pub async fn of_shop(ctx: &Context<'_>, minor: i64) -> Result<Self> {
        let currency = ctx.data_unchecked::<std::sync::Arc<Services>>().shop.currency().await.or_graphql()?;
        Ok(Self(domain::money::Money::new(minor, currency)))
    }
}
