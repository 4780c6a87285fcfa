//! The one place errors become GraphQL errors with an `extensions.code`.
//! Unexpected errors are logged in full and reach the client only as `INTERNAL_SERVER_ERROR`.

use async_graphql::ErrorExtensions;

/// Every `extensions.code` of a top-level error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    /// The document is not GraphQL.
    GraphqlParseFailed,
    /// The document does not fit the schema.
    GraphqlValidationFailed,
    /// A persisted query's hash that no instance knows: send the document with it.
    PersistedQueryNotFound,
    /// This server runs registered documents only.
    PersistedQueryRequired,
    BadUserInput,
    Unauthenticated,
    Forbidden,
    RateLimited,
    ServiceUnavailable,
    InternalServerError,
}

impl ErrorCode {
    /// The codes of errors that stop a request before it is executed.
    pub const BEFORE_EXECUTION: [Self; 3] =
        [Self::GraphqlParseFailed, Self::GraphqlValidationFailed, Self::BadRequest];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "BAD_REQUEST",
            Self::GraphqlParseFailed => "GRAPHQL_PARSE_FAILED",
            Self::GraphqlValidationFailed => "GRAPHQL_VALIDATION_FAILED",
            Self::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Self::PersistedQueryRequired => "PERSISTED_QUERY_REQUIRED",
            Self::BadUserInput => "BAD_USER_INPUT",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::Forbidden => "FORBIDDEN",
            Self::RateLimited => "RATE_LIMITED",
            Self::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Self::InternalServerError => "INTERNAL_SERVER_ERROR",
        }
    }
}

pub fn error(code: ErrorCode, message: &str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, ext| ext.set("code", code.as_str()))
}

/// Too many requests: try again after `wait` (also in `extensions.retryAfter`, in whole seconds).
pub fn rate_limited(wait: std::time::Duration) -> async_graphql::Error {
    let seconds = retry_after_seconds(wait);
    async_graphql::Error::new(format!("too many requests; try again in {seconds} s")).extend_with(|_, ext| {
        ext.set("code", ErrorCode::RateLimited.as_str());
        ext.set("retryAfter", seconds);
    })
}

/// `wait` in whole seconds, rounded up, as `Retry-After` wants it.
pub fn retry_after_seconds(wait: std::time::Duration) -> u64 {
    wait.as_millis().div_ceil(1000).max(1) as u64
}

/// An unexpected failure of the whole request; `requestId` matches it to the request's log lines.
pub fn internal_error(request_id: &str) -> async_graphql::ServerError {
    let mut internal = request_error(error(ErrorCode::InternalServerError, "internal error"));
    internal.extensions.get_or_insert_with(Default::default).set("requestId", request_id);
    internal
}

/// The body of an answer that is errors only, without `data`: the request never ran.
pub fn errors_body(errors: &[async_graphql::ServerError]) -> String {
    serde_json::json!({ "errors": errors }).to_string()
}

/// `error` as an error of the whole request: it points at no place in the document.
pub fn request_error(error: async_graphql::Error) -> async_graphql::ServerError {
    let mut request_error = async_graphql::ServerError::new(error.message, None);
    request_error.extensions = error.extensions;
    request_error
}

/// An argument the client can correct; `message` says what is wrong with it.
pub fn bad_user_input(message: &str) -> async_graphql::Error {
    error(ErrorCode::BadUserInput, message)
}

/// `.or_graphql()?` in a resolver turns a service error into the GraphQL error clients see.
pub trait OrGraphql<T> {
    fn or_graphql(self) -> async_graphql::Result<T>;
}

impl<T> OrGraphql<T> for Result<T, infra::Error> {
    fn or_graphql(self) -> async_graphql::Result<T> {
        self.map_err(|err| match err {
            infra::Error::DatabaseUnavailable(_) | infra::Error::RedisUnavailable(_) => {
                tracing::warn!(error = %err, "service unavailable");
                error(
                    ErrorCode::ServiceUnavailable,
                    "a service this request needs is unavailable; retry shortly",
                )
            }
            infra::Error::Unexpected(err) => {
                tracing::error!(error = ?err, "unexpected error");
                error(ErrorCode::InternalServerError, "internal error")
            }
        })
    }
}
