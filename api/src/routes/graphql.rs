//! `GET /graphql` (queries only; mutations are refused so that a link or an image tag can never
//! change anything) and `POST /graphql` (single or batched). Each request gets its own batch loaders.

use std::sync::Arc;

use async_graphql::BatchRequest;
use async_graphql::Variables;
use async_graphql_poem::{GraphQLBatchRequest, GraphQLBatchResponse};
use infra::cache::ReadPolicy;
use infra::rate_limits::{Admission, Rate, address_group};
use infra::session_registry::SessionState;
use poem::http::{StatusCode, header};
use poem::web::{Data, Query};
use poem::{Endpoint, IntoResponse, Request, Response, handler};
use serde::Deserialize;

use super::negotiation::{ResponseFormat, accepts_gzip};
use super::{error_response, errors_response, persisted_queries};
use crate::auth::{self, Caller};
use crate::config::QueryLimits;
use crate::graphql::{self, AppSchema, ErrorCode, LimitExceeded};
use crate::services::{CookiePolicy, Services};

/// The GET parameters of the GraphQL-over-HTTP spec; `variables` and `extensions` are JSON texts.
/// (async-graphql's own parser expects `operation_name`, which standard clients never send.)
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetParams {
    /// Absent when a persisted query is sent by its hash alone.
    #[serde(default)]
    query: String,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

#[handler]
pub async fn post(
    http: &Request,
    schema: Data<&AppSchema>,
    services: Data<&Arc<Services>>,
    limits: Data<&QueryLimits>,
    request: GraphQLBatchRequest,
) -> Response {
    let mut batch = request.0;
    if let BatchRequest::Batch(requests) = &batch
        && let Err(exceeded) = limits.check_batch(requests.len())
    {
        return limit_response(exceeded);
    }
    // Documents sent by hash are looked up first, all at once, so that what they hold is charged
    // like the rest. (The batch's own iterator cannot be held across an await: it is not `Send`.)
    let only_persisted = services.persisted_queries_only;
    let requests: Vec<&mut async_graphql::Request> = batch.iter_mut().collect();
    let lookups = requests
        .into_iter()
        .map(|request| persisted_queries::resolve(request, &services, only_persisted, limits.document_bytes));
    if let Err(refused) = futures::future::try_join_all(lookups).await {
        return errors_response(StatusCode::OK, vec![refused]);
    }
    let cost = batch.iter_mut().map(graphql::operation::cost).sum();
    let session_checked_later = batch.iter_mut().all(graphql::operation::checks_its_session);
    let (caller, policy) = match request_context(http, &services, cost, session_checked_later).await {
        Ok(context) => context,
        Err(refusal) => return refusal,
    };
    let stale_cookie = caller.stale_cookie;
    let mut response = match batch {
        BatchRequest::Single(request) => {
            let reply =
                graphql::respond(&schema, &services, request, caller, policy, accepts_gzip(http)).await;
            finish(reply, ResponseFormat::of(http))
        }
        BatchRequest::Batch(requests) => {
            let responses = requests.into_iter().map(|request| {
                let (request, _) = graphql::prepare(request, &services, caller.clone(), policy);
                graphql::execute(&schema, request, &caller.request_id)
            });
            let responses = futures::future::join_all(responses).await;
            GraphQLBatchResponse(async_graphql::BatchResponse::Batch(responses)).into_response()
        }
    };
    clear_stale_cookie(&mut response, stale_cookie, &services.cookies);
    response
}

/// Refuses a POST whose body is not JSON. Browsers send text/plain and form bodies across sites
/// without asking first (no CORS preflight), with the session cookie; a JSON body needs a preflight,
/// which only allowed origins pass. So no other site can make a shopper's browser run a mutation.
pub async fn json_only<E: Endpoint>(next: Arc<E>, request: Request) -> poem::Result<Response> {
    let media_type = request.content_type().and_then(|t| t.split(';').next()).map(str::trim);
    if !media_type.is_some_and(|t| t.eq_ignore_ascii_case("application/json")) {
        let mut refused = error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadRequest,
            "POST /graphql takes a JSON body (Content-Type: application/json)",
        );
        refused.headers_mut().insert(header::ACCEPT, header::HeaderValue::from_static("application/json"));
        return Ok(refused);
    }
    Ok(next.call(request).await?.into_response())
}

#[handler]
pub async fn get_query(
    http: &Request,
    schema: Data<&AppSchema>,
    services: Data<&Arc<Services>>,
    limits: Data<&QueryLimits>,
    params: Query<GetParams>,
) -> Response {
    let mut request = match into_request(params.0) {
        Ok(request) => request,
        Err(message) => return error_response(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, &message),
    };
    let only_persisted = services.persisted_queries_only;
    if let Err(refused) =
        persisted_queries::resolve(&mut request, &services, only_persisted, limits.document_bytes).await
    {
        return errors_response(StatusCode::OK, vec![refused]);
    }
    if graphql::operation::is_mutation(&mut request) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadRequest,
            "mutations are only accepted by POST",
        );
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    match request_context(http, &services, 1, false).await {
        Ok((caller, policy)) => {
            let stale_cookie = caller.stale_cookie;
            let reply =
                graphql::respond(&schema, &services, request, caller, policy, accepts_gzip(http)).await;
            let mut response = finish(reply, ResponseFormat::of(http));
            clear_stale_cookie(&mut response, stale_cookie, &services.cookies);
            response
        }
        Err(refusal) => refusal,
    }
}

