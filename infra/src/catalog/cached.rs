//! The storefront's catalogue reads through the cache: a product with everything its page shows, and
//! listing pages, totals and facets. A hit is one Redis round trip; a miss costs a bounded number of
//! statements and fills the cache.

use std::sync::Arc;

use domain::listing::{ProductFilter, ProductSort};
use domain::paging::PageRequest;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::cursor::ProductCursor;
use super::{CatalogRepository, Facets, ProductDetail, ProductPage};
use crate::cache::{CacheKey, CatalogCache};

pub struct CachedCatalog {
    catalog: Arc<CatalogRepository>,
    cache: CatalogCache,
}

impl CachedCatalog {
    pub fn new(catalog: Arc<CatalogRepository>, cache: CatalogCache) -> Self {
        Self { catalog, cache }
    }

    pub fn cache(&self) -> &CatalogCache {
        &self.cache
    }

    pub async fn product_by_slug(&self, slug: &str) -> Result<Option<ProductDetail>, crate::Error> {
        self.cache
            .get_or_load(CacheKey::ProductBySlug(slug), || async {
                match self.catalog.product_by_slug(slug).await? {
                    Some(product) => Ok(Some(self.catalog.detail(product).await?)),
                    None => Ok(None),
                }
            })
            .await
    }

    pub async fn product_by_id(&self, id: Uuid) -> Result<Option<ProductDetail>, crate::Error> {
        self.cache
            .get_or_load(CacheKey::ProductById(id), || async {
                match self.catalog.products(&[id]).await?.remove(&id) {
                    Some(product) => Ok(Some(self.catalog.detail(product).await?)),
                    None => Ok(None),
                }
            })
            .await
    }

    pub async fn list(
        &self,
        filter: &ProductFilter,
        sort: ProductSort,
        page: &PageRequest,
        cursor: Option<&ProductCursor>,
    ) -> Result<ProductPage, crate::Error> {
        let fingerprint = fingerprint(&format!("{filter:?}|{sort:?}|{page:?}"));
        self.cache
            .get_or_load(CacheKey::ListingPage(&fingerprint), || {
                self.catalog.list(filter, sort, page, cursor)
            })
            .await
    }

    pub async fn count(&self, filter: &ProductFilter) -> Result<i64, crate::Error> {
        let fingerprint = fingerprint(&format!("{filter:?}"));
        self.cache.get_or_load(CacheKey::ListingCount(&fingerprint), || self.catalog.count(filter)).await
    }

    pub async fn facets(&self, filter: &ProductFilter) -> Result<Facets, crate::Error> {
        let fingerprint = fingerprint(&format!("{filter:?}"));
        self.cache.get_or_load(CacheKey::ListingFacets(&fingerprint), || self.catalog.facets(filter)).await
    }
}

/// A short stable name for a normalised query (its values are already trimmed, sorted and deduplicated
/// by parsing, so equal queries have equal fingerprints).
fn fingerprint(normalised: &str) -> String {
    Sha256::digest(normalised.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
}
