//! Automatic persisted queries (Apollo's APQ protocol) at the door, before anything reads the
//! document: `extensions.persistedQuery.sha256Hash` alone stands for a document registered earlier
//! (on any instance: the store is Redis); the hash with the document registers it. With
//! `--persisted-queries-only`, only documents already registered (by `myclothes persist`) are run.
//! Only a document that parses and fits the document limit is stored, so that Redis never keeps what
//! could not run.

use async_graphql::parser::parse_query;
use async_graphql::{Request, ServerError};
use infra::persisted_queries::{REGISTERED_FOR, hash_of};
use serde::Deserialize;

use crate::graphql::{ErrorCode, error, request_error};
use crate::services::Services;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersistedQuery {
    version: i32,
    sha256_hash: String,
}

/// Fills in or registers the document of `request`'s persisted query, if it names one; a document is
/// registered only if it parses and has at most `max_bytes`.
pub async fn resolve(
    request: &mut Request,
    services: &Services,
    only_persisted: bool,
    max_bytes: usize,
) -> Result<(), ServerError> {
    let Some(extension) = request.extensions.remove("persistedQuery") else {
        return match only_persisted {
            true => Err(refusal("PersistedQueryRequired", ErrorCode::PersistedQueryRequired)),
            false => Ok(()),
        };
    };
    let persisted: PersistedQuery = extension
        .into_json()
        .ok()
        .and_then(|json| serde_json::from_value(json).ok())
        .filter(|p: &PersistedQuery| p.version == 1 && is_hash(&p.sha256_hash))
        .ok_or_else(|| refusal("persistedQuery must be { version: 1, sha256Hash }", ErrorCode::BadRequest))?;
    let stored = services.persisted_queries.get(&persisted.sha256_hash).await;
    if request.query.is_empty() {
        return match stored {
            Ok(Some(document)) => {
                request.query = document;
                Ok(())
            }
            Ok(None) => Err(refusal("PersistedQueryNotFound", ErrorCode::PersistedQueryNotFound)),
            Err(_) => Err(refusal(
                "persisted queries are unavailable; send the document",
                ErrorCode::ServiceUnavailable,
            )),
        };
    }
    if hash_of(&request.query) != persisted.sha256_hash {
        return Err(refusal("provided sha does not match query", ErrorCode::BadRequest));
    }
    if only_persisted {
        return match stored {
            Ok(Some(_)) => Ok(()),
            _ => Err(refusal("PersistedQueryRequired", ErrorCode::PersistedQueryRequired)),
        };
    }
    let could_run = request.query.len() <= max_bytes && parse_query(&request.query).is_ok();
    if could_run
        && !matches!(stored, Ok(Some(_)))
        && let Err(err) = services.persisted_queries.register(&request.query, Some(REGISTERED_FOR)).await
    {
        tracing::debug!(error = %err, "a persisted query was not registered");
    }
    Ok(())
}

/// Whether `hash` has the form of a hex SHA-256, so that what clients send is bounded before it
/// becomes part of a Redis key.
fn is_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

fn refusal(message: &str, code: ErrorCode) -> ServerError {
    request_error(error(code, message))
}
