//! Persisted queries (Apollo's APQ protocol): GraphQL documents stored in Redis by their SHA-256, so
//! that clients send a short hash instead of the document, and every instance knows a hash any
//! instance has learned. Documents registered by clients expire; those an operator persists do not.

use std::sync::Arc;
use std::time::Duration;

use crate::redis::RedisStore;

/// How long a document a client registered is kept after it was registered.
pub const REGISTERED_FOR: Duration = Duration::from_secs(7 * 24 * 3600);

pub struct PersistedQueries {
    redis: Arc<RedisStore>,
}

/// The hex SHA-256 of `document`, as APQ clients compute it.
pub fn hash_of(document: &str) -> String {
    crate::digest::sha256_hex(document.as_bytes(), 32)
}

impl PersistedQueries {
    pub fn new(redis: Arc<RedisStore>) -> Self {
        Self { redis }
    }

    /// The document with `hash`, if one was registered.
    pub async fn get(&self, hash: &str) -> Result<Option<String>, crate::Error> {
        let key = self.key(hash);
        self.redis.run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await }).await
    }

    /// Stores `document` under its hash, for `lifetime` or, without one, for good.
    pub async fn register(&self, document: &str, lifetime: Option<Duration>) -> Result<String, crate::Error> {
        let hash = hash_of(document);
        let (key, document) = (self.key(&hash), document.to_owned());
        self.redis
            .run(|mut c| async move {
                let mut set = redis::cmd("SET");
                set.arg(key).arg(document);
                if let Some(lifetime) = lifetime {
                    set.arg("PX").arg(lifetime.as_millis() as u64);
                }
                set.query_async::<()>(&mut c).await
            })
            .await?;
        Ok(hash)
    }

    fn key(&self, hash: &str) -> String {
        self.redis.key(&format!("apq:{hash}"))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_hash_is_the_hex_sha256_of_the_document() {
        assert_eq!(
            super::hash_of("{ __typename }"),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
    }
}
