//! The catalogue's GraphQL objects. Related objects come from the per-request loaders.

use async_graphql::{Context, ID, Interface, Object, Result, SimpleObject};
use chrono::{DateTime, FixedOffset};
use domain::listing::ProductFilter;
use infra::catalog::{BrandView, CategoryView, ProductView, VariantView};

use super::loaders::{BrandKey, CatalogLoader, CategoryKey, ChildrenOf, ProductKey, VariantsOf};
use crate::graphql::context::{queries, reads};
use crate::graphql::errors::OrGraphql;
use crate::graphql::global_id::{NodeKind, global_id};
use crate::graphql::money::Money;

pub(crate) fn loader<'a>(ctx: &Context<'a>) -> &'a CatalogLoader {
    ctx.data_unchecked::<CatalogLoader>()
}

/// An object with a global ID, fetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Product(Product),
    Variant(Variant),
    Brand(Brand),
    Category(Category),
}

#[derive(Clone)]
pub struct Product(pub ProductView);

#[Object]
impl Product {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Product, self.0.id)
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    async fn material(&self) -> Option<&str> {
        self.0.material.as_deref()
    }

    /// Care instructions.
    async fn care(&self) -> Option<&str> {
        self.0.care.as_deref()
    }

    /// Image URLs, the first being the main picture.
    async fn images(&self) -> &[String] {
        &self.0.images
    }

    async fn created_at(&self) -> DateTime<FixedOffset> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<FixedOffset> {
        self.0.updated_at
    }

    async fn brand(&self, ctx: &Context<'_>) -> Result<Brand> {
        let brand = loader(ctx).load_one(BrandKey(self.0.brand_id)).await?;
        Ok(Brand(brand.ok_or("the product's brand is missing")?))
    }

    async fn category(&self, ctx: &Context<'_>) -> Result<Category> {
        let category = loader(ctx).load_one(CategoryKey(self.0.category_id)).await?;
        Ok(Category(category.ok_or("the product's category is missing")?))
    }

    /// Every size × colour variant, in display order.
    async fn variants(&self, ctx: &Context<'_>) -> Result<Vec<Variant>> {
        let variants = loader(ctx).load_one(VariantsOf(self.0.id)).await?.unwrap_or_default();
        Ok(variants.into_iter().map(Variant).collect())
    }

    /// The lowest price of its variants; null while it has none.
    async fn price_from(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        match self.0.price_from_minor(reads(ctx)) {
            Some(minor) => Ok(Some(Money::of_shop(ctx, minor).await?)),
            None => Ok(None),
        }
    }

    /// Whether any variant is in stock.
    async fn in_stock(&self, ctx: &Context<'_>) -> Result<bool> {
        let variants = loader(ctx).load_one(VariantsOf(self.0.id)).await?.unwrap_or_default();
        Ok(variants.iter().any(|v| v.in_stock(reads(ctx))))
    }
}

#[derive(Clone)]
pub struct Variant(pub VariantView);

#[Object]
impl Variant {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Variant, self.0.id)
    }

    async fn sku(&self) -> &str {
        &self.0.sku
    }

    async fn size(&self) -> &str {
        &self.0.size
    }

    async fn colour(&self) -> &str {
        &self.0.colour
    }

    async fn price(&self, ctx: &Context<'_>) -> Result<Money> {
        Money::of_shop(ctx, self.0.price_minor(reads(ctx))).await
    }

    /// The price before a reduction, shown struck through; null when not reduced.
    async fn compare_at_price(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        match self.0.compare_at_minor(reads(ctx)) {
            Some(minor) => Ok(Some(Money::of_shop(ctx, minor).await?)),
            None => Ok(None),
        }
    }

    async fn quantity_available(&self, ctx: &Context<'_>) -> i32 {
        self.0.stock(reads(ctx))
    }

    async fn in_stock(&self, ctx: &Context<'_>) -> bool {
        self.0.in_stock(reads(ctx))
    }

    /// Its product; null once the product is archived.
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<Product>> {
        Ok(loader(ctx).load_one(ProductKey(self.0.product_id)).await?.map(Product))
    }
}

#[derive(Clone)]
pub struct Brand(pub BrandView);

#[Object]
impl Brand {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Brand, self.0.id)
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }
}

#[derive(Clone)]
pub struct Category(pub CategoryView);

#[Object]
impl Category {
    pub async fn id(&self) -> ID {
        global_id(NodeKind::Category, self.0.id)
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The slugs from the top of the tree, joined by `/`, such as `women/women-dresses`.
    async fn path(&self) -> &str {
        &self.0.path
    }

    async fn parent(&self, ctx: &Context<'_>) -> Result<Option<Category>> {
        match self.0.parent_id {
            Some(parent) => Ok(loader(ctx).load_one(CategoryKey(parent)).await?.map(Category)),
            None => Ok(None),
        }
    }

    async fn children(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        let children = loader(ctx).load_one(ChildrenOf(Some(self.0.id))).await?.unwrap_or_default();
        Ok(children.into_iter().map(Category).collect())
    }
}

/// The listing a page belongs to: its total and its facet counts, each computed only when asked for.
pub struct ProductListing {
    pub filter: ProductFilter,
}

#[Object]
impl ProductListing {
    /// How many products match the filter, on all pages.
    async fn total_count(&self, ctx: &Context<'_>) -> Result<i64> {
        queries(ctx).catalog.count(&self.filter, reads(ctx)).await.or_graphql()
    }

    /// For a filter sidebar: per size, colour and brand, how many products match. Each dimension is
    /// counted without its own filter, so every alternative shows its count.
    async fn facets(&self, ctx: &Context<'_>) -> Result<ProductFacets> {
        let facets = queries(ctx).catalog.facets(&self.filter, reads(ctx)).await.or_graphql()?;
        let values =
            |values: Vec<infra::catalog::FacetValue>| values.into_iter().map(FacetValue::from).collect();
        Ok(ProductFacets {
            sizes: values(facets.sizes),
            colours: values(facets.colours),
            brands: values(facets.brands),
        })
    }
}

#[derive(SimpleObject)]
pub struct ProductFacets {
    pub sizes: Vec<FacetValue>,
    pub colours: Vec<FacetValue>,
    /// `value` is the brand's slug, `label` its name.
    pub brands: Vec<FacetValue>,
}

#[derive(SimpleObject)]
pub struct FacetValue {
    /// What to put in the filter.
    pub value: String,
    /// What to show.
    pub label: String,
    pub count: i64,
}

impl From<infra::catalog::FacetValue> for FacetValue {
    fn from(value: infra::catalog::FacetValue) -> Self {
        Self { value: value.value, label: value.label, count: value.count }
    }
}
