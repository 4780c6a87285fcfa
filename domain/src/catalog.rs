//! Values of the catalogue: URL slugs and stock-keeping units.

use std::fmt;

/// A URL slug such as `linen-summer-dress`: lowercase ASCII letters and digits in groups joined by
/// single hyphens, at most 100 characters. The database holds the same rule as a CHECK constraint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slug(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "a slug is lowercase letters and digits in groups joined by single hyphens, at most {max} characters; got {0:?}",
    max = Slug::MAX_LEN
)]
pub struct InvalidSlug(pub String);

impl Slug {
    pub const MAX_LEN: usize = 100;

    pub fn parse(slug: &str) -> Result<Self, InvalidSlug> {
        let groups_ok = slug
            .split('-')
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        if slug.is_empty() || slug.len() > Self::MAX_LEN || !groups_ok {
            return Err(InvalidSlug(slug.to_owned()));
        }
        Ok(Self(slug.to_owned()))
    }

    /// The slug of a free text such as a product name: `"Relaxed Linen Shirt"` → `relaxed-linen-shirt`.
    pub fn from_text(text: &str) -> Result<Self, InvalidSlug> {
        let lowered = text.to_lowercase();
        let words: Vec<&str> =
            lowered.split(|c: char| !c.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).collect();
        Self::parse(&words.join("-"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stock-keeping unit such as `MC-00042-M-NAVY`: 3 to 64 capital letters, digits and hyphens,
/// starting with a letter or digit. The database holds the same rule as a CHECK constraint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sku(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a SKU is 3 to 64 capital letters, digits and hyphens, starting with a letter or digit; got {0:?}")]
pub struct InvalidSku(pub String);

impl Sku {
    pub fn parse(sku: &str) -> Result<Self, InvalidSku> {
        let bytes = sku.as_bytes();
        let valid = (3..=64).contains(&bytes.len())
            && bytes[0].is_ascii_alphanumeric()
            && bytes.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'-');
        if valid { Ok(Self(sku.to_owned())) } else { Err(InvalidSku(sku.to_owned())) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sku {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_accepts_hyphenated_lowercase_words() {
        assert!(Slug::parse("linen-summer-dress-2").is_ok());
    }

    #[test]
    fn slug_rejects_capitals_spaces_and_stray_hyphens() {
        for bad in ["", "Linen", "linen dress", "-linen", "linen-", "linen--dress", "lïnen"] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Slug::parse(&"a".repeat(101)).is_err());
    }

    #[test]
    fn slug_from_text_drops_punctuation() {
        assert_eq!(
            Slug::from_text("Relaxed Linen  Shirt — Navy!").unwrap().as_str(),
            "relaxed-linen-shirt-navy"
        );
        assert!(Slug::from_text("—").is_err());
    }

    #[test]
    fn sku_accepts_capitals_digits_and_hyphens() {
        assert!(Sku::parse("MC-00042-M-NAVY").is_ok());
    }

    #[test]
    fn sku_rejects_lowercase_short_and_leading_hyphen() {
        for bad in ["mc-1", "AB", "-ABC", "AB C", &"A".repeat(65)] {
            assert!(Sku::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}

/// The order sizes are shown in: letter sizes from XXS to 4XL, then numeric sizes (waists, shoe and
/// children's sizes such as `32` or `8Y`) from small to large, then anything else alphabetically.
pub fn size_order(a: &str, b: &str) -> std::cmp::Ordering {
    size_rank(a).cmp(&size_rank(b))
}

fn size_rank(size: &str) -> (u8, u64, String) {
    const LETTERS: &[&str] = &["XXS", "XS", "S", "M", "L", "XL", "XXL", "XXXL", "4XL"];
    let upper = size.trim().to_uppercase();
    let upper = match upper.as_str() {
        "2XL" => "XXL".to_owned(),
        "3XL" => "XXXL".to_owned(),
        _ => upper,
    };
    if let Some(position) = LETTERS.iter().position(|l| *l == upper) {
        return (0, position as u64, String::new());
    }
    let digits: String = upper.chars().take_while(char::is_ascii_digit).collect();
    match digits.parse() {
        Ok(number) => (1, number, upper[digits.len()..].to_owned()),
        Err(_) => (2, 0, upper),
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    #[test]
    fn sizes_sort_naturally() {
        let mut sizes = vec!["XL", "10Y", "M", "One Size", "34", "XS", "4Y", "S", "2XL", "L", "28"];
        sizes.sort_by(|a, b| size_order(a, b));
        assert_eq!(sizes, ["XS", "S", "M", "L", "XL", "2XL", "4Y", "10Y", "28", "34", "One Size"]);
    }
}
