//! What the shipping side reads.

use domain::shipping::ShippingMethod;
use domain::vat::VatRate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What ships to a country, cheapest first, and the VAT rate of orders shipped there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub methods: Vec<ShippingMethod>,
    pub vat_rate: VatRate,
}

/// A zone as staff set it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneView {
    pub id: Uuid,
    pub name: String,
    /// Sorted; none for the rest of the world.
    pub countries: Vec<String>,
    pub rest_of_world: bool,
    pub methods: Vec<MethodSetting>,
}

/// A method as staff set it up: offered or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodSetting {
    pub method: ShippingMethod,
    pub zone_id: Uuid,
    pub active: bool,
}
