//! Postal addresses, for a customer's address book and for the shipping address of an order.

use crate::catalog_edit::{FieldProblem, Problem, Problems};

/// How many addresses one customer's address book holds at most.
pub const MAX_ADDRESSES: u64 = 20;

/// A checked address: every text trimmed and of bounded length, the country an ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub name: String,
    pub line1: String,
    pub line2: Option<String>,
    pub city: String,
    pub postal_code: String,
    pub country: String,
    pub phone: Option<String>,
}

/// The raw input of an `Address`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressInput<'a> {
    pub name: &'a str,
    pub line1: &'a str,
    pub line2: Option<&'a str>,
    pub city: &'a str,
    pub postal_code: &'a str,
    pub country: &'a str,
    pub phone: Option<&'a str>,
}

impl Address {
    /// Checks every field, reporting all problems at once.
    pub fn parse(input: AddressInput<'_>) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let name = problems.text("name", input.name, 100);
        let line1 = problems.text("line1", input.line1, 100);
        let line2 = optional(input.line2).map(|line| problems.text("line2", line, 100));
        let city = problems.text("city", input.city, 100);
        let postal_code = problems.text("postalCode", input.postal_code, 20);
        let country = parse_country(input.country).unwrap_or_else(|| {
            problems.add("country", Problem::InvalidValue, COUNTRY_EXPECTED);
            String::new()
        });
        let phone = optional(input.phone).map(str::to_owned);
        if phone.as_deref().is_some_and(|phone| !is_phone_number(phone)) {
            problems.add("phone", Problem::InvalidValue, "must have 3 to 30 digits, spaces or + - ( )");
        }
        problems.finish(|| Self { name, line1, line2, city, postal_code, country, phone })
    }
}

fn optional(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|text| !text.is_empty())
}

fn is_phone_number(phone: &str) -> bool {
    (3..=30).contains(&phone.len())
        && phone.chars().any(|c| c.is_ascii_digit())
        && phone.chars().all(|c| c.is_ascii_digit() || " +-()".contains(c))
}

/// The officially assigned ISO 3166-1 alpha-2 codes.
const COUNTRY_CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN \
    BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE \
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU \
    ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY \
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM \
    PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS \
    ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS \
    YE YT ZA ZM ZW";

/// What a country code must be.
pub const COUNTRY_EXPECTED: &str = "must be an ISO 3166-1 alpha-2 code such as FR";

/// `code` trimmed and upper-cased, when it is an assigned ISO 3166-1 alpha-2 code.
pub fn parse_country(code: &str) -> Option<String> {
    let code = code.trim().to_ascii_uppercase();
    is_country_code(&code).then_some(code)
}

fn is_country_code(code: &str) -> bool {
    code.len() == 2 && COUNTRY_CODES.split_ascii_whitespace().any(|known| known == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> AddressInput<'static> {
        AddressInput {
            name: " Ada Lovelace ",
            line1: "12 Rue de la Paix",
            line2: Some("  "),
            city: "Paris",
            postal_code: "75002",
            country: "fr",
            phone: Some("+33 1 23 45 67 89"),
        }
    }

    #[test]
    fn a_good_address_is_trimmed_and_its_country_upper_cased() {
        let address = Address::parse(input()).unwrap();
        assert_eq!((address.name.as_str(), address.country.as_str()), ("Ada Lovelace", "FR"));
        assert_eq!(address.line2, None, "a blank optional line is no line");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let bad = AddressInput { city: "", country: "XX", phone: Some("call me"), ..input() };
        let fields: Vec<_> = Address::parse(bad).unwrap_err().into_iter().map(|p| p.field).collect();
        assert_eq!(fields, ["city", "country", "phone"]);
    }

    #[test]
    fn the_country_list_is_the_assigned_codes() {
        assert_eq!(COUNTRY_CODES.split_ascii_whitespace().count(), 249);
        assert!(["GB", "US", "DE", "JP"].iter().all(|c| is_country_code(c)));
        assert!(!is_country_code("UK") && !is_country_code("F") && !is_country_code("FRA"));
    }
}
