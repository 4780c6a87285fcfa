//! The HTTP surface: one module per endpoint group.

mod graphql;
mod health;

use std::sync::Arc;

use poem::middleware::SizeLimit;
use poem::{Endpoint, EndpointExt, Route, get};

pub use health::Readiness;

use crate::graphql::QueryLimits;
use crate::services::Services;

pub fn app(services: Arc<Services>, readiness: Readiness, limits: QueryLimits) -> impl Endpoint {
    let schema = crate::graphql::schema(services.clone(), limits);
    // Room for the largest batch of the largest documents, with their variables.
    let body_limit = limits.batch * (limits.document_bytes + 64 * 1024);
    Route::new()
        .at("/graphql", get(graphql::get_query).post(graphql::post.with(SizeLimit::new(body_limit))))
        .at("/graphiql", get(graphql::graphiql))
        .at("/health/live", get(health::live))
        .at("/health/ready", get(health::ready))
        .data(schema)
        .data(services)
        .data(readiness)
        .data(limits)
}
