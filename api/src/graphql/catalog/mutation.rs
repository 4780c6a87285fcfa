//! The administrators' catalogue mutations (admin role only). Each validates every field, writes on
//! the primary, and answers with the written object and `userErrors`.

use std::future::Future;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use domain::catalog_edit::{NamedDraft, ProductFields, ProductInput, VariantDraft, check_price};
use infra::catalog::{Rejection, Written};

use super::types::{Brand, Category, Product, Variant};
use crate::graphql::committed;
use crate::graphql::context::commands;
use crate::graphql::global_id::{NodeKind, uuid_of};
use crate::graphql::guards::AdminOnly;
use crate::graphql::user_error::UserError;

#[derive(InputObject)]
pub struct CreateBrandInput {
    name: String,
    /// Made from the name when not given.
    slug: Option<String>,
}

#[derive(InputObject)]
pub struct CreateCategoryInput {
    name: String,
    /// Made from the name when not given.
    slug: Option<String>,
    /// The parent category's slug; a top-level category without one.
    parent: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateCategoryInput {
    name: Option<String>,
    /// Order among its siblings, smallest first.
    position: Option<i32>,
}

#[derive(InputObject)]
pub struct CreateProductInput {
    name: String,
    /// Made from the name when not given.
    slug: Option<String>,
    description: Option<String>,
    /// The brand's slug.
    brand: String,
    /// The category's slug.
    category: String,
    material: Option<String>,
    care: Option<String>,
    images: Option<Vec<String>>,
}

/// Only the given fields change.
#[derive(InputObject)]
pub struct UpdateProductInput {
    name: Option<String>,
    slug: Option<String>,
    description: Option<String>,
    /// The brand's slug.
    brand: Option<String>,
    /// The category's slug.
    category: Option<String>,
    material: Option<String>,
    care: Option<String>,
    images: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct AddVariantInput {
    sku: String,
    size: String,
    colour: String,
    /// In minor units of the shop's currency.
    price: i32,
    /// The higher price it is reduced from, in minor units.
    compare_at_price: Option<i32>,
    stock: i32,
}

/// Only the given fields change.
#[derive(InputObject)]
pub struct UpdateVariantInput {
    sku: Option<String>,
    size: Option<String>,
    colour: Option<String>,
}

#[derive(SimpleObject)]
pub struct BrandPayload {
    brand: Option<Brand>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct CategoryPayload {
    category: Option<Category>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct ProductPayload {
    product: Option<Product>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct VariantPayload {
    variant: Option<Variant>,
    user_errors: Vec<UserError>,
}

/// The outcome of a write: the object, or the reasons it was not written.
type Outcome<T> = (Option<T>, Vec<UserError>);

#[derive(Default)]
pub struct CatalogMutation;

#[Object]
impl CatalogMutation {
    #[graphql(guard = "AdminOnly")]
    async fn create_brand(&self, ctx: &Context<'_>, input: CreateBrandInput) -> Result<BrandPayload> {
        let (brand, user_errors) = match NamedDraft::parse(&input.name, input.slug.as_deref()) {
            Ok(draft) => {
                written(ctx, commands(ctx).catalog.create_brand(draft), |_| "input.slug", Brand).await?
            }
            Err(problems) => (None, UserError::from_problems("input", problems)),
        };
        Ok(BrandPayload { brand, user_errors })
    }

    #[graphql(guard = "AdminOnly")]
    async fn create_category(
        &self,
        ctx: &Context<'_>,
        input: CreateCategoryInput,
    ) -> Result<CategoryPayload> {
        let (category, user_errors) = match NamedDraft::parse(&input.name, input.slug.as_deref()) {
            Ok(draft) => {
                let command = commands(ctx).catalog.create_category(draft, input.parent.as_deref());
                let blame = |rejection| match rejection {
                    Rejection::UnknownCategory => "input.parent",
                    _ => "input.slug",
                };
                written(ctx, command, blame, Category).await?
            }
            Err(problems) => (None, UserError::from_problems("input", problems)),
        };
        Ok(CategoryPayload { category, user_errors })
    }

    #[graphql(guard = "AdminOnly")]
    async fn update_category(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateCategoryInput,
    ) -> Result<CategoryPayload> {
        let id = uuid_of(&id, NodeKind::Category)?;
        if let Some(name) = &input.name
            && let Err(problems) = NamedDraft::parse(name, Some("unchanged"))
        {
            return Ok(CategoryPayload {
                category: None,
                user_errors: UserError::from_problems("input", problems),
            });
        }
        let name = input.name.map(|n| n.trim().to_owned());
        let command = commands(ctx).catalog.update_category(id, name, input.position);
        let (category, user_errors) = written(ctx, command, |_| "id", Category).await?;
        Ok(CategoryPayload { category, user_errors })
    }

    #[graphql(guard = "AdminOnly")]
    async fn create_product(&self, ctx: &Context<'_>, input: CreateProductInput) -> Result<ProductPayload> {
        let fields = ProductFields::parse_new(ProductInput {
            name: Some(&input.name),
            slug: input.slug.as_deref(),
            description: input.description.as_deref(),
            material: input.material.as_deref(),
            care: input.care.as_deref(),
            images: input.images.as_deref(),
        });
        let (product, user_errors) = match fields {
            Ok(fields) => {
                let command = commands(ctx).catalog.create_product(fields, &input.brand, &input.category);
                written(ctx, command, |_| "input", Product).await?
            }
            Err(problems) => (None, UserError::from_problems("input", problems)),
        };
        Ok(ProductPayload { product, user_errors })
    }

    #[graphql(guard = "AdminOnly")]
    async fn update_product(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateProductInput,
    ) -> Result<ProductPayload> {
        let id = uuid_of(&id, NodeKind::Product)?;
        let fields = ProductFields::parse_changes(ProductInput {
            name: input.name.as_deref(),
            slug: input.slug.as_deref(),
            description: input.description.as_deref(),
            material: input.material.as_deref(),
            care: input.care.as_deref(),
            images: input.images.as_deref(),
        });
        let (product, user_errors) = match fields {
            Ok(fields) => {
                let command = commands(ctx).catalog.update_product(
                    id,
                    fields,
                    input.brand.as_deref(),
                    input.category.as_deref(),
                );
                written(ctx, command, |_| "input", Product).await?
            }
            Err(problems) => (None, UserError::from_problems("input", problems)),
        };
        Ok(ProductPayload { product, user_errors })
    }

    /// Takes a product off sale; it stays in past orders.
    #[graphql(guard = "AdminOnly")]
    async fn archive_product(&self, ctx: &Context<'_>, id: ID) -> Result<ProductPayload> {
        let id = uuid_of(&id, NodeKind::Product)?;
        let command = commands(ctx).catalog.archive_product(id);
        let (product, user_errors) = written(ctx, command, |_| "id", Product).await?;
        Ok(ProductPayload { product, user_errors })
    }

    #[graphql(guard = "AdminOnly")]
    async fn add_variant(
        &self,
        ctx: &Context<'_>,
        product_id: ID,
        input: AddVariantInput,
    ) -> Result<VariantPayload> {
        let product_id = uuid_of(&product_id, NodeKind::Product)?;
        let draft = VariantDraft::parse(
            &input.sku,
            &input.size,
            &input.colour,
            input.price.into(),
            input.compare_at_price.map(i64::from),
            input.stock,
        );
        let (variant, user_errors) = match draft {
            Ok(draft) => {
                written(ctx, commands(ctx).catalog.add_variant(product_id, draft), |_| "input", Variant)
                    .await?
            }
            Err(problems) => (None, UserError::from_problems("input", problems)),
        };
        Ok(VariantPayload { variant, user_errors })
    }

    #[graphql(guard = "AdminOnly")]
    async fn update_variant(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateVariantInput,
    ) -> Result<VariantPayload> {
        let id = uuid_of(&id, NodeKind::Variant)?;
        // Checked as a draft with the other fields at valid placeholders, so only given fields can fail.
        let check = VariantDraft::parse(
            input.sku.as_deref().unwrap_or("SKU"),
            input.size.as_deref().unwrap_or("M"),
            input.colour.as_deref().unwrap_or("Black"),
            0,
            None,
            0,
        );
        if let Err(problems) = check {
            return Ok(VariantPayload {
                variant: None,
                user_errors: UserError::from_problems("input", problems),
            });
        }
        let trimmed = |value: Option<String>| value.map(|v| v.trim().to_owned());
        let command = commands(ctx).catalog.update_variant(
            id,
            trimmed(input.sku),
            trimmed(input.size),
            trimmed(input.colour),
        );
        let (variant, user_errors) = written(ctx, command, |_| "input", Variant).await?;
        Ok(VariantPayload { variant, user_errors })
    }

    /// Sets a variant's price and the optional higher price it is reduced from, in minor units.
    #[graphql(guard = "AdminOnly")]
    async fn set_price(
        &self,
        ctx: &Context<'_>,
        variant_id: ID,
        price: i32,
        compare_at_price: Option<i32>,
    ) -> Result<VariantPayload> {
        let id = uuid_of(&variant_id, NodeKind::Variant)?;
        let (price, compare_at) = (i64::from(price), compare_at_price.map(i64::from));
        let (variant, user_errors) = match check_price(price, compare_at) {
            Ok(()) => {
                let command = commands(ctx).catalog.set_price(id, price, compare_at);
                written(ctx, command, |_| "variantId", Variant).await?
            }
            Err(problems) => (None, UserError::from_problems("", problems)),
        };
        Ok(VariantPayload { variant, user_errors })
    }

    /// Adds `delta` units to a variant's stock (negative to remove); stock never goes below zero.
    #[graphql(guard = "AdminOnly")]
    async fn adjust_stock(&self, ctx: &Context<'_>, variant_id: ID, delta: i32) -> Result<VariantPayload> {
        let id = uuid_of(&variant_id, NodeKind::Variant)?;
        let blame = |rejection| match rejection {
            Rejection::InsufficientStock => "delta",
            _ => "variantId",
        };
        let (variant, user_errors) =
            written(ctx, commands(ctx).catalog.adjust_stock(id, delta), blame, Variant).await?;
        Ok(VariantPayload { variant, user_errors })
    }
}

/// The payload parts of a command's outcome, through the write path; a refusal is blamed on the
/// field `blame` names for it.
async fn written<M, T>(
    ctx: &Context<'_>,
    command: impl Future<Output = Written<M>>,
    blame: impl FnOnce(Rejection) -> &'static str,
    wrap: impl FnOnce(M) -> T,
) -> Result<Outcome<T>> {
    match committed(ctx, command).await? {
        Ok(model) => Ok((Some(wrap(model)), vec![])),
        Err(rejection) => Ok((None, vec![UserError::rejected(blame(rejection), rejection)])),
    }
}
