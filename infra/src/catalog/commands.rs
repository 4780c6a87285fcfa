//! The catalogue's command side: administrators' writes, each one transaction on the primary that
//! says what it touched. A stock or price change touches its product (and the listings that depend
//! on stock or prices); any other change touches the catalogue as a whole.

use std::sync::Arc;

use chrono::Utc;
use domain::catalog_edit::{NamedDraft, ProductFields, VariantDraft};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbErr,
    EntityTrait, FromQueryResult, IntoActiveModel, PaginatorTrait, QueryFilter, SqlErr, Statement,
};
use uuid::Uuid;

use super::read_models::{BrandView, CategoryView, ProductView, VariantView};
use crate::db::DbRouter;
use crate::entities::{brand, category, product, variant};
use crate::write_path::{Committed, Touch, WriteTx, refused};

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

pub type Written<T> = Result<Committed<Result<T, Rejection>>, crate::Error>;

pub struct CatalogCommands {
    db: Arc<DbRouter>,
}

impl CatalogCommands {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    pub async fn create_brand(&self, draft: NamedDraft) -> Written<BrandView> {
        let brand = brand::ActiveModel {
            id: Set(Uuid::now_v7()),
            slug: Set(draft.slug.to_string()),
            name: Set(draft.name),
        };
        let tx = WriteTx::begin(&self.db).await?;
        let saved = brand.insert(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    /// A category at the top, or under the category with slug `parent`.
    pub async fn create_category(&self, draft: NamedDraft, parent: Option<&str>) -> Written<CategoryView> {
        let tx = WriteTx::begin(&self.db).await?;
        let parent = match parent {
            Some(slug) => match category_by_slug(tx.conn(), slug).await? {
                Some(parent) => Some(parent),
                None => return refused(Rejection::UnknownCategory),
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
        let saved = category.insert(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    /// Renames or moves a category among its siblings (its place in the tree stays).
    pub async fn update_category(
        &self,
        id: Uuid,
        name: Option<String>,
        position: Option<i32>,
    ) -> Written<CategoryView> {
        let tx = WriteTx::begin(&self.db).await?;
        let Some(found) = category::Entity::find_by_id(id).one(tx.conn()).await? else {
            return refused(Rejection::UnknownCategory);
        };
        let mut category = found.into_active_model();
        if let Some(name) = name {
            category.name = Set(name);
        }
        if let Some(position) = position {
            category.position = Set(position);
        }
        let saved = category.update(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    pub async fn create_product(
        &self,
        fields: ProductFields,
        brand: &str,
        category: &str,
    ) -> Written<ProductView> {
        let tx = WriteTx::begin(&self.db).await?;
        let Some(brand) = brand_id(tx.conn(), brand).await? else { return refused(Rejection::UnknownBrand) };
        let Some(category) = category_by_slug(tx.conn(), category).await?.map(|c| c.id) else {
            return refused(Rejection::UnknownCategory);
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
        let saved = product.insert(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    /// Changes the given fields of a product; `brand` and `category` are slugs.
    pub async fn update_product(
        &self,
        id: Uuid,
        fields: ProductFields,
        brand: Option<&str>,
        category: Option<&str>,
    ) -> Written<ProductView> {
        let tx = WriteTx::begin(&self.db).await?;
        let Some(found) = product::Entity::find_by_id(id).one(tx.conn()).await? else {
            return refused(Rejection::UnknownProduct);
        };
        let brand = match brand {
            Some(slug) => match brand_id(tx.conn(), slug).await? {
                Some(id) => Some(id),
                None => return refused(Rejection::UnknownBrand),
            },
            None => None,
        };
        let category = match category {
            Some(slug) => match category_by_slug(tx.conn(), slug).await? {
                Some(found) => Some(found.id),
                None => return refused(Rejection::UnknownCategory),
            },
            None => None,
        };
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
        let saved = product.update(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    /// Takes a product off sale: it is no longer listed or found, and its variants cannot be bought.
    pub async fn archive_product(&self, id: Uuid) -> Written<ProductView> {
        let tx = WriteTx::begin(&self.db).await?;
        let Some(found) = product::Entity::find_by_id(id).one(tx.conn()).await? else {
            return refused(Rejection::UnknownProduct);
        };
        let mut product = found.into_active_model();
        let now = Utc::now().fixed_offset();
        product.archived_at = Set(Some(now));
        product.updated_at = Set(now);
        let saved = product.update(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    pub async fn add_variant(&self, product_id: Uuid, draft: VariantDraft) -> Written<VariantView> {
        let tx = WriteTx::begin(&self.db).await?;
        if product::Entity::find_by_id(product_id).one(tx.conn()).await?.is_none() {
            return refused(Rejection::UnknownProduct);
        }
        let position = variant::Entity::find()
            .filter(variant::Column::ProductId.eq(product_id))
            .count(tx.conn())
            .await?;
        let now = Utc::now().fixed_offset();
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
        let saved = variant.insert(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    /// Changes a variant's SKU, size or colour (`None` keeps each).
    pub async fn update_variant(
        &self,
        id: Uuid,
        sku: Option<String>,
        size: Option<String>,
        colour: Option<String>,
    ) -> Written<VariantView> {
        let tx = WriteTx::begin(&self.db).await?;
        let Some(found) = variant::Entity::find_by_id(id).one(tx.conn()).await? else {
            return refused(Rejection::UnknownVariant);
        };
        let mut variant = found.into_active_model();
        if let Some(sku) = sku {
            variant.sku = Set(sku);
        }
        if let Some(size) = size {
            variant.size = Set(size);
        }
        if let Some(colour) = colour {
            variant.colour = Set(colour);
        }
        variant.updated_at = Set(Utc::now().fixed_offset());
        let saved = variant.update(tx.conn()).await;
        commit_catalog(tx, saved).await
    }

    pub async fn set_price(
        &self,
        id: Uuid,
        price_minor: i64,
        compare_at_minor: Option<i64>,
    ) -> Written<VariantView> {
        let mut tx = WriteTx::begin(&self.db).await?;
        let Some(found) = variant::Entity::find_by_id(id).one(tx.conn()).await? else {
            return refused(Rejection::UnknownVariant);
        };
        let product = found.product_id;
        let mut variant = found.into_active_model();
        variant.price_minor = Set(price_minor);
        variant.compare_at_minor = Set(compare_at_minor);
        variant.updated_at = Set(Utc::now().fixed_offset());
        let variant = variant.update(tx.conn()).await?;
        tx.touch(Touch::Price { variant: id, product });
        tx.commit(Ok(variant.into())).await
    }

    /// Adds `delta` (negative to remove) to a variant's stock, atomically and never below zero.
    pub async fn adjust_stock(&self, id: Uuid, delta: i32) -> Written<VariantView> {
        let statement = Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "UPDATE variants SET stock_on_hand = stock_on_hand + $2, updated_at = now() \
             WHERE id = $1 AND stock_on_hand + $2 >= 0 RETURNING *",
            [id.into(), delta.into()],
        );
        let mut tx = WriteTx::begin(&self.db).await?;
        let Some(row) = tx.conn().query_one_raw(statement).await? else {
            let exists = variant::Entity::find_by_id(id).one(tx.conn()).await?.is_some();
            return refused(if exists { Rejection::InsufficientStock } else { Rejection::UnknownVariant });
        };
        let variant = variant::Model::from_query_result(&row, "")?;
        let before = variant.stock_on_hand - delta;
        let crossed_zero = (before > 0) != (variant.stock_on_hand > 0);
        tx.touch(Touch::Stock { variant: id, product: variant.product_id, crossed_zero });
        tx.commit(Ok(variant.into())).await
    }
}

/// Commits a change of the catalogue that saved `saved`, or refuses it when it broke a unique
/// constraint.
async fn commit_catalog<M, V: From<M>>(mut tx: WriteTx, saved: Result<M, DbErr>) -> Written<V> {
    match unique(saved)? {
        Ok(model) => {
            tx.touch(Touch::Catalog);
            tx.commit(Ok(model.into())).await
        }
        Err(rejection) => refused(rejection),
    }
}

async fn category_by_slug(txn: &DatabaseTransaction, slug: &str) -> Result<Option<category::Model>, DbErr> {
    category::Entity::find().filter(category::Column::Slug.eq(slug)).one(txn).await
}

async fn brand_id(txn: &DatabaseTransaction, slug: &str) -> Result<Option<Uuid>, DbErr> {
    Ok(brand::Entity::find().filter(brand::Column::Slug.eq(slug)).one(txn).await?.map(|b| b.id))
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
