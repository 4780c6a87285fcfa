//! Cache-aside in Redis for catalogue reads and customer profiles. Every key is one `CacheKey` (the
//! only place a cache key is spelled), stored under the current *generation* of its `Scope` (the whole
//! catalogue, or one customer's profile): a write bumps the generation, so every entry of the scope
//! cached before it is never served again. The generation keeps the primary's WAL position
//! of the write that made it, and a miss fills the cache only with data read at least that far (from
//! a replica that has replayed it, or else the primary), so a lagging replica cannot put the old data
//! back. The generation and the entry are read in one round trip. Misses of one key within an instance
//! share one load (single flight). While Redis is down, reads go straight to the loader.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use redis::Script;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::db::Consistency;
use crate::redis::RedisStore;

/// What one write makes stale: the whole catalogue, or one customer's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Catalog,
    Profile(Uuid),
}

impl Scope {
    fn name(&self) -> String {
        match self {
            Self::Catalog => "catalog".to_owned(),
            Self::Profile(customer) => format!("profile:{customer}"),
        }
    }
}

/// Everything that is cached.
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
    /// Variants with their products, by the fingerprint of the set of ids (a cart's contents).
    Variants(&'a str),
    /// A customer's profile with their address book.
    Profile(Uuid),
}

impl CacheKey<'_> {
    pub fn scope(&self) -> Scope {
        match self {
            Self::Profile(customer) => Scope::Profile(*customer),
            _ => Scope::Catalog,
        }
    }

    fn suffix(&self) -> String {
        match self {
            Self::ProductBySlug(slug) => format!("product:slug:{slug}"),
            Self::ProductById(id) => format!("product:id:{id}"),
            Self::ListingPage(fingerprint) => format!("listing:page:{fingerprint}"),
            Self::ListingCount(fingerprint) => format!("listing:count:{fingerprint}"),
            Self::ListingFacets(fingerprint) => format!("listing:facets:{fingerprint}"),
            Self::Response(fingerprint) => format!("response:{fingerprint}"),
            Self::Variants(fingerprint) => format!("variants:{fingerprint}"),
            Self::Profile(_) => "profile".to_owned(),
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

pub struct ReadCache {
    redis: Arc<RedisStore>,
    settings: CacheSettings,
    in_flight: Mutex<HashMap<String, Arc<OnceCell<Vec<u8>>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
}

/// KEYS[1] the generation, KEYS[2] its write position; ARGV[1] the prefix of entry keys, ARGV[2] the
/// entry's suffix. Returns the generation, its position ('' for none) and the entry (nil on a miss).
static READ_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(READ));
const READ: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
local position = redis.call('GET', KEYS[2]) or ''
return {generation, position, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
";

/// KEYS[1] the generation, KEYS[2] its write position; ARGV[1] the write's position, ARGV[2] the
/// prefix of entry keys, ARGV[3…] suffixes to delete.
static INVALIDATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(INVALIDATE));
const INVALIDATE: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
for i = 3, #ARGV do redis.call('DEL', ARGV[2] .. generation .. ':' .. ARGV[i]) end
redis.call('SET', KEYS[2], ARGV[1])
return redis.call('INCR', KEYS[1])
";

impl ReadCache {
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

    /// The cached value of `key`, or `load`'s, which is then cached. `load` reads with the consistency
    /// it is given. An entry that no longer decodes (written by another version) is passed over.
    pub async fn get_or_load<T, F, Fut>(&self, key: CacheKey<'_>, load: F) -> Result<T, crate::Error>
    where
        T: Serialize + DeserializeOwned,
        F: Fn(Consistency) -> Fut,
        Fut: Future<Output = Result<T, crate::Error>>,
    {
        let bytes = self
            .get_or_render(key, |at| async {
                let value = load(at).await?;
                Ok((serde_json::to_vec(&value).map_err(anyhow::Error::from)?, true))
            })
            .await?;
        match serde_json::from_slice(&bytes) {
            Ok(value) => Ok(value),
            Err(err) => {
                tracing::warn!(key = %key.suffix(), error = %err, "unreadable cache entry; reading the database");
                load(Consistency::Eventual).await
            }
        }
    }

    /// The cached bytes of `key`, or those `render` makes (reading with the consistency it is given),
    /// which are cached when it says so.
    pub async fn get_or_render<F, Fut>(&self, key: CacheKey<'_>, render: F) -> Result<Vec<u8>, crate::Error>
    where
        F: FnOnce(Consistency) -> Fut,
        Fut: Future<Output = Result<(Vec<u8>, bool), crate::Error>>,
    {
        let (generation, at) = match self.read(key).await {
            Ok((_, _, Some(bytes))) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(bytes);
            }
            Ok((generation, position, None)) => {
                self.misses.fetch_add(1, Ordering::Relaxed);
                let at =
                    if position.is_empty() { Consistency::Eventual } else { Consistency::AtLeast(position) };
                (Some(generation), at)
            }
            Err(_) => {
                self.bypassed.fetch_add(1, Ordering::Relaxed);
                (None, Consistency::Eventual)
            }
        };
        let flight_key = self.redis_key(generation.as_deref().unwrap_or("-"), key);
        self.single_flight(&flight_key, async {
            let (bytes, cacheable) = render(at).await?;
            if let (Some(generation), true) = (&generation, cacheable) {
                self.store(generation, key, &bytes).await;
            }
            Ok(bytes)
        })
        .await
    }

    /// Makes every cached entry of `scope` unreachable (a new generation, whose entries are read at
    /// least at the write's `position`) and deletes `keys` of the current one. Returns the new generation.
    pub async fn invalidate(
        &self,
        scope: Scope,
        keys: &[CacheKey<'_>],
        position: &str,
    ) -> Result<String, crate::Error> {
        debug_assert!(keys.iter().all(|key| key.scope() == scope));
        let (generation_key, position_key, prefix) =
            (self.generation_key(scope), self.position_key(scope), self.entry_prefix(scope));
        let suffixes: Vec<String> = keys.iter().map(CacheKey::suffix).collect();
        let position = position.to_owned();
        self.redis
            .eval::<i64>(&INVALIDATE_SCRIPT, vec![generation_key, position_key], (position, prefix, suffixes))
            .await
            .map(|generation| generation.to_string())
    }

    /// After a write at `position`: a new generation of `key`'s scope, holding at once the value
    /// `load` then reads from the primary. A later write's generation supersedes it, so a value that
    /// raced with a newer write is never served.
    pub async fn write_through<T, Fut>(
        &self,
        key: CacheKey<'_>,
        position: &str,
        load: impl FnOnce(Consistency) -> Fut,
    ) -> Result<(), crate::Error>
    where
        T: Serialize,
        Fut: Future<Output = Result<T, crate::Error>>,
    {
        let generation = self.invalidate(key.scope(), &[], position).await?;
        let value = load(Consistency::Primary).await?;
        self.store(&generation, key, &serde_json::to_vec(&value).map_err(anyhow::Error::from)?).await;
        Ok(())
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypassed: self.bypassed.load(Ordering::Relaxed),
        }
    }

    /// The Redis key an entry of `generation` has (for tests and operators).
    pub fn redis_key(&self, generation: &str, key: CacheKey<'_>) -> String {
        format!("{}{generation}:{}", self.entry_prefix(key.scope()), key.suffix())
    }

    pub fn generation_key(&self, scope: Scope) -> String {
        self.redis.key(&format!("{}:generation", scope.name()))
    }

    fn position_key(&self, scope: Scope) -> String {
        self.redis.key(&format!("{}:generation:position", scope.name()))
    }

    fn entry_prefix(&self, scope: Scope) -> String {
        self.redis.key(&format!("{}:", scope.name()))
    }

    async fn read(&self, key: CacheKey<'_>) -> Result<(String, String, Option<Vec<u8>>), crate::Error> {
        let (generation_key, position_key) =
            (self.generation_key(key.scope()), self.position_key(key.scope()));
        let (prefix, suffix) = (self.entry_prefix(key.scope()), key.suffix());
        self.redis.eval(&READ_SCRIPT, vec![generation_key, position_key], (prefix, suffix)).await
    }

    async fn store(&self, generation: &str, key: CacheKey<'_>, bytes: &[u8]) {
        let key = self.redis_key(generation, key);
        if let Err(err) = self.redis.set_expiring(key, bytes, self.ttl_with_jitter()).await {
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
