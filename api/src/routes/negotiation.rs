//! Content negotiation of the GraphQL-over-HTTP spec. A client that accepts
//! `application/graphql-response+json` gets it, and with it the spec's status codes: 400 for a request
//! that failed before execution (it did not parse or validate, or broke a limit). Other clients get
//! `application/json` and 200, as GraphQL servers always did. A client that accepts neither gets 406.

use std::sync::Arc;

use poem::http::{HeaderValue, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::graphql::ErrorCode;

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFormat {
    /// `application/graphql-response+json`.
    GraphqlResponse,
    /// `application/json`, the legacy format.
    Json,
}

impl ResponseFormat {
    /// What `accept` asks for; `None` when it accepts neither format.
    pub fn negotiate(accept: Option<&str>) -> Option<Self> {
        let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else { return Some(Self::Json) };
        let accepted: Vec<&str> = accepted(accept).collect();
        let accepts = |media: &str| accepted.iter().any(|a| a.eq_ignore_ascii_case(media));
        if accepts(GRAPHQL_RESPONSE_JSON) {
            Some(Self::GraphqlResponse)
        } else if accepts("application/json") || accepts("application/*") || accepts("*/*") {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The status of a response: a request error is 400 in the spec's format, 200 in the legacy one.
    pub fn status(self, request_error: bool) -> StatusCode {
        match (self, request_error) {
            (Self::GraphqlResponse, true) => StatusCode::BAD_REQUEST,
            _ => StatusCode::OK,
        }
    }

    /// The format of `request`, as `negotiate` left it.
    pub fn of(request: &Request) -> Self {
        request.extensions().get::<Self>().copied().unwrap_or(Self::Json)
    }
}

/// The values an `Accept`-style list admits, without their parameters: `a, b;q=0.5, c;q=0` admits `a`
/// and `b`. (Also for `Accept-Encoding`.)
pub fn accepted(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').filter_map(|item| {
        let mut parts = item.split(';').map(str::trim);
        let value = parts.next().filter(|value| !value.is_empty())?;
        let refused = parts.any(|parameter| {
            parameter.split_once('=').is_some_and(|(name, q)| {
                name.trim().eq_ignore_ascii_case("q") && q.trim().parse::<f32>() == Ok(0.0)
            })
        });
        (!refused).then_some(value)
    })
}

/// Whether the request's `Accept-Encoding` admits gzip.
pub fn accepts_gzip(request: &Request) -> bool {
    request
        .header(header::ACCEPT_ENCODING)
        .is_some_and(|list| accepted(list).any(|coding| coding.eq_ignore_ascii_case("gzip")))
}

/// Works out the response format (or answers 406), and labels the JSON answers of `/graphql` with it.
pub async fn negotiate<E: Endpoint>(next: Arc<E>, mut request: Request) -> poem::Result<Response> {
    let Some(format) = ResponseFormat::negotiate(request.header(header::ACCEPT)) else {
        let message = "accept application/graphql-response+json or application/json";
        return Ok(super::error_response(StatusCode::NOT_ACCEPTABLE, ErrorCode::BadRequest, message));
    };
    request.extensions_mut().insert(format);
    let mut response = next.call(request).await?.into_response();
    let json = response.content_type().is_some_and(|t| t.starts_with("application/json"));
    if format == ResponseFormat::GraphqlResponse && json {
        let media = HeaderValue::from_static("application/graphql-response+json; charset=utf-8");
        response.headers_mut().insert(header::CONTENT_TYPE, media);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::ResponseFormat::{self, GraphqlResponse, Json};

    #[test]
    fn the_spec_format_wins_when_accepted() {
        let cases = [
            (None, Some(Json)),
            (Some("application/graphql-response+json, application/json;q=0.9"), Some(GraphqlResponse)),
            (Some("application/json"), Some(Json)),
            (Some("*/*"), Some(Json)),
            (Some("text/html"), None),
            (Some("application/graphql-response+json;q=0, application/json"), Some(Json)),
        ];
        for (accept, expected) in cases {
            assert_eq!(ResponseFormat::negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn a_value_with_q_zero_is_refused_whatever_its_spelling() {
        let admitted: Vec<&str> =
            super::accepted("gzip;q=0.0, br ; q = 0, deflate;q=0.5, identity,").collect();
        assert_eq!(admitted, ["deflate", "identity"]);
    }
}
