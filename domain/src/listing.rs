//! What a product listing may ask for: a validated filter and a sort.

use serde::Serialize;

/// Filters of a product listing. The variant conditions (sizes, colours, price range, in stock) must
/// all hold for one and the same variant: "M in Navy, in stock, under €50".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
pub struct ProductFilter {
    /// Slug of a category; its descendants are included.
    pub category: Option<String>,
    /// Slug of a brand.
    pub brand: Option<String>,
    pub sizes: Vec<String>,
    pub colours: Vec<String>,
    /// Lowest unit price, in minor units.
    pub min_price: Option<i64>,
    /// Highest unit price, in minor units.
    pub max_price: Option<i64>,
    pub in_stock: bool,
    /// Free text in web-search syntax ("linen -white", "\"slip dress\"").
    pub search: Option<String>,
}

pub const MAX_VALUES_PER_FILTER: usize = 50;
pub const MAX_SEARCH_CHARS: usize = 200;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {message}")]
pub struct FilterError {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> FilterError {
    FilterError { field, message: message.into() }
}

impl ProductFilter {
    /// Trims and checks every field; empty texts and lists mean "no condition".
    pub fn parse(mut self) -> Result<Self, FilterError> {
        let blank_to_none =
            |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        self.category = blank_to_none(self.category);
        self.brand = blank_to_none(self.brand);
        self.search = blank_to_none(self.search);
        for (field, values) in [("sizes", &mut self.sizes), ("colours", &mut self.colours)] {
            values.iter_mut().for_each(|v| *v = v.trim().to_owned());
            values.retain(|v| !v.is_empty());
            values.sort();
            values.dedup();
            if values.len() > MAX_VALUES_PER_FILTER {
                return Err(invalid(field, format!("at most {MAX_VALUES_PER_FILTER} values")));
            }
        }
        for (field, price) in [("minPrice", self.min_price), ("maxPrice", self.max_price)] {
            if price.is_some_and(|p| p < 0) {
                return Err(invalid(field, "must not be negative"));
            }
        }
        if let (Some(min), Some(max)) = (self.min_price, self.max_price)
            && min > max
        {
            return Err(invalid("minPrice", "must not be above maxPrice"));
        }
        if self.search.as_ref().is_some_and(|s| s.chars().count() > MAX_SEARCH_CHARS) {
            return Err(invalid("search", format!("at most {MAX_SEARCH_CHARS} characters")));
        }
        Ok(self)
    }

    /// Whether which products match depends on prices.
    pub fn has_price_conditions(&self) -> bool {
        self.min_price.is_some() || self.max_price.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum ProductSort {
    /// Best text match first; only meaningful with a search, otherwise the same as `Newest`.
    Relevance,
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
}

impl ProductSort {
    /// The sort a listing really uses: the requested one, or by default relevance when searching and
    /// newest otherwise.
    pub fn effective(requested: Option<Self>, filter: &ProductFilter) -> Self {
        match (requested, filter.search.is_some()) {
            (Some(Self::Relevance) | None, true) => Self::Relevance,
            (Some(Self::Relevance) | None, false) => Self::Newest,
            (Some(sort), _) => sort,
        }
    }

    pub fn is_by_price(self) -> bool {
        matches!(self, Self::PriceAsc | Self::PriceDesc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_values_mean_no_condition() {
        let filter = ProductFilter {
            category: Some("  ".into()),
            sizes: vec!["M".into(), " ".into(), "M".into()],
            search: Some(" linen ".into()),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(filter.category, None);
        assert_eq!(filter.sizes, ["M"]);
        assert_eq!(filter.search.as_deref(), Some("linen"));
    }

    #[test]
    fn refuses_negative_or_crossed_prices() {
        let err = ProductFilter { min_price: Some(-1), ..Default::default() }.parse().unwrap_err();
        assert_eq!(err.field, "minPrice");
        let err = ProductFilter { min_price: Some(50), max_price: Some(10), ..Default::default() }
            .parse()
            .unwrap_err();
        assert_eq!(err.field, "minPrice");
        assert!(
            ProductFilter { min_price: Some(10), max_price: Some(10), ..Default::default() }.parse().is_ok()
        );
    }

    #[test]
    fn refuses_overlong_search_and_too_many_values() {
        let search = Some("x".repeat(201));
        assert_eq!(ProductFilter { search, ..Default::default() }.parse().unwrap_err().field, "search");
        let sizes = (0..51).map(|i| i.to_string()).collect();
        assert_eq!(ProductFilter { sizes, ..Default::default() }.parse().unwrap_err().field, "sizes");
    }

    #[test]
    fn relevance_needs_a_search() {
        let searching = ProductFilter { search: Some("linen".into()), ..Default::default() };
        assert_eq!(ProductSort::effective(None, &searching), ProductSort::Relevance);
        assert_eq!(ProductSort::effective(None, &ProductFilter::default()), ProductSort::Newest);
        assert_eq!(
            ProductSort::effective(Some(ProductSort::Relevance), &ProductFilter::default()),
            ProductSort::Newest
        );
        assert_eq!(ProductSort::effective(Some(ProductSort::Name), &searching), ProductSort::Name);
    }
}
