//! Staff's shipping and VAT set-up (admin role only). Each validates every field, writes on the
//! primary, and answers with what was written and `userErrors`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use domain::address::{COUNTRY_EXPECTED, parse_country};
use domain::shipping::{MethodDraft, MethodInput, ZoneDraft};
use domain::vat::VatRate as Rate;
use infra::shipping::{Edited, ShippingRejection};

use super::types::{ShippingMethodSetting, ShippingZone, VatRate};
use crate::graphql::committed;
use crate::graphql::context::{commands, services};
use crate::graphql::errors::OrGraphql;
use crate::graphql::global_id::{NodeKind, uuid_of};
use crate::graphql::guards::AdminOnly;
use crate::graphql::user_error::{UserError, UserErrorCode};

/// A zone holds countries no other zone holds, or is the one rest of the world (which lists none).
#[derive(InputObject)]
pub struct ShippingZoneInput {
    name: String,
    /// ISO 3166-1 alpha-2 codes.
    #[graphql(default)]
    countries: Vec<String>,
    /// Whether it serves every country no other zone lists.
    #[graphql(default)]
    rest_of_world: bool,
}

#[derive(InputObject)]
pub struct ShippingMethodInput {
    name: String,
    /// In minor units of the shop's currency.
    price: i32,
    /// Shipping is free for lines worth at least this much (minor units); never when not given.
    free_from: Option<i32>,
    min_delivery_days: i32,
    max_delivery_days: i32,
}

