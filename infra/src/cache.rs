//! Cache-aside for catalogue reads in Redis. Every key is one `CacheKey` (the only place a cache key
//! is spelled), stored under the catalogue's current *generation*: a write bumps the generation, so
//! every entry cached before it, or filled by a reader that raced it, is never served again. The
//! generation and the entry are read in one round trip. Misses of one key within an instance share one
//! load (single flight). While Redis is down, reads go straight to the loader.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Script;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::redis::RedisStore;

/// Everything the catalogue caches.
#[derive(Debug, Clone, Copy)]
pub enum CacheKey<'a> {
    ProductBySlug(&'a str),
    ProductById(Uuid),
    /// A page of a listing, by the fingerprint of its normalised filter, sort and page.
    ListingPage(&'a str),
    /// The total of a listing, by the fingerprint of its normalised filter.
    ListingCount(&'a str),
    /// The facet counts of a listing, by the fingerprint of its normalised filter.
    ListingFacets(&'a str),
    /// A whole GraphQL response to a public catalogue query, by the fingerprint of the request.
    Response(&'a str),
}

impl CacheKey<'_> {
    fn suffix(&self) -> String {
        match self {
            Self::ProductBySlug(slug) => format!("product:slug:{slug}"),
            Self::ProductById(id) => format!("product:id:{id}"),
            Self::ListingPage(fingerprint) => format!("listing:page:{fingerprint}"),
            Self::ListingCount(fingerprint) => format!("listing:count:{fingerprint}"),
            Self::ListingFacets(fingerprint) => format!("listing:facets:{fingerprint}"),
            Self::Response(fingerprint) => format!("response:{fingerprint}"),
        }
    }
}

#[derive(Clone)]
pub struct CacheSettings {
    pub ttl: Duration,
    /// Each entry lives `ttl` ± this fraction of it, at random, so entries filled together do not
    /// all expire together.
    pub jitter: f64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Reads that went to the loader because Redis was unavailable.
    pub bypassed: u64,
}

pub struct CatalogCache {
    redis: Arc<RedisStore>,
    settings: CacheSettings,
    in_flight: Mutex<HashMap<String, Arc<OnceCell<Vec<u8>>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
}

/// KEYS[1] the generation; ARGV[1] the prefix of entry keys, ARGV[2] the entry's suffix.
const READ: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
";

/// KEYS[1] the generation; ARGV[1] the prefix of entry keys, ARGV[2…] suffixes to delete.
const INVALIDATE: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
for i = 2, #ARGV do redis.call('DEL', ARGV[1] .. generation .. ':' .. ARGV[i]) end
return redis.call('INCR', KEYS[1])
";

impl CatalogCache {
    pub fn new(redis: Arc<RedisStore>, settings: CacheSettings) -> Self {
        Self {
            redis,
            settings,
            in_flight: Mutex::new(HashMap::new()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            bypassed: AtomicU64::new(0),
        }
    }

    /// The cached value of `key`, or `load`'s, which is then cached. An entry that no longer decodes
    /// (written by another version) is passed over.
    pub async fn get_or_load<T, F, Fut>(&self, key: CacheKey<'_>, load: F) -> Result<T, crate::Error>
    where
        T: Serialize + DeserializeOwned,
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, crate::Error>>,
    {
        let bytes = self
            .get_or_render(key, || async {
                let value = load().await?;
                Ok((serde_json::to_vec(&value).map_err(anyhow::Error::from)?, true))
            })
            .await?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(value),
            Err(err) => {
                tracing::warn!(key = %key.suffix(), error = %err, "unreadable cache entry; reading the database");
                load().await
            }
        }
    }

    /// The cached bytes of `key`, or those `render` makes, which are cached when it says so.
    pub async fn get_or_render<F, Fut>(&self, key: CacheKey<'_>, render: F) -> Result<Vec<u8>, crate::Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(Vec<u8>, bool), crate::Error>>,
    {
        let suffix = key.suffix();
        let generation = match self.read(&suffix).await {
            Ok((_, Some(bytes))) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(bytes);
            }
            Ok((generation, None)) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                Some(generation)
            }
            Err(_) => {
                self.bypassed.fetch_add(1, Ordering::Relaxed);
                None
            }
        };
        let flight_key = format!("{}:{suffix}", generation.as_deref().unwrap_or("-"));
        self.single_flight(&flight_key, async {
            let (bytes, cacheable) = render().await?;
            if let (Some(generation), true) = (&generation, cacheable) {
                self.store(generation, &suffix, &bytes).await;
            }
            Ok(bytes)
        })
        .await
    }

    /// Makes every cached entry unreachable (a new generation) and deletes `keys` of the current one.
    pub async fn invalidate(&self, keys: &[CacheKey<'_>]) -> Result<(), crate::Error> {
        let (generation_key, prefix) = (self.generation_key(), self.entry_prefix());
        let suffixes: Vec<String> = keys.iter().map(CacheKey::suffix).collect();
        self.redis
            .run(|mut connection| async move {
                Script::new(INVALIDATE)
                    .key(generation_key)
                    .arg(prefix)
                    .arg(suffixes)
                    .invoke_async::<i64>(&mut connection)
                    .await
            })
            .await
            .map(drop)
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypassed: self.bypassed.load(Ordering::Relaxed),
        }
    }

    /// The Redis key an entry of the current `generation` has (for tests and operators).
    pub fn redis_key(&self, generation: &str, key: CacheKey<'_>) -> String {
        format!("{}{generation}:{}", self.entry_prefix(), key.suffix())
    }

    pub fn generation_key(&self) -> String {
        self.redis.key("catalog:generation")
    }

    fn entry_prefix(&self) -> String {
        self.redis.key("catalog:")
    }

    async fn read(&self, suffix: &str) -> Result<(String, Option<Vec<u8>>), crate::Error> {
        let (generation_key, prefix, suffix) =
            (self.generation_key(), self.entry_prefix(), suffix.to_owned());
        self.redis
            .run(|mut connection| async move {
                Script::new(READ)
                    .key(generation_key)
                    .arg(prefix)
                    .arg(suffix)
                    .invoke_async(&mut connection)
                    .await
            })
            .await
    }

    async fn store(&self, generation: &str, suffix: &str, bytes: &[u8]) {
        let key = format!("{}{generation}:{suffix}", self.entry_prefix());
        let ttl = self.ttl_with_jitter();
        let bytes = bytes.to_vec();
        let stored = self
            .redis
            .run(|mut connection| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(bytes)
                    .arg("PX")
                    .arg(ttl.as_millis() as u64)
                    .query_async::<()>(&mut connection)
                    .await
            })
            .await;
        if let Err(err) = stored {
            tracing::debug!(error = %err, "could not fill the cache");
        }
    }

    fn ttl_with_jitter(&self) -> Duration {
        let spread = (rand::random::<f64>() * 2.0 - 1.0) * self.settings.jitter;
        self.settings.ttl.mul_f64((1.0 + spread).max(0.1))
    }

    /// Runs `load` once for all concurrent callers with the same `key` in this instance.
    async fn single_flight(
        &self,
        key: &str,
        load: impl Future<Output = Result<Vec<u8>, crate::Error>>,
    ) -> Result<Vec<u8>, crate::Error> {
        let cell = {
            let mut in_flight = self.in_flight.lock().expect("the in-flight map is never poisoned");
            in_flight.entry(key.to_owned()).or_default().clone()
        };
        let result = cell.get_or_try_init(|| load).await.cloned();
        let mut in_flight = self.in_flight.lock().expect("the in-flight map is never poisoned");
        if in_flight.get(key).is_some_and(|current| Arc::ptr_eq(current, &cell)) {
            in_flight.remove(key);
        }
        result
    }
}
