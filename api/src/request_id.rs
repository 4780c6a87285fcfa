//! Every request has an id: the caller's `X-Request-Id` when it is a sensible one, else a new one. It
//! names the request's log span (so every log line of the request carries it), is echoed in the
//! response's `X-Request-Id`, and goes with internal errors so that a report can be matched to the log.

use std::sync::Arc;
use std::time::Instant;

use poem::http::HeaderValue;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The id of `request`, as the middleware gave it.
    pub fn of(request: &Request) -> String {
        request.extensions().get::<Self>().map(|id| id.0.clone()).unwrap_or_default()
    }
}

/// A caller's id is kept if it has 1 to 64 letters, digits, `-`, `_` or `.`; else it could forge
/// log lines or bloat them.
fn accepted(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

pub async fn with_request_id<E: Endpoint>(next: Arc<E>, mut request: Request) -> poem::Result<Response> {
    let id = request
        .header(HEADER)
        .filter(|id| accepted(id))
        .map_or_else(|| uuid::Uuid::now_v7().simple().to_string(), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let started = Instant::now();
    async move {
        let mut response = next
            .call(request)
            .await
            .map(IntoResponse::into_response)
            .unwrap_or_else(|err| err.into_response());
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "request finished"
        );
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(HEADER, value);
        }
        Ok(response)
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(super::accepted("req-123_abc.DEF"));
        for bad in ["", "has space", "line\nbreak", &"x".repeat(65), "é"] {
            assert!(!super::accepted(bad), "{bad:?}");
        }
    }
}
