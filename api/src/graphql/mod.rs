//! The GraphQL schema, composed from one object per feature (each feature a folder), and the mapping
//! of service errors to GraphQL errors.

mod budget;
mod cart;
mod catalog;
mod context;
mod customer;
mod discount;
mod errors;
mod global_id;
mod guards;
mod inputs;
pub(crate) mod limits;
mod money;
pub(crate) mod operation;
mod order;
mod response_cache;
mod session;
mod shipping;
mod shop;
mod user_error;
mod write_path;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use futures::FutureExt;

use async_graphql::{EmptySubscription, MergedObject, Schema, SchemaBuilder, ValidationMode};
use infra::cache::{ReadPolicy, Reads};

pub use errors::{ErrorCode, error, errors_body, rate_limited, request_error, retry_after_seconds};
pub use limits::LimitExceeded;
pub use write_path::{committed, committed_for};

pub use response_cache::{Reply, respond};

use crate::auth::Caller;
use crate::config::{QueryLimits, SchemaSettings};
use crate::services::Services;

#[derive(MergedObject, Default)]
pub struct Query(
    shop::ShopQuery,
    catalog::CatalogQuery,
    cart::CartQuery,
    customer::CustomerQuery,
    order::OrderQuery,
    shipping::ShippingQuery,
    discount::DiscountQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    session::SessionMutation,
    customer::CustomerMutation,
    customer::AddressMutation,
    cart::CartMutation,
    order::OrderMutation,
    catalog::CatalogMutation,
    shipping::ShippingMutation,
    discount::DiscountMutation,
);

pub type AppSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn schema(services: Arc<Services>, settings: SchemaSettings) -> AppSchema {
    let revalidating = configured(services.clone(), &settings).validation_mode(ValidationMode::Fast).finish();
    configured(services, &settings).data(Revalidating(revalidating)).finish()
}

/// The schema once more, validating only what async-graphql always does (its bounds and fragment
/// cycles), for documents its full validation has accepted before (`operation::Validation`).
struct Revalidating(AppSchema);

fn configured(
    services: Arc<Services>,
    settings: &SchemaSettings,
) -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    let limits = settings.limits;
    let mut builder =
        builder().limit_depth(limits.depth).limit_complexity(limits.complexity).data(limits).data(services);
    if !settings.introspection {
        builder = builder.disable_introspection();
    }
    if !settings.field_suggestions {
        builder = builder.disable_suggestions();
    }
    builder
}

/// Runs `request`: refused before validation when over a bound or with text no argument may hold,
/// every error coded. A panic in a resolver becomes `INTERNAL_SERVER_ERROR` like any unexpected error,
/// and every internal error carries `extensions.requestId`, the id the request's log lines carry.
///
/// These checks are not async-graphql extensions: with any extension, each field of an answer is
/// resolved through the extensions' chain, which cost a seven-line cart's read a fifth of its rate.
pub async fn execute(
    schema: &AppSchema,
    mut request: async_graphql::Request,
    request_id: &str,
) -> async_graphql::Response {
    let (started, operation) = (Instant::now(), operation::name(&mut request));
    let limits = schema.data::<QueryLimits>().expect("`schema` gives every schema its limits");
    let document = operation::document(&mut request);
    let validation = operation::Validation::of(&mut request);
    let admitted =
        limits.admit(&request.query, &document, |parsed| inputs::check_text(parsed, &request.variables));
    let mut response = match admitted {
        Ok(()) if validation.done() => {
            let revalidating = schema.data::<Revalidating>().expect("`schema` gives every schema its twin");
            run(&revalidating.0, request, request_id).await
        }
        Ok(()) => run(schema, request, request_id).await,
        Err(refused) => async_graphql::Response::from_errors(vec![refused]),
    };
    let refused = refused_before_execution(&response);
    if !refused && !validation.done() {
        validation.accepted();
    }
    match &document {
        _ if refused => limits.code_refusals(&mut response.errors),
        Ok(document) => inputs::name_arguments(document, &mut response.errors),
        Err(_) => {}
    }
    let internal = async_graphql::Value::from(ErrorCode::InternalServerError.as_str());
    for error in &mut response.errors {
        if let Some(extensions) = error.extensions.as_mut().filter(|e| e.get("code") == Some(&internal)) {
            extensions.set("requestId", request_id);
        }
    }
    let codes: Vec<String> = response.errors.iter().map(code_of).collect();
    codes.iter().for_each(|code| crate::metrics::record_error(code));
    let outcome = codes.first().map_or("ok", String::as_str);
    crate::metrics::record_operation(operation.as_deref(), outcome, started.elapsed());
    response
}

/// Executes `request`; a panic in a resolver answers as an internal error.
async fn run(
    schema: &AppSchema,
    request: async_graphql::Request,
    request_id: &str,
) -> async_graphql::Response {
    match AssertUnwindSafe(schema.execute(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let message =
                panic.downcast_ref::<&str>().copied().or(panic.downcast_ref::<String>().map(String::as_str));
            tracing::error!(panic = message.unwrap_or("?"), "a resolver panicked");
            async_graphql::Response::from_errors(vec![errors::internal_error(request_id)])
        }
    }
}

/// Whether async-graphql refused `response`'s request before running it: no data, and errors that
/// belong to no field.
fn refused_before_execution(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| error.path.is_empty())
}

/// Whether `response` failed before execution: every error a request error, and no data.
pub fn is_request_error(response: &async_graphql::Response) -> bool {
    response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|error| {
            let code = code_of(error);
            ErrorCode::BEFORE_EXECUTION.iter().any(|before| before.as_str() == code)
        })
}

/// The `extensions.code` of `error`.
fn code_of(error: &async_graphql::ServerError) -> String {
    match error.extensions.as_ref().and_then(|e| e.get("code")) {
        Some(async_graphql::Value::String(code)) => code.clone(),
        _ => "UNKNOWN".to_owned(),
    }
}

/// Gives `request` what it needs for one execution: the caller, its `Reads` (mutations answer from
/// the primary; a query reads with the caller's `policy`), and its own batch loaders reading with
/// that consistency. The `Reads` returned tell, after the execution, what its answer shows.
pub fn prepare(
    mut request: async_graphql::Request,
    services: &Arc<Services>,
    caller: Caller,
    policy: ReadPolicy,
) -> (async_graphql::Request, Reads) {
    let policy = if operation::is_mutation(&mut request) { ReadPolicy::PRIMARY } else { policy };
    operation::reuse_parsed(&mut request);
    let reads = Reads::new(policy);
    let loader = catalog::loaders::catalog_loader(services.queries.catalog.reader(policy.consistency));
    (request.data(loader).data(caller).data(reads.clone()), reads)
}

/// The schema in SDL; `schema.graphql` at the top of the repository is this text.
pub fn sdl() -> String {
    builder().finish().sdl()
}

fn builder() -> SchemaBuilder<Query, Mutation, EmptySubscription> {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .register_output_type::<catalog::types::Node>()
}
