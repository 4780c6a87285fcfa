//! The catalogue's query side: the storefront's reads through the cache (a product with everything
//! its page shows, listing pages, totals, facets, and the variants a cart holds), each declared once
//! as a `CachedQuery`: its key, how it is read, and what it shows. A hit is one Redis round trip; a
//! miss costs a bounded number of statements and fills the cache.

use std::future::Future;
use std::sync::Arc;

use domain::listing::{ProductFilter, ProductSort};
use domain::paging::PageRequest;
use serde::Serialize;
use uuid::Uuid;

use super::cursor::ProductCursor;
use super::read_models::{Facets, ProductDetail, ProductPage, VariantsForSale};
use super::reader::CatalogReader;
use crate::cache::{CacheKey, CachedQuery, ReadCache, ReadPolicy, Reads, Tag};
use crate::db::{Consistency, DbRouter};

/// A product, by its id or its slug.
#[derive(Debug, Clone, Copy)]
pub enum ProductRef<'a> {
    Id(Uuid),
    Slug(&'a str),
}

/// A page of a listing.
#[derive(Debug, Serialize)]
pub struct Listing<'a> {
    pub filter: &'a ProductFilter,
    pub sort: ProductSort,
    pub page: &'a PageRequest,
    /// The cursor of `page`, decoded (it belongs to `sort`).
    #[serde(skip)]
    pub cursor: Option<&'a ProductCursor>,
}

pub struct CatalogQueries {
    reader: CatalogReader,
    cache: Arc<ReadCache>,
}

impl CatalogQueries {
    pub fn new(db: Arc<DbRouter>, cache: Arc<ReadCache>) -> Self {
        Self { reader: CatalogReader::new(db), cache }
    }

    /// Uncached reads with `consistency`, for the per-request loaders.
    pub fn reader(&self, consistency: Consistency) -> CatalogReader {
        self.reader.reading(consistency)
    }

    /// The page of a product on sale.
    pub async fn product(
        &self,
        by: ProductRef<'_>,
        reads: &Reads,
    ) -> Result<Option<ProductDetail>, crate::Error> {
        self.cache.fetch(&ProductQuery { reader: &self.reader, by }, reads).await
    }

    pub async fn page(&self, listing: &Listing<'_>, reads: &Reads) -> Result<ProductPage, crate::Error> {
        let fingerprint = fingerprint(listing);
        self.cache.fetch(&PageQuery { reader: &self.reader, listing, fingerprint }, reads).await
    }

    /// How many products the listing of `filter` has in all.
    pub async fn count(&self, filter: &ProductFilter, reads: &Reads) -> Result<i64, crate::Error> {
        let fingerprint = fingerprint(filter);
        self.cache.fetch(&CountQuery { reader: &self.reader, filter, fingerprint }, reads).await
    }

    pub async fn facets(&self, filter: &ProductFilter, reads: &Reads) -> Result<Facets, crate::Error> {
        let fingerprint = fingerprint(filter);
        self.cache.fetch(&FacetsQuery { reader: &self.reader, filter, fingerprint }, reads).await
    }

    /// The variants with these ids and their products, through the cache whoever asks: carts are
    /// priced from it (the write path drops an entry when a stock or price it shows changes).
    pub async fn variants_for_sale(&self, ids: &[Uuid]) -> Result<VariantsForSale, crate::Error> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let fingerprint = fingerprint(&ids);
        let query = VariantsQuery { reader: &self.reader, ids: &ids, fingerprint };
        self.cache.fetch(&query, &Reads::new(ReadPolicy::EVENTUAL)).await
    }
}

struct ProductQuery<'a> {
    reader: &'a CatalogReader,
    by: ProductRef<'a>,
}

impl CachedQuery for ProductQuery<'_> {
    type Value = Option<ProductDetail>;

    fn key(&self) -> CacheKey<'_> {
        match self.by {
            ProductRef::Id(id) => CacheKey::ProductById(id),
            ProductRef::Slug(slug) => CacheKey::ProductBySlug(slug),
        }
    }

    fn depends_on(&self, detail: &Self::Value) -> Vec<Tag> {
        detail.iter().flat_map(|detail| Tag::whole_product(detail.product.id)).collect()
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let reader = self.reader.reading(at);
        async move {
            match self.by {
                ProductRef::Id(id) => reader.detail_by_id(id).await,
                ProductRef::Slug(slug) => reader.detail_by_slug(slug).await,
            }
        }
    }
}

struct PageQuery<'a> {
    reader: &'a CatalogReader,
    listing: &'a Listing<'a>,
    fingerprint: String,
}

