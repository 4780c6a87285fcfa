//! Whole responses to public catalogue queries, cached in Redis under the catalogue's generation and
//! keyed by the request (document, operation and variables), and filed under the tags of everything
//! the execution read (so a stock change of a product drops the responses that show it): a hit is
//! one Redis round trip and no execution. Only a query whose every root field is public qualifies,
//! and only an answer without errors is kept; everything else is executed as usual.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use async_graphql::parser::types::OperationType;
use infra::cache::{Answer, CacheKey, ReadPolicy, Rendered};
use poem::http::header;
use poem::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use infra::db::Consistency;

use super::{AppSchema, execute, is_request_error, prepare};
use crate::auth::Caller;
use crate::services::Services;

/// Root fields whose answers are the same for every caller.
const PUBLIC_ROOT_FIELDS: &[&str] = &["__typename", "shop", "products", "product", "categories", "node"];

/// Executes `request`, answering from (and filling) the response cache when it is a public query
/// whose caller may read through the cache. A cached answer kept in memory goes gzipped to a client
/// that `takes_gzip`.
pub async fn respond(
    schema: &AppSchema,
    services: &Arc<Services>,
    mut request: async_graphql::Request,
    caller: Caller,
    policy: ReadPolicy,
    takes_gzip: bool,
) -> Reply {
    if !policy.through_cache || !is_public(&mut request) {
        let request_id = caller.request_id.clone();
        let (request, _) = prepare(request, services, caller, policy);
        return Reply::of(execute(schema, request, &request_id).await);
    }
    let fingerprint = fingerprint(&request);
    let request_id = caller.request_id.clone();
    let (started, operation) = (Instant::now(), super::operation::name(&mut request));
    let (executed, request_error) = (&AtomicBool::new(false), &AtomicBool::new(false));
    let request_id = &request_id;
    let rendered = services
        .cache
        .get_or_render(CacheKey::Response(&fingerprint), policy, |at| async move {
            executed.store(true, Ordering::Relaxed);
            // Beneath a response filled at a position, the cache's entries might predate it.
            let policy = match at {
                Consistency::Eventual => ReadPolicy::EVENTUAL,
                at => ReadPolicy { consistency: at, through_cache: false, from_memory_after: None },
            };
            let (request, reads) = prepare(request, services, caller, policy);
            let response = execute(schema, request, request_id).await;
            if is_request_error(&response) {
                request_error.store(true, Ordering::Relaxed);
                return Ok(Rendered { bytes: request_error_body(&response), cacheable: false, tags: vec![] });
            }
            let cacheable = response.is_ok() && response.http_headers.is_empty();
            let bytes = serde_json::to_vec(&response).map_err(anyhow::Error::from)?;
            Ok(Rendered { bytes, cacheable, tags: reads.shown() })
        })
        .await;
    if !executed.load(Ordering::Relaxed) && rendered.is_ok() {
        crate::metrics::record_operation(operation.as_deref(), "ok", started.elapsed());
    }
    let response = match rendered {
        Ok(answer) => json_response(answer, takes_gzip),
        Err(err) => {
            tracing::error!(error = ?err, "a response could not be rendered");
            let body = super::errors_body(&[super::errors::internal_error(request_id)]);
            Response::builder().content_type("application/json").body(body)
        }
    };
    Reply { response, request_error: request_error.load(Ordering::Relaxed) }
}

/// `answer` as JSON, gzipped when the client takes gzip and the cache has it so. Which of the two it
/// is depends on `Accept-Encoding`, which the answer says for caches on the way.
fn json_response(answer: Answer, takes_gzip: bool) -> Response {
    let json = Response::builder().content_type("application/json").header(header::VARY, "accept-encoding");
    match answer.gzipped().filter(|_| takes_gzip) {
        Some(gzipped) => json.header(header::CONTENT_ENCODING, "gzip").body(gzipped),
        None => json.body(answer.bytes()),
    }
}

/// An HTTP answer to a GraphQL request, and whether the request failed before execution.
pub struct Reply {
    pub response: Response,
    pub request_error: bool,
}

impl Reply {
    fn of(response: async_graphql::Response) -> Self {
        if is_request_error(&response) {
            let body = request_error_body(&response);
            return Self {
                response: Response::builder().content_type("application/json").body(body),
                request_error: true,
            };
        }
        Self {
            response: async_graphql_poem::GraphQLResponse::from(response).into_response(),
            request_error: false,
        }
    }
}

/// A request error has no `data` (it never reached execution), only its errors.
fn request_error_body(response: &async_graphql::Response) -> Vec<u8> {
    super::errors_body(&response.errors).into_bytes()
}

/// Whether the operation `request` runs is a query of public root fields only.
fn is_public(request: &mut async_graphql::Request) -> bool {
    super::operation::facts(request).only(OperationType::Query, PUBLIC_ROOT_FIELDS)
}

fn fingerprint(request: &async_graphql::Request) -> String {
    let variables = serde_json::to_string(&request.variables).unwrap_or_default();
    let mut hasher = Sha256::new();
    for part in [request.query.as_str(), request.operation_name.as_deref().unwrap_or(""), &variables] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    infra::digest::hex(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(query: &str, operation: Option<&str>) -> bool {
        let mut request = async_graphql::Request::new(query);
        request.operation_name = operation.map(str::to_owned);
        is_public(&mut request)
    }

    #[test]
    fn catalogue_queries_are_public() {
        assert!(public("{ products { totalCount } shop { name } }", None));
        assert!(public("query P { ...F } fragment F on Query { product(slug: \"a\") { name } }", None));
        assert!(public("{ ... on Query { categories { name } } }", None));
    }

    #[test]
    fn anything_else_is_not() {
        assert!(!public("{ products { totalCount } cart { subtotal } }", None));
        assert!(!public("mutation { startSession { token } }", None));
        assert!(!public(
            "query A { shop { name } } mutation B { clearCart { userErrors { code } } }",
            Some("B")
        ));
        assert!(!public("query A { shop { name } } query B { me { email } }", Some("B")));
        assert!(!public("query A { shop { name } } query B { shop { name } }", None));
        assert!(!public("{ ...F } fragment F on Query { me { email } }", None));
        assert!(!public("{ shop { name ", None));
    }

    #[test]
    fn the_fingerprint_covers_document_operation_and_variables() {
        let base = async_graphql::Request::new("{ shop { name } }");
        let other_variables = async_graphql::Request::new("{ shop { name } }")
            .variables(async_graphql::Variables::from_json(serde_json::json!({ "x": 1 })));
        let other_operation = async_graphql::Request::new("{ shop { name } }").operation_name("X");
        let fingerprints = [fingerprint(&base), fingerprint(&other_variables), fingerprint(&other_operation)];
        assert_ne!(fingerprints[0], fingerprints[1]);
        assert_ne!(fingerprints[0], fingerprints[2]);
        assert_eq!(fingerprints[0], fingerprint(&async_graphql::Request::new("{ shop { name } }")));
    }
}
