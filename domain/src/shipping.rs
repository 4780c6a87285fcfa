//! Shipping: zones of countries, the methods that ship to each at a rate, and which method a
//! checkout ships with.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::address::{COUNTRY_EXPECTED, parse_country};
use crate::catalog_edit::{FieldProblem, Problem, Problems};

/// What a method charges: its price, or nothing once the lines cost at least `free_from_minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingRate {
    pub price_minor: i64,
    pub free_from_minor: Option<i64>,
}

impl ShippingRate {
    /// What shipping lines worth `subtotal_minor` costs.
    pub fn price_for(&self, subtotal_minor: i64) -> i64 {
        match self.free_from_minor {
            Some(threshold) if subtotal_minor >= threshold => 0,
            _ => self.price_minor,
        }
    }
}

/// How many working days a parcel takes, at least and at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryWindow {
    pub min_days: i32,
    pub max_days: i32,
}

/// A method as shoppers choose it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShippingMethod {
    pub id: Uuid,
    pub name: String,
    pub rate: ShippingRate,
    pub delivery: DeliveryWindow,
}

/// The method of `methods` (those that ship to the address) a checkout of lines worth
/// `subtotal_minor` ships with: the one `chosen`, or the cheapest when none was. None when the one
/// chosen does not ship there, or none does.
pub fn choose(
    methods: &[ShippingMethod],
    chosen: Option<Uuid>,
    subtotal_minor: i64,
) -> Option<&ShippingMethod> {
    match chosen {
        Some(id) => methods.iter().find(|method| method.id == id),
        None => methods
            .iter()
            .min_by_key(|method| (method.rate.price_for(subtotal_minor), method.delivery.max_days)),
    }
}

/// The raw input of a method.
#[derive(Debug, Clone, Copy)]
pub struct MethodInput<'a> {
    pub name: &'a str,
    pub price: i64,
    pub free_from: Option<i64>,
    pub min_days: i32,
    pub max_days: i32,
}

/// A method to create or to replace one with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodDraft {
    pub name: String,
    pub rate: ShippingRate,
    pub delivery: DeliveryWindow,
}

impl MethodDraft {
    pub const MAX_DAYS: i32 = 365;

    pub fn parse(input: MethodInput<'_>) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let name = problems.text("name", input.name, 100);
        let price_minor = problems.price("price", input.price);
        let free_from_minor = input.free_from.map(|threshold| problems.price("freeFrom", threshold));
        let days = 0..=Self::MAX_DAYS;
        if !days.contains(&input.min_days) {
            problems.add(
                "minDeliveryDays",
                Problem::InvalidValue,
                format!("must be 0 to {}", Self::MAX_DAYS),
            );
        }
        if !days.contains(&input.max_days) || input.max_days < input.min_days {
            let message = format!("must be minDeliveryDays to {}", Self::MAX_DAYS);
            problems.add("maxDeliveryDays", Problem::InvalidValue, message);
        }
        problems.finish(|| Self {
            name,
            rate: ShippingRate { price_minor, free_from_minor },
            delivery: DeliveryWindow { min_days: input.min_days, max_days: input.max_days },
        })
    }
}

/// A zone to create or to replace one with: the countries it holds (no country is in two zones),
/// or, for the one rest-of-the-world zone, every country no other zone holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneDraft {
    pub name: String,
    /// Upper-cased, sorted, each once; none for the rest of the world.
    pub countries: Vec<String>,
    pub rest_of_world: bool,
}

impl ZoneDraft {
    pub fn parse(name: &str, countries: &[String], rest_of_world: bool) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let name = problems.text("name", name, 100);
        let mut codes: Vec<String> = countries.iter().filter_map(|code| parse_country(code)).collect();
        if codes.len() != countries.len() {
            problems.add("countries", Problem::InvalidValue, format!("each {COUNTRY_EXPECTED}"));
        }
        if rest_of_world && !countries.is_empty() {
            problems.add("countries", Problem::InvalidValue, "the rest of the world lists no countries");
        }
        codes.sort();
        codes.dedup();
        problems.finish(|| Self { name, countries: codes, rest_of_world })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn method(price_minor: i64, free_from_minor: Option<i64>, max_days: i32) -> ShippingMethod {
        ShippingMethod {
            id: Uuid::now_v7(),
            name: "Standard".into(),
            rate: ShippingRate { price_minor, free_from_minor },
            delivery: DeliveryWindow { min_days: 1, max_days },
        }
    }

    #[test]
    fn shipping_is_free_from_the_threshold_on() {
        let rate = ShippingRate { price_minor: 490, free_from_minor: Some(5000) };
        assert_eq!((rate.price_for(4999), rate.price_for(5000)), (490, 0));
        assert_eq!(ShippingRate { price_minor: 490, free_from_minor: None }.price_for(1_000_000), 490);
    }

    #[test]
    fn a_checkout_ships_with_the_method_chosen_or_the_cheapest() {
        let (standard, express) = (method(490, Some(5000), 3), method(990, None, 1));
        let methods = [express.clone(), standard.clone()];
        assert_eq!(choose(&methods, Some(express.id), 100), Some(&express));
        assert_eq!(choose(&methods, None, 100), Some(&standard));
        assert_eq!(choose(&methods, Some(Uuid::now_v7()), 100), None, "one that does not ship there");
        assert_eq!(choose(&[], None, 100), None);
        let free_express = method(0, None, 1);
        assert_eq!(
            choose(&[standard, free_express.clone()], None, 6000),
            Some(&free_express),
            "the faster of two free ones"
        );
    }

    #[test]
    fn a_method_has_a_name_prices_not_below_zero_and_a_window_of_days() {
        let input = MethodInput { name: " Express ", price: 990, free_from: None, min_days: 1, max_days: 2 };
        assert_eq!(MethodDraft::parse(input).unwrap().name, "Express");
        let bad = MethodInput { name: "", price: -1, free_from: Some(-5), min_days: 3, max_days: 2 };
        let fields: Vec<_> = MethodDraft::parse(bad).unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["name", "price", "freeFrom", "maxDeliveryDays"]);
    }

    #[test]
    fn a_zone_holds_known_countries_once_or_is_the_rest_of_the_world() {
        let codes = |codes: &[&str]| codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        let zone = ZoneDraft::parse("EU", &codes(&["de", "AT", "DE "]), false).unwrap();
        assert_eq!(zone.countries, ["AT", "DE"]);
        assert!(ZoneDraft::parse("Elsewhere", &[], true).unwrap().rest_of_world);
        let fields = |draft: Result<ZoneDraft, Vec<FieldProblem>>| {
            draft.unwrap_err().into_iter().map(|p| p.field).collect::<Vec<_>>()
        };
        assert_eq!(fields(ZoneDraft::parse("EU", &codes(&["DE", "XX"]), false)), ["countries"]);
        assert_eq!(fields(ZoneDraft::parse(" ", &codes(&["DE"]), true)), ["name", "countries"]);
    }
}