#[derive(SimpleObject)]
pub struct ShippingZonePayload {
    zone: Option<ShippingZone>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ShippingMethodPayload {
    method: Option<ShippingMethodSetting>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct VatRatePayload {
    /// The rate as set; null once removed.
    vat_rate: Option<VatRate>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct ShippingMutation;

#[Object]
impl ShippingMutation {
    #[graphql(guard = "AdminOnly")]
    async fn create_shipping_zone(
        &self,
        ctx: &Context<'_>,
        input: ShippingZoneInput,
    ) -> Result<ShippingZonePayload> {
        match zone_draft(&input) {
            Ok(draft) => zone_written(ctx, commands(ctx).shipping.create_zone(draft)).await,
            Err(user_errors) => Ok(ShippingZonePayload { zone: None, user_errors }),
        }
    }

    /// Replaces the zone's name and countries; its methods stay.
    #[graphql(guard = "AdminOnly")]
    async fn update_shipping_zone(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ShippingZoneInput,
    ) -> Result<ShippingZonePayload> {
        let id = uuid_of(&id, NodeKind::ShippingZone)?;
        match zone_draft(&input) {
            Ok(draft) => zone_written(ctx, commands(ctx).shipping.update_zone(id, draft)).await,
            Err(user_errors) => Ok(ShippingZonePayload { zone: None, user_errors }),
        }
    }

    #[graphql(guard = "AdminOnly")]
    async fn create_shipping_method(
        &self,
        ctx: &Context<'_>,
        zone_id: ID,
        input: ShippingMethodInput,
    ) -> Result<ShippingMethodPayload> {
        let zone = uuid_of(&zone_id, NodeKind::ShippingZone)?;
        match method_draft(&input) {
            Ok(draft) => method_written(ctx, commands(ctx).shipping.create_method(zone, draft)).await,
            Err(user_errors) => Ok(ShippingMethodPayload { method: None, user_errors }),
        }
    }

    /// Replaces the method's name, rate and delivery window, and whether shoppers may choose it
    /// (orders that name it keep their copy).
    #[graphql(guard = "AdminOnly")]
    async fn update_shipping_method(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: ShippingMethodInput,
        #[graphql(default = true)] active: bool,
    ) -> Result<ShippingMethodPayload> {
        let id = uuid_of(&id, NodeKind::ShippingMethod)?;
        match method_draft(&input) {
            Ok(draft) => method_written(ctx, commands(ctx).shipping.update_method(id, draft, active)).await,
            Err(user_errors) => Ok(ShippingMethodPayload { method: None, user_errors }),
        }
    }

    /// Sets a country's VAT rate (a percentage such as "20" or "25.5"), adding it to the VAT table.
    #[graphql(guard = "AdminOnly")]
    async fn set_vat_rate(
        &self,
        ctx: &Context<'_>,
        country: String,
        percent: String,
    ) -> Result<VatRatePayload> {
        let country = parse_country(&country).ok_or("country");
        let rate = Rate::parse_percent(&percent).map_err(|e| e.to_string());
        let (country, rate) = match (country, rate) {
            (Ok(country), Ok(rate)) => (country, rate),
            (country, rate) => {
                let mut user_errors = Vec::new();
                if country.is_err() {
                    user_errors.push(invalid("country", COUNTRY_EXPECTED));
                }
                if let Err(problem) = rate {
                    user_errors.push(invalid("percent", &problem));
                }
                return Ok(VatRatePayload { vat_rate: None, user_errors });
            }
        };
        committed(ctx, commands(ctx).shipping.set_vat_rate(&country, rate)).await?;
        Ok(VatRatePayload { vat_rate: Some(VatRate::of(country, rate)), user_errors: vec![] })
    }

    /// Takes a country out of the VAT table: orders shipped there bear no VAT.
    #[graphql(guard = "AdminOnly")]
    async fn remove_vat_rate(&self, ctx: &Context<'_>, country: String) -> Result<VatRatePayload> {
        let Some(country) = parse_country(&country) else {
            return Ok(VatRatePayload {
                vat_rate: None,
                user_errors: vec![invalid("country", COUNTRY_EXPECTED)],
            });
        };
        committed(ctx, commands(ctx).shipping.remove_vat_rate(&country)).await?;
        Ok(VatRatePayload { vat_rate: None, user_errors: vec![] })
    }
}

fn invalid(field: &str, message: &str) -> UserError {
    UserError::new(Some(field), UserErrorCode::InvalidValue, message)
}

fn zone_draft(input: &ShippingZoneInput) -> Result<ZoneDraft, Vec<UserError>> {
    ZoneDraft::parse(&input.name, &input.countries, input.rest_of_world)
        .map_err(|problems| UserError::from_problems("input", problems))
}

fn method_draft(input: &ShippingMethodInput) -> Result<MethodDraft, Vec<UserError>> {
    MethodDraft::parse(MethodInput {
        name: &input.name,
        price: i64::from(input.price),
        free_from: input.free_from.map(i64::from),
        min_days: input.min_delivery_days,
        max_days: input.max_delivery_days,
    })
    .map_err(|problems| UserError::from_problems("input", problems))
}

async fn zone_written(
    ctx: &Context<'_>,
    edit: impl Future<Output = Edited<infra::shipping::ZoneView>>,
) -> Result<ShippingZonePayload> {
    // Handed over (and boxed) before anything is awaited, so that this future does not hold it.
    let edit = committed(ctx, edit);
    let currency = services(ctx).shop.currency().await.or_graphql()?;
    Ok(match edit.await? {
        Ok(zone) => ShippingZonePayload { zone: Some(ShippingZone { zone, currency }), user_errors: vec![] },
        Err(rejection) => ShippingZonePayload { zone: None, user_errors: vec![refused(rejection)] },
    })
}

async fn method_written(
    ctx: &Context<'_>,
    edit: impl Future<Output = Edited<infra::shipping::MethodSetting>>,
) -> Result<ShippingMethodPayload> {
    // Handed over (and boxed) before anything is awaited, so that this future does not hold it.
    let edit = committed(ctx, edit);
    let currency = services(ctx).shop.currency().await.or_graphql()?;
    Ok(match edit.await? {
        Ok(setting) => ShippingMethodPayload {
            method: Some(ShippingMethodSetting { setting, currency }),
            user_errors: vec![],
        },
        Err(rejection) => ShippingMethodPayload { method: None, user_errors: vec![refused(rejection)] },
    })
}

fn refused(rejection: ShippingRejection) -> UserError {
    match rejection {
        ShippingRejection::UnknownZone => {
            UserError::new(Some("zoneId"), UserErrorCode::UnknownShippingZone, "no shipping zone has this id")
        }
        ShippingRejection::UnknownMethod => {
            UserError::new(Some("id"), UserErrorCode::UnknownShippingMethod, "no shipping method has this id")
        }
        ShippingRejection::CountriesTaken(countries) => UserError::new(
            Some("input.countries"),
            UserErrorCode::CountryTaken,
            format!("already in another zone: {}", countries.join(", ")),
        ),
        ShippingRejection::RestOfWorldTaken => UserError::new(
            Some("input.restOfWorld"),
            UserErrorCode::RestOfWorldTaken,
            "another zone is the rest of the world",
        ),
    }
}
