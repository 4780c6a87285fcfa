//! Automatic persisted queries (Apollo's APQ protocol) at the door, before anything reads the
//! document: `extensions.persistedQuery.sha256Hash` alone stands for a document registered earlier
//! (on any instance: the store is Redis); the hash with the document registers it. With
//! `--persisted-queries-only`, only documents already registered (by `myclothes persist`) are run.

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

/// Fills in or registers the document of `request`'s persisted query, if it names one.
pub async fn resolve(
    request: &mut Request,
    services: &Services,
    only_persisted: bool,
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
        .filter(|p: &PersistedQuery| p.version == 1)
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
    if !matches!(stored, Ok(Some(_)))
        && let Err(err) = services.persisted_queries.register(&request.query, Some(REGISTERED_FOR)).await
    {
        tracing::debug!(error = %err, "a persisted query was not registered");
    }
    Ok(())
}

fn refusal(message: &str, code: ErrorCode) -> ServerError {
    request_error(error(code, message))
}
