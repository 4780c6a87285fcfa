//! The near cache: catalogue entries kept in this instance's memory, so that a hot read costs no
//! Redis round trip. It holds only copies of Redis entries (or of what was just filled there), each
//! stamped with the versions of what it shows, and it is kept coherent by what Redis pushes: every
//! invalidation of the catalogue is published on a channel that each instance follows, and a message
//! moves the versions of the tags it names (or of everything, for a new generation) so that the
//! entries stamped before it are never served again.
//!
//! The channel can be late or gone without saying so, so each instance publishes a tick on it every
//! `TICK_EVERY` and serves from memory only while its own latest tick came back less than `MAX_LAG`
//! after it was sent: a message is delivered after every message published before it, so every
//! invalidation that reached Redis before that tick was sent has been applied. A read from memory is
//! therefore older than an invalidation by at most `MAX_LAG`. When the subscription drops, every
//! entry is forgotten, as the messages of the gap will never come.
//!
//! Invalidations are numbered in Redis as they are published, and a tick carries the number of the
//! latest one published before it: once an invalidation, or a tick, is applied here, so is every
//! invalidation up to its number. A session that wrote is served from memory from then on, when its
//! write's invalidation is among them (`has_applied`); before, it reads past the near cache.
//!
//! Versions live in a fixed array of counters that tags are hashed onto: two tags may share one, which
//! only forgets a little more than needed, and the memory is bounded whatever the tags.
//!
//! An entry that answers a cached query also keeps the value its bytes encode once a read decoded it,
//! so that later reads copy the value instead of parsing JSON again; its weight counts that copy as
//! its bytes' size again. An entry that is a whole response keeps its bytes gzipped once a reader that
//! takes gzip asked for them, when that makes them at most a quarter of their size; its weight counts
//! that quarter from the start.

use std::any::Any;
use std::hash::BuildHasher;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flate2::Compression;
use flate2::write::GzEncoder;
use moka::sync::Cache;
use serde::de::DeserializeOwned;

/// How often an instance publishes its tick.
pub const TICK_EVERY: Duration = Duration::from_millis(100);
/// The longest the near cache serves after the send time of the latest tick it got back.
pub const MAX_LAG: Duration = Duration::from_millis(500);

const STRIPES: usize = 16_384;
/// The version every entry is stamped with: a new generation, or a lost subscription, moves it.
const EVERYTHING: usize = 0;

pub struct NearCache {
    entries: Cache<String, Arc<NearEntry>>,
    versions: Box<[AtomicU64]>,
    /// Moves before any version does, so that a fill can tell that a message arrived while it read.
    forgotten: AtomicU64,
    hasher: std::hash::RandomState,
    started: Instant,
    /// Milliseconds since `started` until which entries may be served.
    serve_until_ms: AtomicU64,
    /// The number of the latest invalidation known to be applied.
    applied: AtomicU64,
}

pub struct NearEntry {
    /// Shared with every response that serves them, never copied.
    bytes: Bytes,
    /// What `bytes` decode to, once a read decoded them.
    value: OnceLock<Box<dyn Any + Send + Sync>>,
    /// `bytes` gzipped, once a reader that takes gzip asked; none when that saves too little.
    gzipped: OnceLock<Option<Bytes>>,
    stamps: Vec<(usize, u64)>,
    weight: u32,
}

/// Whether an entry's readers decode it (the answer of a cached query) or take its bytes as they are
/// (a whole response): what it weighs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Bytes,
    Decoded,
}

impl NearEntry {
    pub fn bytes(&self) -> &Bytes {
        &self.bytes
    }

    /// The value the bytes encode: decoded by the first read, copied by the later ones.
    pub fn decoded<T: DeserializeOwned + Clone + Send + Sync + 'static>(&self) -> serde_json::Result<T> {
        if let Some(value) = self.value.get().and_then(|value| value.downcast_ref::<T>()) {
            return Ok(value.clone());
        }
        let value: T = serde_json::from_slice(&self.bytes)?;
        // Another read may have decoded it meanwhile; either copy is the same value.
        let _ = self.value.set(Box::new(value.clone()));
        Ok(value)
    }

    /// The bytes gzipped: compressed by the first read that asks, shared by the later ones. None when
    /// gzip leaves more than a quarter of them, which is all the entry's weight allows for.
    pub fn gzipped(&self) -> Option<&Bytes> {
        self.gzipped
            .get_or_init(|| gzip(&self.bytes).filter(|gzipped| gzipped.len() * 4 <= self.bytes.len()))
            .as_ref()
    }
}

fn gzip(bytes: &[u8]) -> Option<Bytes> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok().map(Bytes::from)
}

/// What a fill saw before it read Redis: an entry it then keeps is refused if anything was forgotten
/// in between.
#[derive(Debug, Clone, Copy)]
pub struct FillTicket(u64);

