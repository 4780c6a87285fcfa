//! What an administrator may write into the catalogue, checked field by field. Every problem is
//! reported at once, each naming its field, so a form can show them all.

use crate::catalog::{Sku, Slug};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The text is empty, too long, or not of the required form.
    InvalidValue,
    /// A price below zero, or a compare-at price not above the price.
    InvalidPrice,
    /// Stock below zero.
    InvalidStock,
    /// A password that does not meet the policy.
    WeakPassword,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub field: &'static str,
    pub problem: Problem,
    pub message: String,
}

#[derive(Default)]
pub(crate) struct Problems(Vec<FieldProblem>);

impl Problems {
    pub(crate) fn add(&mut self, field: &'static str, problem: Problem, message: impl Into<String>) {
        self.0.push(FieldProblem { field, problem, message: message.into() });
    }

    pub(crate) fn text(&mut self, field: &'static str, value: &str, max_chars: usize) -> String {
        let value = value.trim();
        if value.is_empty() || value.chars().count() > max_chars {
            self.add(field, Problem::InvalidValue, format!("must have 1 to {max_chars} characters"));
        }
        value.to_owned()
    }

    fn slug(&mut self, field: &'static str, slug: Option<&str>, name: &str) -> Option<Slug> {
        let parsed = match slug {
            Some(slug) => Slug::parse(slug.trim()),
            None => Slug::from_text(name),
        };
        parsed.map_err(|e| self.add(field, Problem::InvalidValue, e.to_string())).ok()
    }

    pub(crate) fn price(&mut self, field: &'static str, minor: i64) -> i64 {
        if minor < 0 {
            self.add(field, Problem::InvalidPrice, "must not be negative");
        }
        minor
    }

    pub(crate) fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Vec<FieldProblem>> {
        if self.0.is_empty() { Ok(value()) } else { Err(self.0) }
    }

    pub(crate) fn into_vec(self) -> Vec<FieldProblem> {
        self.0
    }
}

/// A brand or category to create: a name and a slug (made from the name when not given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedDraft {
    pub name: String,
    pub slug: Slug,
}

impl NamedDraft {
    pub fn parse(name: &str, slug: Option<&str>) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let name = problems.text("name", name, 100);
        let slug = problems.slug("slug", slug, &name);
        problems.finish(|| Self { name, slug: slug.expect("no problems means a slug") })
    }
}

/// The descriptive fields of a product; on update, `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductFields {
    pub name: Option<String>,
    pub slug: Option<Slug>,
    pub description: Option<String>,
    pub material: Option<String>,
    pub care: Option<String>,
    pub images: Option<Vec<String>>,
}

/// The raw input of `ProductFields`.
#[derive(Debug, Clone, Default)]
pub struct ProductInput<'a> {
    pub name: Option<&'a str>,
    pub slug: Option<&'a str>,
    pub description: Option<&'a str>,
    pub material: Option<&'a str>,
    pub care: Option<&'a str>,
    pub images: Option<&'a [String]>,
}

impl ProductFields {
    /// Checks a new product: a name is required, the slug defaults to one made from it.
    pub fn parse_new(input: ProductInput<'_>) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        if input.name.is_none() {
            problems.add("name", Problem::InvalidValue, "is required");
        }
        let mut fields = Self::check(&mut problems, &input);
        let name = fields.name.clone().unwrap_or_default();
        fields.slug = problems.slug("slug", input.slug.filter(|s| !s.trim().is_empty()), &name);
        problems.finish(|| fields)
    }

    /// Checks changes to a product: only the given fields.
    pub fn parse_changes(input: ProductInput<'_>) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let mut fields = Self::check(&mut problems, &input);
        fields.slug = input.slug.and_then(|slug| problems.slug("slug", Some(slug), ""));
        problems.finish(|| fields)
    }

    /// Every field but the slug.
    fn check(problems: &mut Problems, input: &ProductInput<'_>) -> Self {
        let name = input.name.map(|name| problems.text("name", name, 200));
        let optional = |problems: &mut Problems, field, value: Option<&str>| {
            value.map(|v| if v.trim().is_empty() { String::new() } else { problems.text(field, v, 2000) })
        };
        let description = optional(problems, "description", input.description);
        let material = optional(problems, "material", input.material);
        let care = optional(problems, "care", input.care);
        let images = input.images.map(|images| {
            if images.len() > 20
                || images
                    .iter()
                    .any(|i| i.trim().is_empty() || i.len() > 2000 || i.contains(char::is_whitespace))
            {
                problems.add("images", Problem::InvalidValue, "at most 20 URLs without spaces");
            }
            images.to_vec()
        });
        Self { name, slug: None, description, material, care, images }
    }
}