impl CachedQuery for PageQuery<'_> {
    type Value = ProductPage;

    fn key(&self) -> CacheKey<'_> {
        CacheKey::ListingPage(&self.fingerprint)
    }

    fn shows(&self) -> Vec<Tag> {
        listing_tags(self.listing.filter, self.listing.sort.is_by_price()).collect()
    }

    fn depends_on(&self, page: &ProductPage) -> Vec<Tag> {
        page.products.iter().flat_map(|(product, _)| Tag::whole_product(product.id)).collect()
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let reader = self.reader.reading(at);
        let Listing { filter, sort, page, cursor } = self.listing;
        async move { reader.list(filter, *sort, page, *cursor).await }
    }
}

struct CountQuery<'a> {
    reader: &'a CatalogReader,
    filter: &'a ProductFilter,
    fingerprint: String,
}

impl CachedQuery for CountQuery<'_> {
    type Value = i64;

    fn key(&self) -> CacheKey<'_> {
        CacheKey::ListingCount(&self.fingerprint)
    }

    fn shows(&self) -> Vec<Tag> {
        listing_tags(self.filter, false).collect()
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let reader = self.reader.reading(at);
        async move { reader.count(self.filter).await }
    }
}

struct FacetsQuery<'a> {
    reader: &'a CatalogReader,
    filter: &'a ProductFilter,
    fingerprint: String,
}

impl CachedQuery for FacetsQuery<'_> {
    type Value = Facets;

    fn key(&self) -> CacheKey<'_> {
        CacheKey::ListingFacets(&self.fingerprint)
    }

    fn shows(&self) -> Vec<Tag> {
        listing_tags(self.filter, false).collect()
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let reader = self.reader.reading(at);
        async move { reader.facets(self.filter).await }
    }
}

struct VariantsQuery<'a> {
    reader: &'a CatalogReader,
    ids: &'a [Uuid],
    fingerprint: String,
}

impl CachedQuery for VariantsQuery<'_> {
    type Value = VariantsForSale;

    fn key(&self) -> CacheKey<'_> {
        CacheKey::Variants(&self.fingerprint)
    }

    fn depends_on(&self, found: &VariantsForSale) -> Vec<Tag> {
        found.products.iter().flat_map(|product| Tag::whole_product(product.id)).collect()
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let reader = self.reader.reading(at);
        async move { reader.variants_for_sale(self.ids).await }
    }
}

/// Which products a listing of `filter` holds depends on stock when it keeps to what is in stock,
/// and on prices when it filters or (`by_price`) sorts by them.
fn listing_tags(filter: &ProductFilter, by_price: bool) -> impl Iterator<Item = Tag> {
    let stocked = filter.in_stock.then_some(Tag::StockedListings);
    let priced = (by_price || filter.has_price_conditions()).then_some(Tag::PricedListings);
    stocked.into_iter().chain(priced)
}

/// A short stable name for a query, from its canonical form (its values are already trimmed, sorted
/// and deduplicated by parsing, so equal queries have equal fingerprints).
fn fingerprint(query: &impl Serialize) -> String {
    let canonical =
        serde_json::to_vec(query).expect("queries serialize: they hold no maps with non-string keys");
    crate::digest::sha256_hex(&canonical, 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(in_stock: bool, max_price: Option<i64>) -> ProductFilter {
        ProductFilter { in_stock, max_price, ..ProductFilter::default() }
    }

    #[test]
    fn a_listing_depends_on_stock_and_prices_only_when_it_filters_or_sorts_by_them() {
        let tags = |filter: &ProductFilter, by_price| listing_tags(filter, by_price).collect::<Vec<_>>();
        assert_eq!(tags(&filter(false, None), false), []);
        assert_eq!(tags(&filter(true, None), false), [Tag::StockedListings]);
        assert_eq!(tags(&filter(false, Some(5000)), false), [Tag::PricedListings]);
        assert_eq!(tags(&filter(false, None), true), [Tag::PricedListings]);
        assert_eq!(tags(&filter(true, Some(1)), true), [Tag::StockedListings, Tag::PricedListings]);
    }

    #[test]
    fn equal_listings_have_equal_fingerprints_and_others_not() {
        let page = PageRequest::parse(Some(20), None, None, None).unwrap();
        let listing = |filter, sort| Listing { filter, sort, page: &page, cursor: None };
        let (plain, same, stocked) = (filter(false, None), filter(false, None), filter(true, None));
        let base = fingerprint(&listing(&plain, ProductSort::Newest));
        assert_eq!(base, fingerprint(&listing(&same, ProductSort::Newest)));
        assert_ne!(base, fingerprint(&listing(&stocked, ProductSort::Newest)));
        assert_ne!(base, fingerprint(&listing(&plain, ProductSort::Name)));
        let later = PageRequest::parse(Some(20), Some("abc".into()), None, None).unwrap();
        assert_ne!(
            base,
            fingerprint(&Listing { filter: &plain, sort: ProductSort::Newest, page: &later, cursor: None })
        );
    }
}
