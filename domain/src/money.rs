//! Money: integer minor units and a currency, never floating point.

use crate::currency::CurrencyCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: CurrencyCode,
}

impl Money {
    pub fn new(minor: i64, currency: CurrencyCode) -> Self {
        Self { minor, currency }
    }

    /// The amount as a decimal string in major units with the currency's digits: `3899` EUR → `"38.99"`.
    pub fn decimal_string(&self) -> String {
        let digits = self.currency.minor_digits();
        let sign = if self.minor < 0 { "-" } else { "" };
        let units = self.minor.unsigned_abs();
        if digits == 0 {
            return format!("{sign}{units}");
        }
        let scale = 10u64.pow(digits);
        format!("{sign}{}.{:0width$}", units / scale, units % scale, width = digits as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        Money::new(minor, CurrencyCode::parse(code).unwrap())
    }

    #[test]
    fn formats_with_the_currency_digits() {
        assert_eq!(money(3899, "EUR").decimal_string(), "38.99");
        assert_eq!(money(5, "EUR").decimal_string(), "0.05");
        assert_eq!(money(0, "USD").decimal_string(), "0.00");
        assert_eq!(money(-1250, "GBP").decimal_string(), "-12.50");
        assert_eq!(money(1500, "JPY").decimal_string(), "1500");
        assert_eq!(money(12345, "KWD").decimal_string(), "12.345");
    }
}
