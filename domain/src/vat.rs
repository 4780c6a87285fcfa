//! Value added tax: prices include it, and what part of a price it is depends on the rate of the
//! country the order ships to.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A VAT rate in hundredths of a percent (basis points): 19 % is 1900, 25.5 % is 2550.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VatRate(u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a VAT rate is a percentage from 0 to 100 with at most two decimals, such as 19 or 25.5")]
pub struct InvalidVatRate;

impl VatRate {
    /// No VAT: what orders shipped outside the VAT table's countries bear.
    pub const NONE: Self = Self(0);
    const WHOLE: u32 = 10_000;

    pub fn from_basis_points(points: i32) -> Result<Self, InvalidVatRate> {
        u32::try_from(points).ok().filter(|p| *p <= Self::WHOLE).map(Self).ok_or(InvalidVatRate)
    }

    /// `"19"`, `"25.5"` or `"5.50"`, read as percentages.
    pub fn parse_percent(text: &str) -> Result<Self, InvalidVatRate> {
        let text = text.trim();
        let (units, decimals) = text.split_once('.').unwrap_or((text, ""));
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || units.len() > 3 || decimals.len() > 2 || !digits(units) || !digits(decimals) {
            return Err(InvalidVatRate);
        }
        let hundredths = format!("{decimals:0<2}").parse::<u32>().map_err(|_| InvalidVatRate)?;
        let points = units.parse::<u32>().map_err(|_| InvalidVatRate)? * 100 + hundredths;
        Self::from_basis_points(i32::try_from(points).map_err(|_| InvalidVatRate)?)
    }

    pub fn basis_points(self) -> i32 {
        self.0 as i32
    }

    /// The VAT included in `gross` (minor units, VAT included, not negative): `gross × rate / (100 % +
    /// rate)`, rounded to the minor unit, half to even.
    pub fn included_in(self, gross: i64) -> i64 {
        let numerator = i128::from(gross) * i128::from(self.0);
        let denominator = i128::from(Self::WHOLE + self.0);
        let (quotient, remainder) = (numerator / denominator, numerator % denominator);
        let rounded = match (2 * remainder).cmp(&denominator) {
            std::cmp::Ordering::Greater => quotient + 1,
            std::cmp::Ordering::Equal => quotient + quotient % 2,
            std::cmp::Ordering::Less => quotient,
        };
        i64::try_from(rounded).expect("the VAT of an amount is at most the amount")
    }
}

/// As a percentage without trailing zeros: `19`, `25.5`, `5.55`.
impl fmt::Display for VatRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (units, hundredths) = (self.0 / 100, self.0 % 100);
        match hundredths {
            0 => write!(f, "{units}"),
            h if h % 10 == 0 => write!(f, "{units}.{}", h / 10),
            h => write!(f, "{units}.{h:02}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_and_print_as_percentages() {
        for (text, points, shown) in [
            ("19", 1900, "19"),
            ("25.5", 2550, "25.5"),
            (" 5.50 ", 550, "5.5"),
            ("5.55", 555, "5.55"),
            ("0", 0, "0"),
            ("100", 10_000, "100"),
        ] {
            let rate = VatRate::parse_percent(text).unwrap();
            assert_eq!((rate.basis_points(), rate.to_string().as_str()), (points, shown), "{text}");
        }
        for bad in ["", "-1", "100.01", "1.234", "19%", ".5", "1e2", "1000"] {
            assert_eq!(VatRate::parse_percent(bad), Err(InvalidVatRate), "{bad:?}");
        }
    }

    #[test]
    fn the_vat_in_a_price_rounds_half_to_even() {
        let rate = |percent| VatRate::parse_percent(percent).unwrap();
        assert_eq!(rate("20").included_in(1200), 200);
        assert_eq!(rate("19").included_in(11900), 1900);
        assert_eq!(rate("25").included_in(1), 0, "0.2 → 0");
        assert_eq!(rate("25").included_in(3), 1, "0.6 → 1");
        assert_eq!(rate("100").included_in(5), 2, "2.5 → 2");
        assert_eq!(rate("100").included_in(15), 8, "7.5 → 8");
        assert_eq!(VatRate::NONE.included_in(999), 0);
    }
}
