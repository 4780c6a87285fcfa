//! The HTTP surface: one module per endpoint group.

mod graphql;
mod health;

use std::sync::Arc;

use poem::{Endpoint, EndpointExt, Route, get};

pub use health::Readiness;

use crate::services::Services;

pub fn app(services: Arc<Services>, readiness: Readiness) -> impl Endpoint {
    let schema = crate::graphql::schema(services.clone());
    Route::new()
        .at("/graphql", get(graphql::get_query).post(graphql::post))
        .at("/graphiql", get(graphql::graphiql))
        .at("/health/live", get(health::live))
        .at("/health/ready", get(health::ready))
        .data(schema)
        .data(services)
        .data(readiness)
}
