//! The storefront's catalogue reads through the cache: a product with everything its page shows, and
//! listing pages, totals and facets. A hit is one Redis round trip; a miss costs a bounded number of
//! statements and fills the cache. A read that must see the caller's own writes skips the cache.

use std::sync::Arc;

use domain::listing::{ProductFilter, ProductSort};
use domain::paging::PageRequest;
use uuid::Uuid;

use super::cursor::ProductCursor;
use super::{CatalogRepository, Facets, ProductDetail, ProductPage, VariantsForSale};
use crate::cache::{CacheKey, ReadCache};
use crate::db::Consistency;

pub struct CachedCatalog {
    catalog: Arc<CatalogRepository>,
    cache: Arc<ReadCache>,
}

impl CachedCatalog {
    pub fn new(catalog: Arc<CatalogRepository>, cache: Arc<ReadCache>) -> Self {
        Self { catalog, cache }
    }

    pub fn cache(&self) -> &ReadCache {
        &self.cache
    }

    pub async fn product_by_slug(
        &self,
        slug: &str,
        at: &Consistency,
    ) -> Result<Option<ProductDetail>, crate::Error> {
        match at {
            Consistency::Eventual => {
                let load = |at| async move { detail_by_slug(&self.catalog.reading(at), slug).await };
                self.cache.get_or_load(CacheKey::ProductBySlug(slug), load).await
            }
            _ => detail_by_slug(&self.catalog.reading(at.clone()), slug).await,
        }
    }

    pub async fn product_by_id(
        &self,
        id: Uuid,
        at: &Consistency,
    ) -> Result<Option<ProductDetail>, crate::Error> {
        match at {
            Consistency::Eventual => {
                let load = |at| async move { detail_by_id(&self.catalog.reading(at), id).await };
                self.cache.get_or_load(CacheKey::ProductById(id), load).await
            }
            _ => detail_by_id(&self.catalog.reading(at.clone()), id).await,
        }
    }

    pub async fn list(
        &self,
        filter: &ProductFilter,
        sort: ProductSort,
        page: &PageRequest,
        cursor: Option<&ProductCursor>,
        at: &Consistency,
    ) -> Result<ProductPage, crate::Error> {
        if *at != Consistency::Eventual {
            return self.catalog.reading(at.clone()).list(filter, sort, page, cursor).await;
        }
        let fingerprint = fingerprint(&format!("{filter:?}|{sort:?}|{page:?}"));
        let load = |at| async move { self.catalog.reading(at).list(filter, sort, page, cursor).await };
        self.cache.get_or_load(CacheKey::ListingPage(&fingerprint), load).await
    }

    pub async fn count(&self, filter: &ProductFilter, at: &Consistency) -> Result<i64, crate::Error> {
        if *at != Consistency::Eventual {
            return self.catalog.reading(at.clone()).count(filter).await;
        }
        let fingerprint = fingerprint(&format!("{filter:?}"));
        let load = |at| async move { self.catalog.reading(at).count(filter).await };
        self.cache.get_or_load(CacheKey::ListingCount(&fingerprint), load).await
    }

    pub async fn facets(&self, filter: &ProductFilter, at: &Consistency) -> Result<Facets, crate::Error> {
        if *at != Consistency::Eventual {
            return self.catalog.reading(at.clone()).facets(filter).await;
        }
        let fingerprint = fingerprint(&format!("{filter:?}"));
        let load = |at| async move { self.catalog.reading(at).facets(filter).await };
        self.cache.get_or_load(CacheKey::ListingFacets(&fingerprint), load).await
    }
}

impl CachedCatalog {
    /// The variants with these ids and their products, cached per set of ids (a cart's contents).
    pub async fn variants_for_sale(&self, ids: &[Uuid]) -> Result<VariantsForSale, crate::Error> {
        let mut ids = ids.to_vec();
        ids.sort();
        ids.dedup();
        let fingerprint = fingerprint(&format!("{ids:?}"));
        let load = |at| {
            let ids = ids.clone();
            async move { self.catalog.reading(at).variants_for_sale(&ids).await }
        };
        self.cache.get_or_load(CacheKey::Variants(&fingerprint), load).await
    }
}

async fn detail_by_slug(
    catalog: &CatalogRepository,
    slug: &str,
) -> Result<Option<ProductDetail>, crate::Error> {
    match catalog.product_by_slug(slug).await? {
        Some(product) => Ok(Some(catalog.detail(product).await?)),
        None => Ok(None),
    }
}

async fn detail_by_id(catalog: &CatalogRepository, id: Uuid) -> Result<Option<ProductDetail>, crate::Error> {
    match catalog.products(&[id]).await?.remove(&id) {
        Some(product) => Ok(Some(catalog.detail(product).await?)),
        None => Ok(None),
    }
}

/// A short stable name for a normalised query (its values are already trimmed, sorted and deduplicated
/// by parsing, so equal queries have equal fingerprints).
fn fingerprint(normalised: &str) -> String {
    crate::digest::sha256_hex(normalised.as_bytes(), 16)
}
