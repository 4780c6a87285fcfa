//! The shop's own settings.

use crate::currency::CurrencyCode;

/// The shop as storefronts see it: its name and the currency every price is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shop {
    pub name: ShopName,
    pub currency: CurrencyCode,
}

/// A shop name: 1 to 100 characters once trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a shop name has 1 to {max} characters", max = ShopName::MAX_CHARS)]
pub struct InvalidShopName;

impl ShopName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(name: &str) -> Result<Self, InvalidShopName> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > Self::MAX_CHARS {
            return Err(InvalidShopName);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_a_sensible_name() {
        assert_eq!(ShopName::parse("  MyClothes ").unwrap().as_str(), "MyClothes");
    }

    #[test]
    fn rejects_empty_and_overlong_names() {
        assert_eq!(ShopName::parse("   "), Err(InvalidShopName));
        assert_eq!(ShopName::parse(&"x".repeat(101)), Err(InvalidShopName));
        assert!(ShopName::parse(&"x".repeat(100)).is_ok());
    }
}
