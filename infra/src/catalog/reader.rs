//! The catalogue's reads from the database, at a given consistency, as read models: listings with
//! keyset pagination, totals and facets, product pages, and batched look-ups for the per-request
//! loaders. Every read goes through `DbRouter::read_at`.

use std::collections::HashMap;
use std::sync::Arc;

use domain::catalog::size_order;
use domain::listing::{ProductFilter, ProductSort};
use domain::paging::{Direction, PageRequest};
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder, Statement,
};
use uuid::Uuid;

use super::cursor::ProductCursor;
use super::listing;
use super::read_models::{
    BrandView, CategoryView, FacetValue, Facets, ProductDetail, ProductPage, ProductView, Related,
    VariantView, VariantsForSale,
};
use crate::db::{Consistency, DbRouter};
use crate::entities::{brand, category, product, variant};

pub struct CatalogReader {
    db: Arc<DbRouter>,
    consistency: Consistency,
}

impl CatalogReader {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db, consistency: Consistency::Eventual }
    }

    /// The same reader, reading with `consistency`.
    pub fn reading(&self, consistency: Consistency) -> Self {
        Self { db: self.db.clone(), consistency }
    }

    /// A page of listed products (not archived, with at least one variant) matching `filter`, sorted by
    /// the effective `sort`, continuing `cursor` if given (which must belong to that sort).
    pub async fn list(
        &self,
        filter: &ProductFilter,
        sort: ProductSort,
        page: &PageRequest,
        cursor: Option<&ProductCursor>,
    ) -> Result<ProductPage, crate::Error> {
        let rows = self.all(listing::page(filter, sort, page, cursor)).await?;
        let has_more = rows.len() > page.size as usize;
        let mut products = rows
            .iter()
            .take(page.size as usize)
            .map(|row| {
                let product = ProductView::from(product::Model::from_query_result(row, "")?);
                let cursor = cursor_of(sort, &product, row)?;
                Ok((product, cursor))
            })
            .collect::<Result<Vec<_>, DbErr>>()?;
        let continues = cursor.is_some();
        let (has_next_page, has_previous_page) = match page.direction {
            Direction::Forward => (has_more, continues),
            Direction::Backward => {
                products.reverse();
                (continues, has_more)
            }
        };
        let related = self.related(products.iter().map(|(product, _)| product)).await?;
        Ok(ProductPage { products, has_next_page, has_previous_page, related })
    }

    /// The page of the product with `slug`, if it is on sale.
    pub async fn detail_by_slug(&self, slug: &str) -> Result<Option<ProductDetail>, crate::Error> {
        match self.product_by_slug(slug).await? {
            Some(product) => Ok(Some(self.detail(product).await?)),
            None => Ok(None),
        }
    }

    /// The page of the product with `id`, if it is on sale.
    pub async fn detail_by_id(&self, id: Uuid) -> Result<Option<ProductDetail>, crate::Error> {
        match self.products(&[id]).await?.remove(&id) {
            Some(product) => Ok(Some(self.detail(product).await?)),
            None => Ok(None),
        }
    }

    /// `product` with its variants, brand and category.
    async fn detail(&self, product: ProductView) -> Result<ProductDetail, crate::Error> {
        let related = self.related(std::iter::once(&product)).await?;
        Ok(ProductDetail { product, related })
    }

    /// The variants, brands and categories (with parents) of `products`: at most four statements.
    async fn related<'a>(
        &self,
        products: impl Iterator<Item = &'a ProductView>,
    ) -> Result<Related, crate::Error> {
        let products: Vec<&ProductView> = products.collect();
        if products.is_empty() {
            return Ok(Related::default());
        }
        let ids: Vec<Uuid> = products.iter().map(|p| p.id).collect();
        let brand_ids: Vec<Uuid> = products.iter().map(|p| p.brand_id).collect();
        let category_ids: Vec<Uuid> = products.iter().map(|p| p.category_id).collect();
        let (variants, brands, categories) = tokio::try_join!(
            self.variants_of(&ids),
            self.brands(&brand_ids),
            self.categories_with_parents(&category_ids)
        )?;
        Ok(Related { variants, brands: brands.into_values().collect(), categories })
    }

    /// How many products the listing of `filter` has in all.
    pub async fn count(&self, filter: &ProductFilter) -> Result<i64, crate::Error> {
        let rows = self.all(listing::count(filter)).await?;
        let row = rows.first().ok_or_else(|| anyhow::anyhow!("count(*) returned no row"))?;
        Ok(row.try_get("", "count")?)
    }

    pub async fn facets(&self, filter: &ProductFilter) -> Result<Facets, crate::Error> {
        let mut facets = Facets::default();
        for row in self.all(listing::facets(filter)).await? {
            let facet: String = row.try_get("", "facet")?;
            let value = FacetValue {
                value: row.try_get("", "value")?,
                label: row.try_get("", "label")?,
                count: row.try_get("", "count")?,
            };
            match facet.as_str() {
                "size" => facets.sizes.push(value),
                "colour" => facets.colours.push(value),
                _ => facets.brands.push(value),
            }
        }
        facets.sizes.sort_by(|a, b| size_order(&a.value, &b.value));
        Ok(facets)
    }

    /// Products that are not archived, by id.
    pub async fn products(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, ProductView>, crate::Error> {
        let found = self.find_in::<product::Entity>(product::Column::Id, ids).await?;
        Ok(found.into_iter().filter(|p| p.archived_at.is_none()).map(|p| (p.id, p.into())).collect())
    }

    /// A product that is not archived, by slug.
    async fn product_by_slug(&self, slug: &str) -> Result<Option<ProductView>, crate::Error> {
        let slug = slug.to_owned();
        let found = self
            .db
            .read_at(&self.consistency, |db| {
                let slug = slug.clone();
                async move {
                    product::Entity::find()
                        .filter(product::Column::Slug.eq(slug))
                        .filter(product::Column::ArchivedAt.is_null())
                        .one(&db)
                        .await
                }
            })
            .await?;
        Ok(found.map(ProductView::from))
    }

    /// The variants of each product, in their display order.
    pub async fn variants_of(
        &self,
        product_ids: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<VariantView>>, crate::Error> {
        let ids = product_ids.to_vec();
        let variants = self
            .db
            .read_at(&self.consistency, |db| {
                let ids = ids.clone();
                async move {
                    variant::Entity::find()
                        .filter(variant::Column::ProductId.is_in(ids))
                        .order_by_asc(variant::Column::ProductId)
                        .order_by_asc(variant::Column::Position)
                        .all(&db)
                        .await
                }
            })
            .await?;
        let mut by_product: HashMap<Uuid, Vec<VariantView>> = HashMap::new();
        for variant in variants {
            by_product.entry(variant.product_id).or_default().push(variant.into());
        }
        Ok(by_product)
    }

    pub async fn variants(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, VariantView>, crate::Error> {
        let found = self.find_in::<variant::Entity>(variant::Column::Id, ids).await?;
        Ok(found.into_iter().map(|v| (v.id, v.into())).collect())
    }

    pub async fn brands(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, BrandView>, crate::Error> {
        let found = self.find_in::<brand::Entity>(brand::Column::Id, ids).await?;
        Ok(found.into_iter().map(|b| (b.id, b.into())).collect())
    }

    pub async fn categories(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, CategoryView>, crate::Error> {
        let found = self.find_in::<category::Entity>(category::Column::Id, ids).await?;
        Ok(found.into_iter().map(|c| (c.id, c.into())).collect())
    }

    /// The variants with these ids and their products, archived or not, in one statement.
    pub async fn variants_for_sale(&self, ids: &[Uuid]) -> Result<VariantsForSale, crate::Error> {
        let ids = ids.to_vec();
        let found = self
            .db
            .read_at(&self.consistency, |db| {
                let ids = ids.clone();
                async move {
                    let with_products = variant::Entity::find().find_also_related(product::Entity);
                    with_products.filter(variant::Column::Id.is_in(ids)).all(&db).await
                }
            })
            .await?;
        let mut products: Vec<ProductView> = Vec::new();
        let mut variants = Vec::with_capacity(found.len());
        for (variant, product) in found {
            if let Some(product) = product.filter(|p| products.iter().all(|seen| seen.id != p.id)) {
                products.push(product.into());
            }
            variants.push(VariantView::from(variant));
        }
        Ok(VariantsForSale { variants, products })
    }

    /// The rows of `E` whose `column` is one of `ids`, in one statement.
    async fn find_in<E>(&self, column: E::Column, ids: &[Uuid]) -> Result<Vec<E::Model>, DbErr>
    where
        E: EntityTrait,
        E::Model: Send + Sync,
    {
        let ids = ids.to_vec();
        self.db
            .read_at(&self.consistency, |db| {
                let ids = ids.clone();
                async move { E::find().filter(column.is_in(ids)).all(&db).await }
            })
            .await
    }

    /// The categories with these ids and their parents, in one statement.
    async fn categories_with_parents(&self, ids: &[Uuid]) -> Result<Vec<CategoryView>, crate::Error> {
        let statement = Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT * FROM categories WHERE id = ANY($1) \
             OR id IN (SELECT parent_id FROM categories WHERE id = ANY($1))",
            [ids.to_vec().into()],
        );
        let rows = self.all(statement).await?;
        Ok(rows
            .iter()
            .map(|row| category::Model::from_query_result(row, "").map(CategoryView::from))
            .collect::<Result<_, _>>()?)
    }

    /// The children of each category, in display order; `None` as a parent means the top level.
    pub async fn category_children(
        &self,
        parent_ids: &[Option<Uuid>],
    ) -> Result<HashMap<Option<Uuid>, Vec<CategoryView>>, crate::Error> {
        let ids: Vec<Uuid> = parent_ids.iter().flatten().copied().collect();
        let top_level = parent_ids.contains(&None);
        let children = self
            .db
            .read_at(&self.consistency, |db| {
                let ids = ids.clone();
                async move {
                    let parent = category::Column::ParentId;
                    let condition =
                        if top_level { parent.is_in(ids).or(parent.is_null()) } else { parent.is_in(ids) };
                    category::Entity::find()
                        .filter(condition)
                        .order_by_asc(category::Column::Position)
                        .order_by_asc(category::Column::Name)
                        .all(&db)
                        .await
                }
            })
            .await?;
        let mut by_parent: HashMap<Option<Uuid>, Vec<CategoryView>> = HashMap::new();
        for child in children {
            by_parent.entry(child.parent_id).or_default().push(child.into());
        }
        Ok(by_parent)
    }

    async fn all(&self, statement: Statement) -> Result<Vec<sea_orm::QueryResult>, DbErr> {
        self.db
            .read_at(&self.consistency, |db| {
                let statement = statement.clone();
                async move { db.query_all_raw(statement).await }
            })
            .await
    }
}

/// The cursor of `product` in a listing sorted by `sort`.
fn cursor_of(
    sort: ProductSort,
    product: &ProductView,
    row: &sea_orm::QueryResult,
) -> Result<ProductCursor, DbErr> {
    let id = product.id;
    let price =
        || product.price_from_minor.ok_or_else(|| DbErr::Custom("a listed product has no price".into()));
    Ok(match sort {
        ProductSort::Relevance => ProductCursor::Relevance { rank: row.try_get("", "rank")?, id },
        ProductSort::Newest => ProductCursor::Newest { created_at: product.created_at, id },
        ProductSort::PriceAsc => ProductCursor::PriceAsc { price: price()?, id },
        ProductSort::PriceDesc => ProductCursor::PriceDesc { price: price()?, id },
        ProductSort::Name => ProductCursor::Name { name: product.name.clone(), id },
    })
}
