//! Administrative writes to the catalogue, on the primary only. After each write commits, the catalogue
//! cache moves to a new generation (and the entries of the written product are deleted), so no reader
//! is served what the write changed from the cache.

use std::sync::Arc;

use chrono::Utc;
use domain::catalog_edit::{NamedDraft, ProductFields, VariantDraft};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, SqlErr, Statement,
};
use uuid::Uuid;

use crate::cache::{CacheKey, ReadCache, Scope};
use crate::db::DbRouter;
use crate::entities::{brand, category, product, variant};

/// Why a well-formed write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    SlugTaken,
    SkuTaken,
    /// The product already has a variant of this size and colour.
    VariantTaken,
    UnknownBrand,
    UnknownCategory,
    UnknownProduct,
    UnknownVariant,
    /// The adjustment would take stock below zero.
    InsufficientStock,
}

pub type Written<T> = Result<Result<T, Rejection>, crate::Error>;

pub struct CatalogWriter {
    db: Arc<DbRouter>,
    cache: Arc<ReadCache>,
}

impl CatalogWriter {
    pub fn new(db: Arc<DbRouter>, cache: Arc<ReadCache>) -> Self {
        Self { db, cache }
    }

    pub async fn create_brand(&self, draft: NamedDraft) -> Written<brand::Model> {
        let brand = brand::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(draft.slug.to_string()),
            name: Set(draft.name),
        };
        let written = unique(brand.insert(self.db.write()).await)?;
        self.invalidate(&[]).await;
        Ok(written)
    }

    /// A category at the top, or under the category with slug `parent`.
    pub async fn create_category(&self, draft: NamedDraft, parent: Option<&str>) -> Written<category::Model> {
        let parent = match parent {
            Some(slug) => match self.category_by_slug(slug).await? {
                Some(parent) => Some(parent),
                None => return Ok(Err(Rejection::UnknownCategory)),
            },
            None => None,
        };
        let category = category::ActiveModel {
            id: Set(Uuid::now_v7()),
            parent_id: Set(parent.as_ref().map(|p| p.id)),
            path: Set(match &parent {
                Some(parent) => format!("{}/{}", parent.path, draft.slug),
                None => draft.slug.to_string(),
            }),
            slug: Set(draft.slug.to_string()),
            name: Set(draft.name),
            position: Set(0),
        };
        let written = unique(category.insert(self.db.write()).await)?;
        self.invalidate(&[]).await;
        Ok(written)
    }

    /// Renames or moves a category among its siblings (its place in the tree stays).
    pub async fn update_category(
        &self,
        id: Uuid,
        name: Option<String>,
        position: Option<i32>,
    ) -> Written<category::Model> {
        let Some(found) = category::Entity::find_by_id(id).one(self.db.write()).await? else {
            return Ok(Err(Rejection::UnknownCategory));
        };
        let mut category = found.into_active_model();
        if let Some(name) = name {
            category.name = Set(name);
        }
        if let Some(position) = position {
            category.position = Set(position);
        }
        let written = category.update(self.db.write()).await?;
        self.invalidate(&[]).await;
        Ok(Ok(written))
    }

    pub async fn create_product(
        &self,
        fields: ProductFields,
        brand: &str,
        category: &str,
    ) -> Written<product::Model> {
        let Some(brand) = self.brand_id(brand).await? else { return Ok(Err(Rejection::UnknownBrand)) };
        let Some(category) = self.category_by_slug(category).await?.map(|c| c.id) else {
            return Ok(Err(Rejection::UnknownCategory));
        };
        let now = Utc::now().fixed_offset();
        let product = product::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(fields.slug.map(|s| s.to_string()).unwrap_or_default()),
            name: Set(fields.name.unwrap_or_default()),
            description: Set(fields.description.unwrap_or_default()),
            brand_id: Set(brand),
            category_id: Set(category),
            material: Set(fields.material.filter(|m| !m.is_empty())),
            care: Set(fields.care.filter(|c| !c.is_empty())),
            images: Set(fields.images.unwrap_or_default()),
            created_at: Set(now),
            updated_at: Set(now),
            archived_at: Set(None),
            price_from_minor: sea_orm::NotSet,
        };
        let written = unique(product.insert(self.db.write()).await)?;
        self.invalidate(&[]).await;
        Ok(written)
    }

    /// Changes the given fields of a product; `brand` and `category` are slugs.
    pub async fn update_product(
        &self,
        id: Uuid,
        fields: ProductFields,
        brand: Option<&str>,
        category: Option<&str>,
    ) -> Written<product::Model> {
        let Some(found) = product::Entity::find_by_id(id).one(self.db.write()).await? else {
            return Ok(Err(Rejection::UnknownProduct));
        };
        let brand = match brand {
            Some(slug) => match self.brand_id(slug).await? {
                Some(id) => Some(id),
                None => return Ok(Err(Rejection::UnknownBrand)),
            },
            None => None,
        };
        let category = match category {
            Some(slug) => match self.category_by_slug(slug).await? {
                Some(found) => Some(found.id),
                None => return Ok(Err(Rejection::UnknownCategory)),
            },
            None => None,
        };
        let old_slug = found.slug.clone();
        let mut product = found.into_active_model();
        if let Some(name) = fields.name {
            product.name = Set(name);
        }
        if let Some(slug) = fields.slug {
            product.slug = Set(slug.to_string());
        }
        if let Some(description) = fields.description {
            product.description = Set(description);
        }
        if let Some(material) = fields.material {
            product.material = Set(Some(material).filter(|m| !m.is_empty()));
        }
        if let Some(care) = fields.care {
            product.care = Set(Some(care).filter(|c| !c.is_empty()));
        }
        if let Some(images) = fields.images {
            product.images = Set(images);
        }
        if let Some(brand) = brand {
            product.brand_id = Set(brand);
        }
        if let Some(category) = category {
            product.category_id = Set(category);
        }
        product.updated_at = Set(Utc::now().fixed_offset());
        let written = unique(product.update(self.db.write()).await)?;
        if let Ok(product) = &written {
            self.invalidate_product(product, Some(&old_slug)).await;
        }
        Ok(written)
    }

    /// Takes a product off sale: it is no longer listed or found, and its variants cannot be bought.
    pub async fn archive_product(&self, id: Uuid) -> Written<product::Model> {
        let Some(found) = product::Entity::find_by_id(id).one(self.db.write()).await? else {
            return Ok(Err(Rejection::UnknownProduct));
        };
        let mut product = found.into_active_model();
        let now = Utc::now().fixed_offset();
        product.archived_at = Set(Some(now));
        product.updated_at = Set(now);
        let written = product.update(self.db.write()).await?;
        self.invalidate_product(&written, None).await;
        Ok(Ok(written))
    }

    pub async fn add_variant(&self, product_id: Uuid, draft: VariantDraft) -> Written<variant::Model> {
        let Some(product) = product::Entity::find_by_id(product_id).one(self.db.write()).await? else {
            return Ok(Err(Rejection::UnknownProduct));
        };
        let now = Utc::now().fixed_offset();
        let position = variant::Entity::find()
            .filter(variant::Column::ProductId.eq(product_id))
            .all(self.db.write())
            .await?
            .len();
        let variant = variant::ActiveModel {
            id: Set(Uuid::now_v7()),
            product_id: Set(product_id),
            sku: Set(draft.sku.to_string()),
            size: Set(draft.size),
            colour: Set(draft.colour),
            price_minor: Set(draft.price_minor),
            compare_at_minor: Set(draft.compare_at_minor),
            stock_on_hand: Set(draft.stock),
            position: Set(position as i32),
            created_at: Set(now),
            updated_at: Set(now),
        };
        let written = unique(variant.insert(self.db.write()).await)?;
        self.invalidate_product(&product, None).await;
        Ok(written)
    }

    /// Changes a variant's SKU, size or colour (`None` keeps each).
    pub async fn update_variant(
        &self,
        id: Uuid,
        sku: Option<String>,
        size: Option<String>,
        colour: Option<String>,
    ) -> Written<variant::Model> {
        self.change_variant(id, |variant| {
            if let Some(sku) = sku {
                variant.sku = Set(sku);
            }
            if let Some(size) = size {
                variant.size = Set(size);
            }
            if let Some(colour) = colour {
                variant.colour = Set(colour);
            }
        })
        .await
    }

    pub async fn set_price(
        &self,
        id: Uuid,
        price_minor: i64,
        compare_at_minor: Option<i64>,
    ) -> Written<variant::Model> {
        self.change_variant(id, |variant| {
            variant.price_minor = Set(price_minor);
            variant.compare_at_minor = Set(compare_at_minor);
        })
        .await
    }

    /// Adds `delta` (negative to remove) to a variant's stock, atomically and never below zero.
    pub async fn adjust_stock(&self, id: Uuid, delta: i32) -> Written<variant::Model> {
        let statement = Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "UPDATE variants SET stock_on_hand = stock_on_hand + $2, updated_at = now() \
             WHERE id = $1 AND stock_on_hand + $2 >= 0 RETURNING *",
            [id.into(), delta.into()],
        );
        let Some(row) = self.db.write().query_one_raw(statement).await? else {
            let exists = variant::Entity::find_by_id(id).one(self.db.write()).await?.is_some();
            return Ok(Err(if exists { Rejection::InsufficientStock } else { Rejection::UnknownVariant }));
        };
        let variant = variant::Model::from_query_result(&row, "")?;
        self.invalidate_variant(&variant).await?;
        Ok(Ok(variant))
    }

    async fn change_variant(
        &self,
        id: Uuid,
        change: impl FnOnce(&mut variant::ActiveModel),
    ) -> Written<variant::Model> {
        let Some(found) = variant::Entity::find_by_id(id).one(self.db.write()).await? else {
            return Ok(Err(Rejection::UnknownVariant));
        };
        let mut variant = found.into_active_model();
        change(&mut variant);
        variant.updated_at = Set(Utc::now().fixed_offset());
        let written = unique(variant.update(self.db.write()).await)?;
        if let Ok(variant) = &written {
            self.invalidate_variant(variant).await?;
        }
        Ok(written)
    }

    async fn category_by_slug(&self, slug: &str) -> Result<Option<category::Model>, DbErr> {
        category::Entity::find().filter(category::Column::Slug.eq(slug)).one(self.db.write()).await
    }

    async fn brand_id(&self, slug: &str) -> Result<Option<Uuid>, DbErr> {
        Ok(brand::Entity::find()
            .filter(brand::Column::Slug.eq(slug))
            .one(self.db.write())
            .await?
            .map(|b| b.id))
    }

    async fn invalidate_variant(&self, variant: &variant::Model) -> Result<(), crate::Error> {
        match product::Entity::find_by_id(variant.product_id).one(self.db.write()).await? {
            Some(product) => self.invalidate_product(&product, None).await,
            None => self.invalidate(&[]).await,
        }
        Ok(())
    }

    async fn invalidate_product(&self, product: &product::Model, old_slug: Option<&str>) {
        let mut keys = vec![CacheKey::ProductById(product.id), CacheKey::ProductBySlug(&product.slug)];
        keys.extend(old_slug.map(CacheKey::ProductBySlug));
        self.invalidate(&keys).await;
    }

    /// A new cache generation, filled only from data at least as new as this write. When Redis is
    /// down nothing is served from the cache, and entries written before the outage expire within
    /// their TTL.
    async fn invalidate(&self, keys: &[CacheKey<'_>]) {
        let invalidated = match self.db.write_position().await {
            Ok(position) => self.cache.invalidate(Scope::Catalog, keys, &position).await.map(drop),
            Err(err) => Err(err.into()),
        };
        if let Err(err) = invalidated {
            tracing::warn!(error = %err, "the catalogue cache could not be invalidated");
        }
    }
}

/// The outcome of an insert or update whose only expected failure is a unique constraint.
fn unique<T>(result: Result<T, DbErr>) -> Result<Result<T, Rejection>, crate::Error> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(err) => match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(message)) if message.contains("sku") => {
                Ok(Err(Rejection::SkuTaken))
            }
            Some(SqlErr::UniqueConstraintViolation(message)) if message.contains("size_colour") => {
                Ok(Err(Rejection::VariantTaken))
            }
            Some(SqlErr::UniqueConstraintViolation(_)) => Ok(Err(Rejection::SlugTaken)),
            _ => Err(err.into()),
        },
    }
}