/// Who calls, and how their reads must be made: a session that wrote lately reads its own writes. A
/// bearer token that does not verify, or whose session was ended (logged out, or all of its
/// account's sessions), is refused with `UNAUTHENTICATED`; such a cookie makes the caller a guest
/// whose cookie is cleared. The request's `cost` in operations is charged to the rate limits. When
/// the session is `checked_later` (by the operations themselves), it is not looked up here.
async fn request_context(
    http: &Request,
    services: &Arc<Services>,
    cost: u32,
    checked_later: bool,
) -> Result<(Caller, ReadPolicy), Response> {
    let caller = auth::caller(http, &services.tokens, &services.trusted_proxies)
        .map_err(|err| error_response(StatusCode::OK, ErrorCode::Unauthenticated, &err.to_string()))?;
    let session = match &caller.session {
        Some(session) if !checked_later => session,
        _ => {
            admit(services, &caller, cost).await?;
            return Ok((caller, ReadPolicy::EVENTUAL));
        }
    };
    // Two independent Redis round trips, taken at once. Without Redis a session reads like any other;
    // a signed-in one cannot be checked for having ended, so what needs the sign-in is refused.
    let (admitted, state) = tokio::join!(admit(services, &caller, cost), services.sessions.state(session));
    admitted?;
    let state = match state {
        Ok(state) => state,
        Err(_) if session.subject.is_some() => {
            return Ok((Caller { unchecked: true, ..caller }, ReadPolicy::EVENTUAL));
        }
        Err(_) => SessionState::default(),
    };
    if state.revoked {
        if caller.from_cookie {
            return Ok((caller.dropping_cookie(), ReadPolicy::EVENTUAL));
        }
        return Err(error_response(
            StatusCode::OK,
            ErrorCode::Unauthenticated,
            "the session has ended; sign in again",
        ));
    }
    Ok((caller, state.read_policy()))
}

/// Charges the request's `cost` (its operations) to its client's address (an IPv6 client's /64) and to
/// its session; over
/// either budget it is refused with 429 and `Retry-After`. Without Redis nothing is limited, so the
/// catalogue keeps answering.
async fn admit(services: &Services, caller: &Caller, cost: u32) -> Result<(), Response> {
    let ip = caller.ip.map(|ip| format!("ip:{}", address_group(ip)));
    let session = caller.session.as_ref().map(|session| format!("session:{}", session.id));
    let rates = &services.rates;
    let buckets: Vec<(&str, Rate)> = (ip.iter().map(|key| (key.as_str(), rates.per_ip)))
        .chain(session.iter().map(|key| (key.as_str(), rates.per_session)))
        .collect();
    match services.rate_limiter.admit_request(&buckets, cost).await {
        Ok(Admission::Limited(wait)) => {
            let error = graphql::request_error(graphql::rate_limited(wait));
            let mut refused = errors_response(StatusCode::TOO_MANY_REQUESTS, vec![error]);
            refused.headers_mut().insert(header::RETRY_AFTER, graphql::retry_after_seconds(wait).into());
            Err(refused)
        }
        Ok(Admission::Allowed) => Ok(()),
        Err(err) => {
            tracing::debug!(error = %err, "rate limits not checked");
            Ok(())
        }
    }
}

fn into_request(params: GetParams) -> Result<async_graphql::Request, String> {
    let mut request = async_graphql::Request::new(params.query);
    request.operation_name = params.operation_name;
    if let Some(variables) = params.variables {
        let json = serde_json::from_str(&variables).map_err(|e| format!("variables is not JSON: {e}"))?;
        request.variables = Variables::from_json(json);
    }
    if let Some(extensions) = params.extensions {
        request.extensions =
            serde_json::from_str(&extensions).map_err(|e| format!("extensions is not a JSON object: {e}"))?;
    }
    Ok(request)
}

/// Clears the session cookie of a caller whose cookie named no valid session, unless the answer gives
/// it a new one.
fn clear_stale_cookie(response: &mut Response, stale: bool, policy: &CookiePolicy) {
    let session_cookie = format!("{}=", auth::SESSION_COOKIE);
    let sets_one = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|value| value.to_str().is_ok_and(|value| value.starts_with(&session_cookie)));
    if stale && !sets_one {
        let cleared = header::HeaderValue::from_str(&auth::expired_session_cookie(policy))
            .expect("the session cookie's attributes are valid header text");
        response.headers_mut().append(header::SET_COOKIE, cleared);
    }
}

/// The HTTP response of `reply` in `format`: a request error is 400 in the GraphQL-over-HTTP format.
fn finish(reply: graphql::Reply, format: ResponseFormat) -> Response {
    let mut response = reply.response;
    response.set_status(format.status(reply.request_error));
    response
}

fn limit_response(exceeded: LimitExceeded) -> Response {
    errors_response(StatusCode::BAD_REQUEST, vec![exceeded.into_server_error()])
}
