//! Per-request batch loaders: every product, variant, brand and category a response needs is fetched
//! in one statement per kind, whatever the page size (no N+1).

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use infra::catalog::{BrandView, CatalogReader, CategoryView, ProductView, Related, VariantView};
use uuid::Uuid;

use crate::graphql::errors::OrGraphql;

pub type CatalogLoader = DataLoader<Catalog, HashMapCache>;

pub fn catalog_loader(reader: CatalogReader) -> CatalogLoader {
    DataLoader::with_cache(Catalog(reader), tokio::spawn, HashMapCache::default())
}

/// Loads through a reader with the request's consistency.
pub struct Catalog(CatalogReader);

/// Primes `loader` with rows already at hand (from the cache), so resolving them costs no query.
pub async fn feed(loader: &CatalogLoader, product_ids: impl Iterator<Item = Uuid>, mut related: Related) {
    let variants: Vec<_> =
        product_ids.map(|id| (VariantsOf(id), related.variants.remove(&id).unwrap_or_default())).collect();
    loader.feed_many(variants).await;
    loader.feed_many(related.brands.into_iter().map(|b| (BrandKey(b.id), b))).await;
    loader.feed_many(related.categories.into_iter().map(|c| (CategoryKey(c.id), c))).await;
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductKey(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VariantKey(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct VariantsOf(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BrandKey(pub Uuid);
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CategoryKey(pub Uuid);
/// The children of a category; `ChildrenOf(None)` are the top-level categories.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChildrenOf(pub Option<Uuid>);

/// Loads keys that name one row each by their UUIDs.
macro_rules! by_id {
    ($key:ident, $view:ty, $method:ident) => {
        impl Loader<$key> for Catalog {
            type Value = $view;
            type Error = async_graphql::Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $view>, Self::Error> {
                let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
                let found = self.0.$method(&ids).await.or_graphql()?;
                Ok(found.into_iter().map(|(id, row)| ($key(id), row)).collect())
            }
        }
    };
}

by_id!(ProductKey, ProductView, products);
by_id!(VariantKey, VariantView, variants);
by_id!(BrandKey, BrandView, brands);
by_id!(CategoryKey, CategoryView, categories);

impl Loader<VariantsOf> for Catalog {
    type Value = Vec<VariantView>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[VariantsOf]) -> Result<HashMap<VariantsOf, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let mut found = self.0.variants_of(&ids).await.or_graphql()?;
        Ok(keys.iter().map(|key| (*key, found.remove(&key.0).unwrap_or_default())).collect())
    }
}

impl Loader<ChildrenOf> for Catalog {
    type Value = Vec<CategoryView>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[ChildrenOf]) -> Result<HashMap<ChildrenOf, Self::Value>, Self::Error> {
        let parents: Vec<Option<Uuid>> = keys.iter().map(|key| key.0).collect();
        let mut found = self.0.category_children(&parents).await.or_graphql()?;
        Ok(keys.iter().map(|key| (*key, found.remove(&key.0).unwrap_or_default())).collect())
    }
}