impl NearCache {
    /// A near cache of at most `capacity_bytes` of entries, each kept at most `ttl`.
    pub fn new(capacity_bytes: u64, ttl: Duration) -> Self {
        let entries = Cache::builder()
            .max_capacity(capacity_bytes)
            .weigher(|_key: &String, entry: &Arc<NearEntry>| entry.weight)
            .time_to_live(ttl)
            .build();
        Self {
            entries,
            versions: (0..STRIPES).map(|_| AtomicU64::new(0)).collect(),
            forgotten: AtomicU64::new(0),
            hasher: std::hash::RandomState::new(),
            started: Instant::now(),
            serve_until_ms: AtomicU64::new(0),
            applied: AtomicU64::new(0),
        }
    }

    /// The entry under `key`, if it may be served: the channel is on time and nothing it shows was
    /// forgotten since it was kept.
    pub fn get(&self, key: &str) -> Option<Arc<NearEntry>> {
        if !self.serving() {
            return None;
        }
        let entry = self.entries.get(key)?;
        let current = entry.stamps.iter().all(|&(stripe, version)| self.version(stripe) == version);
        if current {
            Some(entry)
        } else {
            self.entries.invalidate(key);
            None
        }
    }

    pub fn ticket(&self) -> FillTicket {
        FillTicket(self.forgotten.load(Ordering::SeqCst))
    }

    /// Keeps `bytes`, which show `tags`, under `key`, unless something was forgotten since `ticket`.
    pub fn insert(
        &self,
        ticket: FillTicket,
        key: &str,
        bytes: &[u8],
        held: Held,
        tags: impl IntoIterator<Item: AsRef<str>>,
    ) {
        let stamps: Vec<(usize, u64)> = std::iter::once(EVERYTHING)
            .chain(tags.into_iter().map(|tag| self.stripe(tag.as_ref())))
            .map(|stripe| (stripe, self.version(stripe)))
            .collect();
        if self.ticket().0 != ticket.0 {
            return;
        }
        let copies = match held {
            Held::Decoded => bytes.len() * 2,
            Held::Bytes => bytes.len() + bytes.len() / 4,
        };
        let weight = u32::try_from(key.len() + copies + stamps.len() * 16).unwrap_or(u32::MAX);
        let entry = NearEntry {
            bytes: Bytes::copy_from_slice(bytes),
            value: OnceLock::new(),
            gzipped: OnceLock::new(),
            stamps,
            weight,
        };
        self.entries.insert(key.to_owned(), Arc::new(entry));
        // A message applied between the check and the insert may have moved the versions before the
        // stamps were taken: then the entry could look current, so it goes.
        if self.ticket().0 != ticket.0 {
            self.entries.invalidate(key);
        }
    }

