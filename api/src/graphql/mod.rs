//! The GraphQL schema, composed from one object per feature (each feature a folder), and the mapping
//! of service errors to GraphQL errors.

mod catalog;
mod errors;
mod money;
mod node;
mod response_cache;
mod shop;

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, MergedObject, Schema, SchemaBuilder};

pub use errors::ErrorCode;
pub use response_cache::respond;

use crate::services::Services;

#[derive(MergedObject, Default)]
pub struct Query(shop::ShopQuery, catalog::CatalogQuery);

pub type AppSchema = Schema<Query, EmptyMutation, EmptySubscription>;

pub fn schema(services: Arc<Services>) -> AppSchema {
    builder().data(services).finish()
}

/// Gives `request` what it needs for one execution: its own batch loaders.
pub fn prepare(request: async_graphql::Request, services: &Arc<Services>) -> async_graphql::Request {
    request.data(catalog::loaders::catalog_loader(services.clone()))
}

/// The schema in SDL; `schema.graphql` at the top of the repository is this text.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn builder() -> SchemaBuilder<Query, EmptyMutation, EmptySubscription> {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription).register_output_type::<node::Node>()
}
