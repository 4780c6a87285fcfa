//! Shipping as storefronts and staff see it: methods, zones, the VAT table, and the VAT in a price.

use async_graphql::{ID, Object, Result, SimpleObject};
use domain::address::{COUNTRY_EXPECTED, parse_country};
use domain::currency::CurrencyCode;
use domain::shipping::ShippingMethod as Method;
use domain::vat::VatRate as Rate;
use infra::shipping::{MethodSetting, ZoneView};

use crate::graphql::errors::bad_user_input;
use crate::graphql::global_id::{NodeKind, global_id};
use crate::graphql::money::Money;

/// `country` checked as an argument: its ISO code, or `BAD_USER_INPUT`.
pub fn country_argument(country: &str) -> Result<String> {
    parse_country(country).ok_or_else(|| bad_user_input(&format!("country: {COUNTRY_EXPECTED}")))
}

fn money(minor: i64, currency: CurrencyCode) -> Money {
    Money(domain::money::Money::new(minor, currency))
}

/// A way of shipping to a zone, at a price.
pub struct ShippingMethod {
    pub method: Method,
    pub currency: CurrencyCode,
}

#[Object]
impl ShippingMethod {
    async fn id(&self) -> ID {
        global_id(NodeKind::ShippingMethod, self.method.id)
    }

    async fn name(&self) -> &str {
        &self.method.name
    }

    /// What it costs below `freeFrom`.
    async fn price(&self) -> Money {
        money(self.method.rate.price_minor, self.currency)
    }

    /// Shipping is free for lines worth at least this much; null when it never is.
    async fn free_from(&self) -> Option<Money> {
        self.method.rate.free_from_minor.map(|minor| money(minor, self.currency))
    }

    /// Working days to delivery, at least.
    async fn min_delivery_days(&self) -> i32 {
        self.method.delivery.min_days
    }

    /// Working days to delivery, at most.
    async fn max_delivery_days(&self) -> i32 {
        self.method.delivery.max_days
    }
}

/// A method a cart may ship with, and what shipping it costs.
#[derive(SimpleObject)]
pub struct ShippingOption {
    pub method: ShippingMethod,
    /// What shipping this cart costs with it: nothing once its lines reach `method.freeFrom`.
    pub price: Money,
}

impl ShippingOption {
    pub fn of(method: Method, subtotal_minor: i64, currency: CurrencyCode) -> Self {
        let price = money(method.rate.price_for(subtotal_minor), currency);
        Self { method: ShippingMethod { method, currency }, price }
    }
}

/// A method as staff set it up.
pub struct ShippingMethodSetting {
    pub setting: MethodSetting,
    pub currency: CurrencyCode,
}

#[Object]
impl ShippingMethodSetting {
    async fn method(&self) -> ShippingMethod {
        ShippingMethod { method: self.setting.method.clone(), currency: self.currency }
    }

    /// Whether shoppers may choose it.
    async fn active(&self) -> bool {
        self.setting.active
    }
}

/// Countries the shop ships to with the same methods.
pub struct ShippingZone {
    pub zone: ZoneView,
    pub currency: CurrencyCode,
}

#[Object]
impl ShippingZone {
    async fn id(&self) -> ID {
        global_id(NodeKind::ShippingZone, self.zone.id)
    }

    async fn name(&self) -> &str {
        &self.zone.name
    }

    /// ISO 3166-1 alpha-2 codes; none for the rest of the world.
    async fn countries(&self) -> &[String] {
        &self.zone.countries
    }

    /// Whether it serves every country no other zone lists.
    async fn rest_of_world(&self) -> bool {
        self.zone.rest_of_world
    }

    /// Its methods, offered or not, cheapest first.
    async fn methods(&self) -> Vec<ShippingMethodSetting> {
        let currency = self.currency;
        self.zone
            .methods
            .iter()
            .map(|setting| ShippingMethodSetting { setting: setting.clone(), currency })
            .collect()
    }
}

/// A country's VAT rate.
#[derive(SimpleObject)]
pub struct VatRate {
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// As a percentage, such as "20" or "25.5".
    pub percent: String,
}

impl VatRate {
    pub fn of(country: String, rate: Rate) -> Self {
        Self { country, percent: rate.to_string() }
    }
}

/// The VAT included in an amount (prices include VAT).
#[derive(SimpleObject)]
pub struct IncludedVat {
    /// The rate, as a percentage such as "20"; "0" where the shop charges no VAT.
    pub percent: String,
    pub amount: Money,
}

impl IncludedVat {
    pub fn of(rate: Rate, minor: i64, currency: CurrencyCode) -> Self {
        Self { percent: rate.to_string(), amount: money(minor, currency) }
    }
}