    /// Forgets every entry that shows one of `tags`, or every entry with `everything`.
    pub fn forget(&self, everything: bool, tags: impl IntoIterator<Item: AsRef<str>>) {
        self.forgotten.fetch_add(1, Ordering::SeqCst);
        if everything {
            self.versions[EVERYTHING].fetch_add(1, Ordering::SeqCst);
        }
        for tag in tags {
            self.versions[self.stripe(tag.as_ref())].fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Forgets everything and serves nothing until a tick comes back: the channel dropped.
    pub fn reset(&self) {
        self.serve_until_ms.store(0, Ordering::SeqCst);
        self.applied.store(0, Ordering::SeqCst);
        self.forget(true, [""; 0]);
        self.entries.invalidate_all();
    }

    /// Milliseconds since this cache began, the clock of ticks.
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Our tick sent at `sent_ms`, after the invalidation numbered `published`, came back: everything
    /// published before it has been applied.
    pub fn tick_returned(&self, sent_ms: u64, published: u64) {
        self.applied_through(published);
        self.serve_until_ms.fetch_max(sent_ms + MAX_LAG.as_millis() as u64, Ordering::SeqCst);
    }

    /// Every invalidation up to the one numbered `number` has been applied.
    pub fn applied_through(&self, number: u64) {
        self.applied.fetch_max(number, Ordering::SeqCst);
    }

    /// Whether the invalidation numbered `published`, and every one before it, has been applied.
    pub fn has_applied(&self, published: u64) -> bool {
        self.applied.load(Ordering::SeqCst) >= published
    }

    pub fn serving(&self) -> bool {
        self.serves_at(self.now_ms())
    }

    fn serves_at(&self, now_ms: u64) -> bool {
        now_ms < self.serve_until_ms.load(Ordering::SeqCst)
    }

    fn version(&self, stripe: usize) -> u64 {
        self.versions[stripe].load(Ordering::SeqCst)
    }

    /// The counter `tag` is hashed onto; never `EVERYTHING`.
    fn stripe(&self, tag: &str) -> usize {
        1 + (self.hasher.hash_one(tag) as usize) % (STRIPES - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving_cache() -> NearCache {
        let cache = NearCache::new(1 << 20, Duration::from_secs(60));
        cache.tick_returned(cache.now_ms(), 0);
        cache
    }

    fn keep(cache: &NearCache, key: &str, tags: &[&str]) {
        cache.insert(cache.ticket(), key, key.as_bytes(), Held::Bytes, tags);
    }

    fn bytes(cache: &NearCache, key: &str) -> Option<Vec<u8>> {
        cache.get(key).map(|entry| entry.bytes().to_vec())
    }

    #[test]
    fn an_entry_goes_with_any_tag_it_shows_and_only_then() {
        let cache = serving_cache();
        keep(&cache, "jacket", &["stock:jacket", "price:jacket"]);
        keep(&cache, "tee", &["stock:tee"]);

        cache.forget(false, ["price:jacket"]);

        assert_eq!(bytes(&cache, "jacket"), None);
        assert_eq!(bytes(&cache, "tee").as_deref(), Some(&b"tee"[..]));
    }

    #[test]
    fn a_decoded_entry_is_decoded_once_and_weighs_its_copy() {
        let cache = serving_cache();
        cache.insert(cache.ticket(), "sizes", br#"["S","M"]"#, Held::Decoded, ["stock:tee"]);
        let entry = cache.get("sizes").expect("kept");

        let first: Vec<String> = entry.decoded().expect("decodes");
        assert_eq!(first, ["S", "M"]);
        assert!(entry.value.get().is_some(), "the first read keeps what it decoded");
        let again: Vec<String> = entry.decoded().expect("copied");
        assert_eq!(again, first);
        assert!(entry.decoded::<u64>().is_err(), "a value of another type is decoded from the bytes");
        assert_eq!(entry.weight as usize, "sizes".len() + 2 * br#"["S","M"]"#.len() + 2 * 16);
    }

    #[test]
    fn a_response_is_gzipped_once_when_that_makes_it_a_quarter_or_less() {
        let cache = serving_cache();
        let listing = br#"{"size":"M","colour":"Navy","inStock":true},"#.repeat(100);
        cache.insert(cache.ticket(), "listing", &listing, Held::Bytes, ["stock:tee"]);
        keep(&cache, "tiny", &[]);
        let entry = cache.get("listing").expect("kept");

        let gzipped = entry.gzipped().expect("JSON of repeated shapes compresses well");
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gzipped[..]), &mut unzipped).unwrap();
        assert_eq!(unzipped, listing);
        assert!(std::ptr::eq(entry.gzipped().unwrap(), gzipped), "compressed once, then shared");
        assert_eq!(entry.weight as usize, "listing".len() + listing.len() + listing.len() / 4 + 2 * 16);
        assert_eq!(cache.get("tiny").expect("kept").gzipped(), None, "a gzip header outweighs four bytes");
    }

    #[test]
    fn a_new_generation_forgets_every_entry() {
        let cache = serving_cache();
        keep(&cache, "jacket", &["stock:jacket"]);
        keep(&cache, "about", &[]);

        cache.forget(true, [""; 0]);

        assert_eq!(bytes(&cache, "jacket"), None);
        assert_eq!(bytes(&cache, "about"), None);
    }

    /// An entry read from Redis before a message arrived may be older than the message.
    #[test]
    fn a_fill_that_read_before_a_message_is_not_kept() {
        let cache = serving_cache();
        let ticket = cache.ticket();
        cache.forget(false, ["stock:other"]);

        cache.insert(ticket, "jacket", b"old", Held::Bytes, ["stock:jacket"]);

        assert_eq!(bytes(&cache, "jacket"), None);
    }

    #[test]
    fn nothing_is_served_once_the_ticks_stop_coming_back_or_after_a_reset() {
        let cache = NearCache::new(1 << 20, Duration::from_secs(60));
        keep(&cache, "jacket", &[]);
        assert_eq!(bytes(&cache, "jacket"), None, "no tick came back yet");

        cache.tick_returned(cache.now_ms(), 0);
        assert!(cache.get("jacket").is_some());
        cache.tick_returned(0, 0);
        assert!(cache.get("jacket").is_some(), "an older tick does not shorten the time");

        cache.reset();
        assert!(!cache.serving());
        cache.tick_returned(cache.now_ms(), 0);
        assert_eq!(bytes(&cache, "jacket"), None, "a reset forgets what was kept");
    }

    #[test]
    fn an_invalidation_counts_as_applied_once_a_tick_sent_after_it_is_back_until_a_reset() {
        let cache = NearCache::new(1 << 20, Duration::from_secs(60));
        assert!(cache.has_applied(0) && !cache.has_applied(1));

        cache.tick_returned(cache.now_ms(), 7);
        cache.tick_returned(cache.now_ms(), 5);
        assert!(cache.has_applied(7), "a tick that overtook another changes nothing");
        assert!(!cache.has_applied(8));

        cache.reset();
        assert!(!cache.has_applied(1), "what was applied is gone with the entries");
    }

    #[test]
    fn entries_stop_being_served_max_lag_after_the_last_tick_was_sent() {
        let cache = NearCache::new(1 << 20, Duration::from_secs(60));
        cache.tick_returned(1000, 0);
        assert!(cache.serves_at(1000 + MAX_LAG.as_millis() as u64 - 1));
        assert!(!cache.serves_at(1000 + MAX_LAG.as_millis() as u64));
    }
}
