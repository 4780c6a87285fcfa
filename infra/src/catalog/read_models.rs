//! What the catalogue's read side returns and the cache keeps: the storefront's view of products,
//! variants, brands and categories, never the database rows. Stock and prices, which checkouts and
//! price changes touch, are read only through accessors that note them in the request's `Reads`, so
//! that a cached response is filed under every stock or price it shows, and under nothing else.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::cursor::ProductCursor;
use crate::cache::{Reads, Tag};
use crate::entities::{brand, category, product, variant};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub brand_id: Uuid,
    pub category_id: Uuid,
    pub material: Option<String>,
    pub care: Option<String>,
    /// Image URLs, the main picture first.
    pub images: Vec<String>,
    pub created_at: DateTime<FixedOffset>,
    pub updated_at: DateTime<FixedOffset>,
    /// The lowest price of its variants, in minor units; none while it has no variant.
    pub(crate) price_from_minor: Option<i64>,
    /// Taken off sale: still shown in carts (as unavailable) and orders, never listed.
    pub archived: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariantView {
    pub id: Uuid,
    pub product_id: Uuid,
    pub sku: String,
    pub size: String,
    pub colour: String,
    /// In minor units of the shop's currency.
    pub(crate) price_minor: i64,
    /// The higher price it is reduced from, if it is.
    pub(crate) compare_at_minor: Option<i64>,
    pub(crate) stock: i32,
}

impl ProductView {
    /// The lowest price of its variants, in minor units; none while it has no variant.
    pub fn price_from_minor(&self, reads: &Reads) -> Option<i64> {
        reads.shows([Tag::Price(self.id)]);
        self.price_from_minor
    }
}

impl VariantView {
    /// How many are left.
    pub fn stock(&self, reads: &Reads) -> i32 {
        reads.shows([Tag::Stock(self.product_id)]);
        self.stock
    }

    pub fn in_stock(&self, reads: &Reads) -> bool {
        reads.shows([Tag::Availability(self.product_id)]);
        self.stock > 0
    }

    /// In minor units of the shop's currency.
    pub fn price_minor(&self, reads: &Reads) -> i64 {
        reads.shows([Tag::Price(self.product_id)]);
        self.price_minor
    }

    /// The higher price it is reduced from, if it is.
    pub fn compare_at_minor(&self, reads: &Reads) -> Option<i64> {
        reads.shows([Tag::Price(self.product_id)]);
        self.compare_at_minor
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrandView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryView {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub slug: String,
    pub name: String,
    /// The slugs from the top of the tree, joined by `/`.
    pub path: String,
}

/// One page of a listing, in listing order, each product with its cursor, and what the page shows of
/// them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductPage {
    pub products: Vec<(ProductView, ProductCursor)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub related: Related,
}

/// A product and what its page shows of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductDetail {
    pub product: ProductView,
    pub related: Related,
}

/// What a page of products shows besides the products: their variants, brands and categories (with
/// their parents), so that a cached page renders without another query.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Related {
    pub variants: HashMap<Uuid, Vec<VariantView>>,
    pub brands: Vec<BrandView>,
    pub categories: Vec<CategoryView>,
}

/// Variants with their products, archived ones too (so that a cart can say a line is unavailable).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VariantsForSale {
    pub variants: Vec<VariantView>,
    pub products: Vec<ProductView>,
}

impl VariantsForSale {
    /// The variant with `id` and whether it is on sale (its product is not archived).
    pub fn find(&self, id: Uuid) -> Option<(&VariantView, bool)> {
        let variant = self.variants.iter().find(|v| v.id == id)?;
        let on_sale = self.products.iter().any(|p| p.id == variant.product_id && !p.archived);
        Some((variant, on_sale))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facets {
    pub sizes: Vec<FacetValue>,
    pub colours: Vec<FacetValue>,
    pub brands: Vec<FacetValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacetValue {
    /// What to filter by: the size, the colour, or the brand's slug.
    pub value: String,
    /// What to show: the same, or the brand's name.
    pub label: String,
    pub count: i64,
}

impl From<product::Model> for ProductView {
    fn from(p: product::Model) -> Self {
        Self {
            id: p.id,
            slug: p.slug,
            name: p.name,
            description: p.description,
            brand_id: p.brand_id,
            category_id: p.category_id,
            material: p.material,
            care: p.care,
            images: p.images,
            created_at: p.created_at,
            updated_at: p.updated_at,
            price_from_minor: p.price_from_minor,
            archived: p.archived_at.is_some(),
        }
    }
}

impl From<variant::Model> for VariantView {
    fn from(v: variant::Model) -> Self {
        Self {
            id: v.id,
            product_id: v.product_id,
            sku: v.sku,
            size: v.size,
            colour: v.colour,
            price_minor: v.price_minor,
            compare_at_minor: v.compare_at_minor,
            stock: v.stock_on_hand,
        }
    }
}

impl From<brand::Model> for BrandView {
    fn from(b: brand::Model) -> Self {
        Self { id: b.id, slug: b.slug, name: b.name }
    }
}

impl From<category::Model> for CategoryView {
    fn from(c: category::Model) -> Self {
        Self { id: c.id, parent_id: c.parent_id, slug: c.slug, name: c.name, path: c.path }
    }
}
