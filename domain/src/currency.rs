//! ISO 4217 currency codes.

use std::fmt;

/// An ISO 4217 alphabetic currency code such as `EUR`: three ASCII capital letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurrencyCode([u8; 3]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a currency code is three capital letters (ISO 4217), such as EUR; got {0:?}")]
pub struct InvalidCurrencyCode(pub String);

impl CurrencyCode {
    pub fn parse(code: &str) -> Result<Self, InvalidCurrencyCode> {
        match code.as_bytes() {
            &[a, b, c] if [a, b, c].iter().all(u8::is_ascii_uppercase) => Ok(Self([a, b, c])),
            _ => Err(InvalidCurrencyCode(code.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a currency code holds only ASCII capitals")
    }

    /// Digits after the decimal point of the currency's minor unit (ISO 4217): 2 unless listed.
    pub fn minor_digits(&self) -> u32 {
        match self.as_str() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX" | "UYI"
            | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for CurrencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_capital_letters() {
        assert_eq!(CurrencyCode::parse("EUR").unwrap().as_str(), "EUR");
    }

    #[test]
    fn rejects_anything_else() {
        for bad in ["", "EU", "EURO", "eur", "E1R", "ÉUR"] {
            assert!(CurrencyCode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
