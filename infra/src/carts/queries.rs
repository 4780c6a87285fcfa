//! The carts' query side: a cart as the shopper sees it, each stored line priced from the live
//! catalogue (through the cache) with what the shopper should know about it.

use std::sync::Arc;

use domain::cart::{CartOwner, LineState, LineWarning, warnings};
use domain::discount::{Code, LineOf};

use super::store::{CartStore, StoredCart};
use crate::cache::Reads;
use crate::catalog::{CatalogQueries, ProductView, VariantView, VariantsForSale};

/// A priced cart. Lines whose product was taken off sale stay, unavailable, and count towards
/// nothing.
#[derive(Debug, Default)]
pub struct PricedCart {
    pub lines: Vec<PricedLine>,
    /// The products of the lines, on sale, for whatever else the cart shows of them.
    pub products: Vec<ProductView>,
    /// The discount code applied to it.
    pub discount_code: Option<Code>,
}

impl PricedCart {
    /// The lines that can be bought, as a discount code sees them.
    pub fn lines_for_discount(&self, reads: &Reads) -> Vec<LineOf> {
        self.lines
            .iter()
            .filter(|line| line.available)
            .filter_map(|line| {
                let product = self.products.iter().find(|product| product.id == line.variant.product_id)?;
                Some(LineOf {
                    total_minor: line.total_minor(reads),
                    brand: product.brand_id,
                    category: product.category_id,
                })
            })
            .collect()
    }
}

#[derive(Debug)]
pub struct PricedLine {
    pub variant: VariantView,
    pub quantity: u32,
    pub available: bool,
    pub warnings: Vec<LineWarning>,
}

impl PricedLine {
    /// At today's price.
    pub fn total_minor(&self, reads: &Reads) -> i64 {
        self.variant.price_minor(reads) * i64::from(self.quantity)
    }
}

pub struct CartQueries {
    store: Arc<CartStore>,
    catalog: Arc<CatalogQueries>,
}

impl CartQueries {
    pub fn new(store: Arc<CartStore>, catalog: Arc<CatalogQueries>) -> Self {
        Self { store, catalog }
    }

    pub async fn get(&self, owner: &CartOwner) -> Result<StoredCart, crate::Error> {
        self.store.get(owner).await
    }

    /// `stored` priced with one cached catalogue read for all its variants; with `read`, a read of a
    /// moment ago (by the change that made `stored`), when it has every one of them.
    pub async fn price(
        &self,
        stored: StoredCart,
        read: Option<VariantsForSale>,
    ) -> Result<PricedCart, crate::Error> {
        if stored.lines.is_empty() {
            return Ok(PricedCart { discount_code: stored.discount_code, ..PricedCart::default() });
        }
        let has_every_line =
            |read: &VariantsForSale| stored.lines.iter().all(|line| read.find(line.variant_id).is_some());
        let for_sale = match read.filter(has_every_line) {
            Some(read) => read,
            None => {
                let ids: Vec<_> = stored.lines.iter().map(|line| line.variant_id).collect();
                self.catalog.variants_for_sale(&ids).await?
            }
        };
        let lines = stored
            .lines
            .into_iter()
            .filter_map(|line| {
                let (variant, available) = for_sale.find(line.variant_id)?;
                let variant = variant.clone();
                let state = LineState {
                    quantity: line.quantity,
                    available,
                    stock: variant.stock.max(0) as u32,
                    price_now: variant.price_minor,
                    price_when_added: line.price_when_added,
                };
                Some(PricedLine { warnings: warnings(&state), variant, quantity: line.quantity, available })
            })
            .collect();
        let products = for_sale.products.into_iter().filter(|p| !p.archived).collect();
        Ok(PricedCart { lines, products, discount_code: stored.discount_code })
    }
}
