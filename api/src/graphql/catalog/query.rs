use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, Enum, ID, InputObject, Object, Result};
use domain::listing::{ProductFilter, ProductSort};
use domain::paging::PageRequest;
use infra::catalog::cursor::ProductCursor;
use infra::catalog::{Listing, ProductRef};

use super::loaders::{BrandKey, CategoryKey, ChildrenOf, ProductKey, VariantKey, feed};
use super::types::{Brand, Category, Node, Product, ProductListing, Variant, loader};
use crate::graphql::context::{queries, reads};
use crate::graphql::errors::{OrGraphql, bad_user_input};
use crate::graphql::global_id::{NodeKind, parse_global_id};
use crate::graphql::limits::page_cost;

pub type ProductConnection = Connection<String, Product, ProductListing, EmptyFields>;

#[derive(InputObject, Default)]
#[graphql(name = "ProductFilter")]
pub struct ProductFilterInput {
    /// A category's slug; products of its descendants are included.
    category: Option<String>,
    /// A brand's slug.
    brand: Option<String>,
    /// Any of these sizes. Size, colour, price and stock conditions must hold for one variant.
    sizes: Option<Vec<String>>,
    /// Any of these colours.
    colours: Option<Vec<String>>,
    /// Lowest unit price, in minor units of the shop's currency (cents).
    min_price: Option<i32>,
    /// Highest unit price, in minor units of the shop's currency (cents).
    max_price: Option<i32>,
    /// Only products with a matching variant in stock.
    in_stock: Option<bool>,
    /// Free text in web-search syntax: words, "quoted phrases", -excluded.
    search: Option<String>,
}

impl ProductFilterInput {
    fn parse(self) -> Result<ProductFilter> {
        ProductFilter {
            category: self.category,
            brand: self.brand,
            sizes: self.sizes.unwrap_or_default(),
            colours: self.colours.unwrap_or_default(),
            min_price: self.min_price.map(i64::from),
            max_price: self.max_price.map(i64::from),
            in_stock: self.in_stock.unwrap_or(false),
            search: self.search,
        }
        .parse()
        .map_err(|e| bad_user_input(&format!("filter.{e}")))
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProductSort")]
pub enum ProductSortInput {
    /// Best match first; with a search only (without one it is NEWEST). The default with a search.
    Relevance,
    /// The default without a search.
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
}

impl From<ProductSortInput> for ProductSort {
    fn from(sort: ProductSortInput) -> Self {
        match sort {
            ProductSortInput::Relevance => Self::Relevance,
            ProductSortInput::Newest => Self::Newest,
            ProductSortInput::PriceAsc => Self::PriceAsc,
            ProductSortInput::PriceDesc => Self::PriceDesc,
            ProductSortInput::Name => Self::Name,
        }
    }
}

#[derive(Default)]
pub struct CatalogQuery;

#[Object]
impl CatalogQuery {
    /// Products for sale, a page at a time (`first`/`after` forward, `last`/`before` backward; at most
    /// 100 per page). Cursors are opaque and only continue the sort they came from.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "page_cost(first.or(last), child_complexity)")]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        filter: Option<ProductFilterInput>,
        sort: Option<ProductSortInput>,
    ) -> Result<ProductConnection> {
        let page =
            PageRequest::parse(first, after, last, before).map_err(|e| bad_user_input(&e.to_string()))?;
        let filter = filter.unwrap_or_default().parse()?;
        let sort = ProductSort::effective(sort.map(Into::into), &filter);
        let cursor = page
            .cursor
            .as_deref()
            .map(|cursor| ProductCursor::decode(cursor, sort))
            .transpose()
            .map_err(|e| bad_user_input(&e.to_string()))?;

        let listing = Listing { filter: &filter, sort, page: &page, cursor: cursor.as_ref() };
        let mut listing = queries(ctx).catalog.page(&listing, reads(ctx)).await.or_graphql()?;
        let related = std::mem::take(&mut listing.related);
        feed(loader(ctx), listing.products.iter().map(|(p, _)| p.id), related).await;

        let mut connection = ProductConnection::with_additional_fields(
            listing.has_previous_page,
            listing.has_next_page,
            ProductListing { filter },
        );
        connection.edges.extend(listing.products.into_iter().map(|(p, c)| Edge::new(c.encode(), Product(p))));
        Ok(connection)
    }

    /// A product by its global ID or its slug (give exactly one); null if there is none or it is
    /// archived.
    async fn product(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        slug: Option<String>,
    ) -> Result<Option<Product>> {
        let by = match (&id, &slug) {
            (Some(id), None) => match parse_global_id(id) {
                Some((NodeKind::Product, id)) => ProductRef::Id(id),
                _ => return Err(bad_user_input("id is not a product ID")),
            },
            (None, Some(slug)) => ProductRef::Slug(slug),
            _ => return Err(bad_user_input("give exactly one of id and slug")),
        };
        let Some(detail) = queries(ctx).catalog.product(by, reads(ctx)).await.or_graphql()? else {
            return Ok(None);
        };
        feed(loader(ctx), std::iter::once(detail.product.id), detail.related).await;
        Ok(Some(Product(detail.product)))
    }

    /// The top-level categories; each has its `children`.
    async fn categories(&self, ctx: &Context<'_>) -> Result<Vec<Category>> {
        let top = loader(ctx).load_one(ChildrenOf(None)).await?.unwrap_or_default();
        Ok(top.into_iter().map(Category).collect())
    }

    /// Any object by its global ID; null if it does not exist.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        let (kind, id) = parse_global_id(&id).ok_or_else(|| bad_user_input("not a global ID of this API"))?;
        let loader = loader(ctx);
        Ok(match kind {
            NodeKind::Product => loader.load_one(ProductKey(id)).await?.map(|p| Node::Product(Product(p))),
            NodeKind::Variant => loader.load_one(VariantKey(id)).await?.map(|v| Node::Variant(Variant(v))),
            NodeKind::Brand => loader.load_one(BrandKey(id)).await?.map(|b| Node::Brand(Brand(b))),
            NodeKind::Category => {
                loader.load_one(CategoryKey(id)).await?.map(|c| Node::Category(Category(c)))
            }
            NodeKind::Customer
            | NodeKind::Address
            | NodeKind::Order
            | NodeKind::ShippingZone
            | NodeKind::ShippingMethod
            | NodeKind::DiscountCode => None,
        })
    }
}
