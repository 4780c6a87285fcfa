//! The HTTP surface: one module per endpoint group.

mod graphql;
mod health;
mod negotiation;
mod pages;
mod persisted_queries;
mod webhooks;

use std::sync::Arc;

use poem::http::{Method, StatusCode};
use poem::middleware::{Cors, SizeLimit};
use poem::{Endpoint, EndpointExt, Response, Route, get, post};

pub use health::Readiness;

use crate::config::HttpSettings;
use crate::graphql::{ErrorCode, error, errors_body, request_error};
use crate::request_id;
use crate::services::Services;

/// Stripe's events are a few kilobytes.
const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

pub fn app(services: Arc<Services>, readiness: Readiness, http: HttpSettings) -> impl Endpoint {
    let limits = http.schema.limits;
    let schema = crate::graphql::schema(services.clone(), http.schema);
    // Room for the largest batch of the largest documents, with their variables.
    let body_limit = limits.batch * (limits.document_bytes + 64 * 1024);
    Route::new()
        .at(
            "/graphql",
            get(graphql::get_query)
                .post(graphql::post.with(SizeLimit::new(body_limit)).around(graphql::json_only))
                .around(negotiation::negotiate),
        )
        .at("/", get(pages::storefront))
        .at("/storefront/:file", get(pages::storefront_file))
        .at("/graphiql", get(pages::graphiql))
        .at("/graphiql/:file", get(pages::graphiql_file))
        .at("/health/live", get(health::live))
        .at("/health/ready", get(health::ready))
        .at("/webhooks/stripe", post(webhooks::stripe.with(SizeLimit::new(WEBHOOK_BODY_LIMIT))))
        .data(schema)
        .data(services)
        .data(readiness)
        .data(limits)
        .with_if(!http.cors_origins.is_empty(), cors(&http.cors_origins))
        .around(request_id::with_request_id)
}

/// The operators' endpoints, for the admin listener: the detailed readiness report and the metrics.
pub fn admin(services: Arc<Services>, readiness: Readiness) -> impl Endpoint {
    Route::new()
        .at("/health/live", get(health::live))
        .at("/health/ready", get(health::ready_report))
        .at("/metrics", get(crate::metrics::scrape))
        .data(services)
        .data(readiness)
        .around(request_id::with_request_id)
}

/// Cross-origin calls from the configured origins only, with the session cookie.
fn cors(origins: &[String]) -> Cors {
    Cors::new()
        .allow_origins(origins.iter().map(String::as_str))
        .allow_credentials(true)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(["content-type", "authorization", "x-request-id"])
        .max_age(600)
}

/// An answer that is GraphQL errors only: the request never ran.
fn errors_response(status: StatusCode, errors: Vec<async_graphql::ServerError>) -> Response {
    Response::builder().status(status).content_type("application/json").body(errors_body(&errors))
}

fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    errors_response(status, vec![request_error(error(code, message))])
}
