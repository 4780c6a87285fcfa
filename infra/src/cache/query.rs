//! Cached reads, declared: a query says where its answer is cached, how to read it from the database,
//! and which parts of the catalogue it shows; `ReadCache::fetch` does the rest the same way for all.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{CacheKey, ReadCache, Tag};
use crate::db::Consistency;

/// A read whose answer may come from the cache.
pub trait CachedQuery: Sync {
    /// Cloned from the near cache, which keeps a decoded copy.
    type Value: Serialize + DeserializeOwned + Clone + Send + Sync + 'static;

    /// Where the answer is cached (and so its scope).
    fn key(&self) -> CacheKey<'_>;

    /// What any answer to it shows, whatever it shows of its parts: which products a listing holds.
    /// (The parts' fields say what they show when they are read.)
    fn shows(&self) -> Vec<Tag> {
        Vec::new()
    }

    /// What else this answer shows that a write can change without changing its whole scope: the
    /// products in it. The cached entry goes when one of these, or of `shows`, is invalidated.
    fn depends_on(&self, _value: &Self::Value) -> Vec<Tag> {
        Vec::new()
    }

    /// Reads the answer from the database, seeing at least what `at` asks for.
    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send;
}

/// What a caller's reads must see, and whether the cache may answer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadPolicy {
    pub consistency: Consistency,
    /// The cache has forgotten whatever the caller wrote, so its answers show the caller's writes.
    pub through_cache: bool,
    /// The near cache may answer once it has applied the invalidations published on its channel up
    /// to this one, the caller's last write's (0 for a caller that wrote nothing there); never
    /// when none.
    pub from_memory_after: Option<u64>,
}

impl ReadPolicy {
    /// Whatever a replica or the cache has.
    pub const EVENTUAL: Self =
        Self { consistency: Consistency::Eventual, through_cache: true, from_memory_after: Some(0) };
    /// Everything committed, for the answers of mutations.
    pub const PRIMARY: Self =
        Self { consistency: Consistency::Primary, through_cache: false, from_memory_after: None };
}

/// How one request reads: its policy, and what the answers it read show (so that a whole response
/// cached from them goes with any of them).
#[derive(Debug, Clone)]
pub struct Reads {
    policy: ReadPolicy,
    shown: Arc<Mutex<BTreeSet<Tag>>>,
}

impl Reads {
    pub fn new(policy: ReadPolicy) -> Self {
        Self { policy, shown: Arc::default() }
    }

    /// What uncached reads must see.
    pub fn consistency(&self) -> Consistency {
        self.policy.consistency
    }

    /// Notes that the request's answer shows `tags`; the read models' accessors of stock and prices
    /// call it.
    pub fn shows(&self, tags: impl IntoIterator<Item = Tag>) {
        self.shown.lock().expect("the set of tags is never poisoned").extend(tags);
    }

    /// Everything the request's answer shows.
    pub fn shown(&self) -> Vec<Tag> {
        self.shown.lock().expect("the set of tags is never poisoned").iter().copied().collect()
    }
}

impl ReadCache {
    /// The answer to `query`: from the cache when `reads` may use it, else read from the database
    /// with their consistency. Either way `reads` learns what the answer shows.
    pub async fn fetch<Q: CachedQuery>(&self, query: &Q, reads: &Reads) -> Result<Q::Value, crate::Error> {
        reads.shows(query.shows());
        if reads.policy.through_cache {
            self.get_or_load(query, reads.policy).await
        } else {
            // Boxed like a miss (see `find_or_render`).
            Box::pin(query.load(reads.consistency())).await
        }
    }
}