/// A size × colour variant to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantDraft {
    pub sku: Sku,
    pub size: String,
    pub colour: String,
    pub price_minor: i64,
    pub compare_at_minor: Option<i64>,
    pub stock: i32,
}

impl VariantDraft {
    pub fn parse(
        sku: &str,
        size: &str,
        colour: &str,
        price_minor: i64,
        compare_at_minor: Option<i64>,
        stock: i32,
    ) -> Result<Self, Vec<FieldProblem>> {
        let mut problems = Problems::default();
        let sku = Sku::parse(sku.trim())
            .map_err(|e| problems.add("sku", Problem::InvalidValue, e.to_string()))
            .ok();
        let size = problems.text("size", size, 20);
        let colour = problems.text("colour", colour, 40);
        check_prices(&mut problems, price_minor, compare_at_minor);
        if stock < 0 {
            problems.add("stock", Problem::InvalidStock, "must not be negative");
        }
        problems.finish(|| Self {
            sku: sku.expect("no problems means a SKU"),
            size,
            colour,
            price_minor,
            compare_at_minor,
            stock,
        })
    }
}

/// A price and the optional higher price it is reduced from.
pub fn check_price(price_minor: i64, compare_at_minor: Option<i64>) -> Result<(), Vec<FieldProblem>> {
    let mut problems = Problems::default();
    check_prices(&mut problems, price_minor, compare_at_minor);
    problems.finish(|| ())
}

fn check_prices(problems: &mut Problems, price_minor: i64, compare_at_minor: Option<i64>) {
    let price = problems.price("price", price_minor);
    if let Some(compare_at) = compare_at_minor
        && problems.price("compareAtPrice", compare_at) <= price
        && compare_at >= 0
    {
        problems.add("compareAtPrice", Problem::InvalidPrice, "must be above the price");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(problems: Vec<FieldProblem>) -> Vec<&'static str> {
        problems.into_iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_named_draft_takes_its_slug_from_the_name() {
        let draft = NamedDraft::parse(" Women's Coats ", None).unwrap();
        assert_eq!((draft.name.as_str(), draft.slug.as_str()), ("Women's Coats", "women-s-coats"));
        assert_eq!(fields(NamedDraft::parse("", Some("Bad Slug")).unwrap_err()), ["name", "slug"]);
    }

    #[test]
    fn a_new_product_needs_a_name_and_reports_every_bad_field() {
        let input = ProductInput {
            slug: Some("Not A Slug"),
            images: Some(&[String::from("a b")]),
            ..Default::default()
        };
        assert_eq!(fields(ProductFields::parse_new(input).unwrap_err()), ["name", "images", "slug"]);
        let ok = ProductFields::parse_new(ProductInput { name: Some("Linen Shirt"), ..Default::default() })
            .unwrap();
        assert_eq!(ok.slug.unwrap().as_str(), "linen-shirt");
    }

    #[test]
    fn changes_keep_what_is_not_given() {
        let changes =
            ProductFields::parse_changes(ProductInput { description: Some("Soft."), ..Default::default() })
                .unwrap();
        assert_eq!(changes, ProductFields { description: Some("Soft.".into()), ..Default::default() });
        assert_eq!(
            fields(
                ProductFields::parse_changes(ProductInput { name: Some(" "), ..Default::default() })
                    .unwrap_err()
            ),
            ["name"]
        );
    }

    #[test]
    fn variants_need_a_sku_and_prices_and_stock_that_make_sense() {
        assert!(VariantDraft::parse("MC-1-M-NAVY", "M", "Navy", 4999, Some(5999), 3).is_ok());
        let problems = VariantDraft::parse("bad sku", "", "Navy", -1, Some(10), -2).unwrap_err();
        assert_eq!(fields(problems.clone()), ["sku", "size", "price", "stock"]);
        assert_eq!(problems[2].problem, Problem::InvalidPrice);
        assert_eq!(problems[3].problem, Problem::InvalidStock);
        assert_eq!(fields(check_price(5000, Some(5000)).unwrap_err()), ["compareAtPrice"]);
        assert!(check_price(0, None).is_ok());
    }
}
