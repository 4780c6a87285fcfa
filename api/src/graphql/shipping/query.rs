use async_graphql::{Context, Object, Result};

use super::types::{ShippingZone, VatRate};
use crate::graphql::context::{queries, reads, services};
use crate::graphql::errors::OrGraphql;
use crate::graphql::guards::AdminOnly;

#[derive(Default)]
pub struct ShippingQuery;

#[Object]
impl ShippingQuery {
    /// Every shipping zone with its methods, offered or not; the rest of the world last.
    #[graphql(guard = "AdminOnly")]
    async fn shipping_zones(&self, ctx: &Context<'_>) -> Result<Vec<ShippingZone>> {
        let currency = services(ctx).shop.currency().await.or_graphql()?;
        let zones = queries(ctx).shipping.zones(reads(ctx)).await.or_graphql()?;
        Ok(zones.into_iter().map(|zone| ShippingZone { zone, currency }).collect())
    }

    /// The VAT rate of each country whose VAT the shop charges, by country; orders shipped elsewhere
    /// bear none.
    async fn vat_rates(&self, ctx: &Context<'_>) -> Result<Vec<VatRate>> {
        let rates = queries(ctx).shipping.vat_rates(reads(ctx)).await.or_graphql()?;
        Ok(rates.into_iter().map(|(country, rate)| VatRate::of(country, rate)).collect())
    }
}
