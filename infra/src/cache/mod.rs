//! Cache-aside in Redis for catalogue reads and customer profiles. Every key is one `CacheKey` (the
//! only place a cache key is spelled), stored under the current *generation* of its `Scope` (the whole
//! catalogue, or one customer's profile), and every catalogue entry is filed under the `Tag`s of
//! what it shows that a write can change alone: a product's stock, availability or prices, and
//! which products the in-stock and the price-ordered listings hold.
//!
//! A write forgets what it changed in one of two ways: a new generation of the scope (every entry of
//! it is never served again), or, for a product's stock or price, the deletion of the entries filed
//! under its tags, so that the rest of the catalogue stays cached. Either way the write's WAL position
//! is kept (for the scope, and for each tag), and a miss reads the database at least that far (from a
//! replica that has replayed it, or else the primary). An entry is filled only if none of its tags
//! was invalidated at a position its data may not include, so a lagging replica cannot put old data
//! back. Misses of one key within an instance share one load (single flight). While Redis is down,
//! reads go straight to the database.
//!
//! In front of Redis, each instance keeps the catalogue's entries it read in memory (`near`), kept
//! coherent through a channel that every catalogue invalidation is published on (`channel`). Each
//! entry is stored in Redis with the names of its tags, so that an instance that reads it knows what
//! it shows.

mod channel;
mod near;
mod query;

pub use query::{CachedQuery, ReadPolicy, Reads};

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use bytes::Bytes;
use redis::Script;
use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::db::{Consistency, WalPosition};
use crate::redis::RedisStore;
use near::{Held, NearCache, NearEntry};

/// What a write can make stale as a whole: the catalogue, or one customer's profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Catalog,
    Profile(Uuid),
}

/// Its name, which begins its keys (and is their hash tag in a cluster).
impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Catalog => f.write_str("catalog"),
            Self::Profile(customer) => write!(f, "profile:{customer}"),
        }
    }
}

/// Part of the catalogue that a cached answer shows and that one write can change while the rest of
/// the catalogue stays as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tag {
    /// How many of each of a product's variants are left.
    Stock(Uuid),
    /// Which of a product's variants are in stock (it changes only when a stock runs out or comes
    /// back, with `Stock`).
    Availability(Uuid),
    /// A product's prices.
    Price(Uuid),
    /// Which products the listings that keep to what is in stock hold.
    StockedListings,
    /// Which products the listings filtered or sorted by price hold, and in which order.
    PricedListings,
    /// The shipping zones and methods, and the VAT table.
    Shipping,
    /// The discount codes' rules.
    Discounts,
}

impl Tag {
    /// What a cached copy of a product, with its variants, shows of it.
    pub fn whole_product(id: Uuid) -> [Self; 2] {
        [Self::Stock(id), Self::Price(id)]
    }

    fn name(&self) -> String {
        match self {
            Self::Stock(product) => format!("stock:{product}"),
            Self::Availability(product) => format!("availability:{product}"),
            Self::Price(product) => format!("price:{product}"),
            Self::StockedListings => "listings:stocked".to_owned(),
            Self::PricedListings => "listings:priced".to_owned(),
            Self::Shipping => "shipping".to_owned(),
            Self::Discounts => "discounts".to_owned(),
        }
    }
}

/// Everything that is cached.
#[derive(Debug, Clone, Copy)]
pub enum CacheKey<'a> {
    ProductBySlug(&'a str),
    ProductById(Uuid),
    /// A page of a listing, by the fingerprint of its filter, sort and page.
    ListingPage(&'a str),
    /// The total of a listing, by the fingerprint of its filter.
    ListingCount(&'a str),
    /// The facet counts of a listing, by the fingerprint of its filter.
    ListingFacets(&'a str),
    /// A whole GraphQL response to a public catalogue query, by the fingerprint of the request.
    Response(&'a str),
    /// Variants with their products, by the fingerprint of the set of ids (a cart's contents).
    Variants(&'a str),
    /// A customer's profile with their address book.
    Profile(Uuid),
    /// What ships to a country, and its VAT rate, by the country's code.
    ShippingTo(&'a str),
    /// A discount code's rules, by the code.
    DiscountCode(&'a str),
}

/// What kind of answer an entry holds, for the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheKind {
    /// Whole GraphQL responses.
    Response,
    Product,
    /// Listing pages, totals and facets.
    Listing,
    /// The variants of a cart, which price it.
    CartPrices,
    Profile,
    Shipping,
    Discount,
}

impl CacheKind {
    pub const ALL: [Self; 7] = [
        Self::Response,
        Self::Product,
        Self::Listing,
        Self::CartPrices,
        Self::Profile,
        Self::Shipping,
        Self::Discount,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Response => "response",
            Self::Product => "product",
            Self::Listing => "listing",
            Self::CartPrices => "cart_prices",
            Self::Profile => "profile",
            Self::Shipping => "shipping",
            Self::Discount => "discount",
        }
    }
}

impl CacheKey<'_> {
    fn kind(&self) -> CacheKind {
        match self {
            Self::Response(_) => CacheKind::Response,
            Self::ProductBySlug(_) | Self::ProductById(_) => CacheKind::Product,
            Self::ListingPage(_) | Self::ListingCount(_) | Self::ListingFacets(_) => CacheKind::Listing,
            Self::Variants(_) => CacheKind::CartPrices,
            Self::Profile(_) => CacheKind::Profile,
            Self::ShippingTo(_) => CacheKind::Shipping,
            Self::DiscountCode(_) => CacheKind::Discount,
        }
    }

    /// How the near cache holds its entries.
    fn held(&self) -> Held {
        if self.kind() == CacheKind::Response { Held::Bytes } else { Held::Decoded }
    }

    pub fn scope(&self) -> Scope {
        match self {
            Self::Profile(customer) => Scope::Profile(*customer),
            _ => Scope::Catalog,
        }
    }

    fn suffix(&self) -> String {
        match self {
            // A slug is what a client typed: its digest keeps the key short whatever was sent.
            Self::ProductBySlug(slug) => {
                format!("product:slug:{}", crate::digest::sha256_hex(slug.as_bytes(), 16))
            }
            Self::ProductById(id) => format!("product:id:{id}"),
            Self::ListingPage(fingerprint) => format!("listing:page:{fingerprint}"),
            Self::ListingCount(fingerprint) => format!("listing:count:{fingerprint}"),
            Self::ListingFacets(fingerprint) => format!("listing:facets:{fingerprint}"),
            Self::Response(fingerprint) => format!("response:{fingerprint}"),
            Self::Variants(fingerprint) => format!("variants:{fingerprint}"),
            Self::Profile(_) => "profile".to_owned(),
            Self::ShippingTo(country) => format!("shipping:{country}"),
            Self::DiscountCode(code) => format!("discount:{code}"),
        }
    }
}

#[derive(Clone)]
pub struct CacheSettings {
    pub ttl: Duration,
    /// Each entry lives `ttl` ± this fraction of it, at random, so entries filled together do not
    /// all expire together.
    pub jitter: f64,
    /// How much of the catalogue's entries each instance keeps in memory; 0 keeps none.
    pub near_capacity_bytes: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    /// Of the hits, those answered from this instance's memory.
    pub near_hits: u64,
    pub misses: u64,
    /// Reads that went to the database because Redis was unavailable.
    pub bypassed: u64,
}

impl std::ops::Add for CacheStats {
    type Output = Self;

    fn add(self, other: Self) -> Self {
        Self {
            hits: self.hits + other.hits,
            near_hits: self.near_hits + other.near_hits,
            misses: self.misses + other.misses,
            bypassed: self.bypassed + other.bypassed,
        }
    }
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    near_hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
}

impl Counters {
    fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            near_hits: self.near_hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            bypassed: self.bypassed.load(Ordering::Relaxed),
        }
    }
}

/// What a miss made: the bytes to answer with, whether they may be cached, and what they show.
pub struct Rendered {
    pub bytes: Vec<u8>,
    pub cacheable: bool,
    pub tags: Vec<Tag>,
}

pub struct ReadCache {
    redis: Arc<RedisStore>,
    settings: CacheSettings,
    /// The catalogue's entries in memory, unless the settings keep none.
    near: Option<Arc<NearCache>>,
    in_flight: Mutex<HashMap<String, Arc<OnceCell<Vec<u8>>>>>,
    /// By `CacheKind`, in the order of `CacheKind::ALL`.
    counters: [Counters; CacheKind::ALL.len()],
}

/// KEYS[1] the scope's generation, KEYS[2] the position of its latest write; ARGV[1] the prefix of
/// entry keys, ARGV[2] the entry's suffix. Returns the generation, the position ('' for none) and the
/// entry (nil on a miss).
static READ_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(READ));
const READ: &str = r"
local generation = redis.call('GET', KEYS[1]) or '0'
local written = redis.call('GET', KEYS[2]) or ''
return {generation, written, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
";

/// KEYS[1] the scope's generation; ARGV[1] the generation the entry was read in, ARGV[2] the position
/// its data was read at least at ('' for any), ARGV[3] the entry's key, ARGV[4] the entry, ARGV[5]
/// its lifetime (ms), ARGV[6] the prefix of tag keys, ARGV[7…] its tags. Files the entry under its
/// tags, unless the generation moved on or a tag was invalidated by a write its data may predate.
static FILL_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(FILL));
const FILL: &str = r"
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
for i = 7, #ARGV do
  local written = redis.call('GET', ARGV[6] .. ARGV[i] .. ':written')
  if written and written > ARGV[2] then return 0 end
end
redis.call('SET', ARGV[3], ARGV[4], 'PX', ARGV[5])
for i = 7, #ARGV do
  local entries = ARGV[6] .. ARGV[i] .. ':entries'
  redis.call('SADD', entries, ARGV[3])
  if redis.call('PTTL', entries) < tonumber(ARGV[5]) then redis.call('PEXPIRE', entries, ARGV[5]) end
end
return 1
";

/// KEYS[1] the scope's generation, KEYS[2] the position of its latest write, KEYS[3] (the catalogue's
/// only) the count of invalidations published; ARGV[1] the write's position ('' when unknown),
/// ARGV[2] '1' to start a new generation, ARGV[3] the prefix of tag keys, ARGV[4] how long a tag's
/// position is kept (ms), ARGV[5] the channel of invalidations ('' for none), ARGV[6] what to
/// publish on it, to which the invalidation's number is added (`channel::NUMBER`), ARGV[7…] tags
/// whose entries go. Returns that number (0 when none).
static INVALIDATE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(INVALIDATE));
const INVALIDATE: &str = r"
local function raise(key, lifetime)
  local current = redis.call('GET', key)
  if ARGV[1] == '' or (current and current >= ARGV[1]) then return end
  if lifetime then redis.call('SET', key, ARGV[1], 'PX', lifetime) else redis.call('SET', key, ARGV[1]) end
end
raise(KEYS[2])
for i = 7, #ARGV do
  raise(ARGV[3] .. ARGV[i] .. ':written', ARGV[4])
  local entries = ARGV[3] .. ARGV[i] .. ':entries'
  local keys = redis.call('SMEMBERS', entries)
  for j = 1, #keys, 500 do redis.call('DEL', unpack(keys, j, math.min(j + 499, #keys))) end
  redis.call('DEL', entries)
end
if ARGV[2] == '1' then redis.call('INCR', KEYS[1]) end
if ARGV[5] == '' then return 0 end
local number = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[5], ARGV[6] .. ' #' .. number)
return number
";

/// What a read found: an entry of the near cache, or bytes from Redis or just rendered.
enum Found {
    Near(Arc<NearEntry>),
    Bytes(Vec<u8>),
}

/// The bytes `get_or_render` answers with.
pub struct Answer(Found);

impl Answer {
    pub fn bytes(self) -> Bytes {
        match self.0 {
            Found::Near(entry) => entry.bytes().clone(),
            Found::Bytes(bytes) => Bytes::from(bytes),
        }
    }

    /// The bytes gzipped, when they come from memory (compressed once there, not on every read) and
    /// gzip makes them small enough to be worth it.
    pub fn gzipped(&self) -> Option<Bytes> {
        match &self.0 {
            Found::Near(entry) => entry.gzipped().cloned(),
            Found::Bytes(_) => None,
        }
    }
}

/// Entries begin with a line of the names of their tags; earlier versions' entries, without it, live
/// under other keys.
const ENTRY_FORMAT: &str = "tagged:";

impl ReadCache {
    pub fn new(redis: Arc<RedisStore>, settings: CacheSettings) -> Self {
        let near = (settings.near_capacity_bytes > 0)
            .then(|| Arc::new(NearCache::new(settings.near_capacity_bytes, settings.ttl)));
        Self { redis, settings, near, in_flight: Mutex::new(HashMap::new()), counters: Default::default() }
    }

    /// Starts following the channel of invalidations, which the near cache needs to serve, until
    /// the cache is dropped.
    pub fn follow_invalidations(&self) {
        if let Some(near) = &self.near {
            let (channel, published) = (self.channel(), self.published_key());
            tokio::spawn(channel::follow(self.redis.clone(), Arc::downgrade(near), channel, published));
        }
    }

    /// Whether this instance's near cache is on time and may answer.
    pub fn near_cache_serving(&self) -> bool {
        self.near.as_ref().is_some_and(|near| near.serving())
    }

    /// The cached value of `query`, or the one it loads, which is then cached. An entry that no
    /// longer decodes (written by another version) is passed over.
    async fn get_or_load<Q: CachedQuery>(
        &self,
        query: &Q,
        policy: ReadPolicy,
    ) -> Result<Q::Value, crate::Error> {
        let key = query.key();
        let found = self
            .find_or_render(key, policy, |at| async move {
                let value = query.load(at).await?;
                let bytes = serde_json::to_vec(&value).map_err(anyhow::Error::from)?;
                let tags = query.shows().into_iter().chain(query.depends_on(&value)).collect();
                Ok(Rendered { bytes, cacheable: true, tags })
            })
            .await?;
        let decoded = match &found {
            Found::Near(entry) => entry.decoded(),
            Found::Bytes(bytes) => serde_json::from_slice(bytes),
        };
        match decoded {
            Ok(value) => Ok(value),
            Err(err) => {
                tracing::warn!(key = %key.suffix(), error = %err, "unreadable cache entry; reading the primary");
                Box::pin(query.load(Consistency::Primary)).await
            }
        }
    }

    /// The cached bytes of `key`, or those `render` makes (reading with the consistency it is given),
    /// which are cached, filed under their tags, when it says so. A caller that wrote reads past the
    /// near cache until it has applied the invalidation of that write (`from_memory_after`).
    pub async fn get_or_render<F, Fut>(
        &self,
        key: CacheKey<'_>,
        policy: ReadPolicy,
        render: F,
    ) -> Result<Answer, crate::Error>
    where
        F: FnOnce(Consistency) -> Fut,
        Fut: Future<Output = Result<Rendered, crate::Error>>,
    {
        self.find_or_render(key, policy, render).await.map(Answer)
    }

    /// As `get_or_render`; an entry of the near cache is handed over as it is kept.
    async fn find_or_render<F, Fut>(
        &self,
        key: CacheKey<'_>,
        policy: ReadPolicy,
        render: F,
    ) -> Result<Found, crate::Error>
    where
        F: FnOnce(Consistency) -> Fut,
        Fut: Future<Output = Result<Rendered, crate::Error>>,
    {
        let near = self.near.as_deref().filter(|near| {
            key.scope() == Scope::Catalog && policy.from_memory_after.is_some_and(|n| near.has_applied(n))
        });
        // Worked out once: a slug's suffix is a digest.
        let suffix = entry_suffix(key);
        if let Some(entry) = near.and_then(|near| near.get(&suffix)) {
            let counters = &self.counters[key.kind() as usize];
            counters.hits.fetch_add(1, Ordering::Relaxed);
            counters.near_hits.fetch_add(1, Ordering::Relaxed);
            return Ok(Found::Near(entry));
        }
        // Boxed: a hit from memory then costs its callers a small future, not room for a whole load
        // from the database, which every caller's future would hold and every move of it copy.
        Box::pin(self.read_or_render(key, near, &suffix, render)).await.map(Found::Bytes)
    }

    /// The entry `suffix` of `key` from Redis, or what `render` makes, cached and kept in `near`.
    async fn read_or_render<F, Fut>(
        &self,
        key: CacheKey<'_>,
        near: Option<&NearCache>,
        suffix: &str,
        render: F,
    ) -> Result<Vec<u8>, crate::Error>
    where
        F: FnOnce(Consistency) -> Fut,
        Fut: Future<Output = Result<Rendered, crate::Error>>,
    {
        let counters = &self.counters[key.kind() as usize];
        let ticket = near.map(|near| (near, near.ticket()));
        let (generation, written) = match self.read(key.scope(), suffix).await {
            Ok((_, _, Some(entry))) => {
                counters.hits.fetch_add(1, Ordering::Relaxed);
                let (tags, bytes) = split_entry(&entry);
                if let (Some((near, ticket)), Some(tags)) = (ticket, tags) {
                    near.insert(ticket, suffix, bytes, key.held(), tags);
                }
                return Ok(bytes.to_vec());
            }
            Ok((generation, written, None)) => {
                counters.misses.fetch_add(1, Ordering::Relaxed);
                (Some(generation), WalPosition::from_sortable(&written))
            }
            Err(_) => {
                counters.bypassed.fetch_add(1, Ordering::Relaxed);
                (None, None)
            }
        };
        let at = written.map_or(Consistency::Eventual, Consistency::AtLeast);
        // Callers that know of a later write do not share an earlier load.
        let flight = format!(
            "{}@{}",
            self.entry_key(key.scope(), generation.as_deref().unwrap_or("-"), suffix),
            written.map(WalPosition::sortable).unwrap_or_default()
        );
        self.single_flight(&flight, async {
            let rendered = render(at).await?;
            if let (Some(generation), true) = (&generation, rendered.cacheable)
                && self.fill(generation, written, key.scope(), suffix, &rendered).await
                && let Some((near, ticket)) = ticket
            {
                near.insert(ticket, suffix, &rendered.bytes, key.held(), rendered.tags.iter().map(Tag::name));
            }
            Ok(rendered.bytes)
        })
        .await
    }

    /// After a write at `position` (unknown when the primary could not say): the entries filed under
    /// `tags` go, and with `new_generation` every entry of `scope`. Later misses read at least at
    /// `position`. Returns the number of the invalidation on the channel the near caches follow (0
    /// for a scope they do not keep): a near cache that has applied it shows the write.
    pub async fn invalidate(
        &self,
        scope: Scope,
        tags: &[Tag],
        new_generation: bool,
        position: Option<WalPosition>,
    ) -> Result<u64, crate::Error> {
        let mut keys = vec![self.generation_key(scope), self.written_key(scope)];
        let position = position.map(WalPosition::sortable).unwrap_or_default();
        let tag_lifetime = self.longest_lifetime().saturating_mul(2).as_millis().to_string();
        let tags: Vec<String> = tags.iter().map(Tag::name).collect();
        // Published whether or not this instance keeps a near cache: others may.
        let (channel, message) = match scope {
            Scope::Catalog => {
                keys.push(self.published_key());
                (self.channel(), channel::forget_message(new_generation, &tags))
            }
            Scope::Profile(_) => (String::new(), String::new()),
        };
        let args = (
            position,
            if new_generation { "1" } else { "0" },
            self.tag_prefix(),
            tag_lifetime,
            channel,
            message,
            &tags,
        );
        let invalidated = self.redis.eval::<u64>(&INVALIDATE_SCRIPT, keys, args).await;
        if let (Some(near), Scope::Catalog) = (&self.near, scope) {
            near.forget(new_generation, &tags);
        }
        invalidated
    }

    /// The longest an entry lives: a write whose invalidation could not reach Redis is served stale
    /// for at most this long.
    pub(crate) fn longest_lifetime(&self) -> Duration {
        self.settings.ttl.mul_f64(1.0 + self.settings.jitter)
    }

    /// Hits, misses and bypasses of every kind of entry.
    pub fn stats(&self) -> CacheStats {
        self.counters.iter().map(Counters::stats).fold(CacheStats::default(), |all, kind| all + kind)
    }

    pub fn stats_of(&self, kind: CacheKind) -> CacheStats {
        self.counters[kind as usize].stats()
    }

    /// The Redis key an entry of `generation` has (for tests and operators).
    pub fn redis_key(&self, generation: &str, key: CacheKey<'_>) -> String {
        self.entry_key(key.scope(), generation, &entry_suffix(key))
    }

    fn entry_key(&self, scope: Scope, generation: &str, suffix: &str) -> String {
        format!("{}{generation}:{suffix}", self.entry_prefix(scope))
    }

    /// Where every invalidation of the catalogue is published, for the instances' near caches.
    fn channel(&self) -> String {
        self.redis.key("catalog:invalidations")
    }

    /// How many invalidations were published on the channel: read by the ticks, so in the
    /// catalogue's slot, where the invalidations count it.
    fn published_key(&self) -> String {
        self.scope_key(Scope::Catalog, ":published")
    }

    pub fn generation_key(&self, scope: Scope) -> String {
        self.scope_key(scope, ":generation")
    }

    fn written_key(&self, scope: Scope) -> String {
        self.scope_key(scope, ":written")
    }

    fn entry_prefix(&self, scope: Scope) -> String {
        self.scope_key(scope, ":")
    }

    /// Only the catalogue's entries are tagged.
    fn tag_prefix(&self) -> String {
        self.scope_key(Scope::Catalog, ":tag:")
    }

    /// The key of `scope` that ends in `rest`. The keys of a scope share its slot: its scripts name
    /// some of them.
    fn scope_key(&self, scope: Scope, rest: &str) -> String {
        self.redis.key_in_slot(scope, &format!("{scope}{rest}"))
    }

    /// The generation of `scope`, the position of its latest write, and the entry whose key ends
    /// in `suffix`.
    async fn read(
        &self,
        scope: Scope,
        suffix: &str,
    ) -> Result<(String, String, Option<Vec<u8>>), crate::Error> {
        let keys = vec![self.generation_key(scope), self.written_key(scope)];
        self.redis.eval(&READ_SCRIPT, keys, (self.entry_prefix(scope), suffix)).await
    }

    async fn fill(
        &self,
        generation: &str,
        read_at: Option<WalPosition>,
        scope: Scope,
        suffix: &str,
        rendered: &Rendered,
    ) -> bool {
        let read_at = read_at.map(WalPosition::sortable).unwrap_or_default();
        let lifetime = self.ttl_with_jitter().as_millis().to_string();
        let tags: Vec<String> = rendered.tags.iter().map(Tag::name).collect();
        let entry = self.entry_key(scope, generation, suffix);
        let value = [tags.join(" ").as_bytes(), b"\n", &rendered.bytes].concat();
        let args = (generation, read_at, entry, value, lifetime, self.tag_prefix(), tags);
        let keys = vec![self.generation_key(scope)];
        match self.redis.eval::<i64>(&FILL_SCRIPT, keys, args).await {
            Ok(filled) => filled == 1,
            Err(err) => {
                tracing::debug!(error = %err, "could not fill the cache");
                false
            }
        }
    }

    fn ttl_with_jitter(&self) -> Duration {
        let spread = (rand::random::<f64>() * 2.0 - 1.0) * self.settings.jitter;
        self.settings.ttl.mul_f64((1.0 + spread).max(0.1))
    }

    /// Runs `load` once for all concurrent callers with the same `key` in this instance. The key is
    /// forgotten when its caller is done, even one that is dropped half-way (its client went away):
    /// otherwise every cancelled miss would stay in the map for good.
    async fn single_flight(
        &self,
        key: &str,
        load: impl Future<Output = Result<Vec<u8>, crate::Error>>,
    ) -> Result<Vec<u8>, crate::Error> {
        let cell = {
            let mut in_flight = self.in_flight.lock().expect("the in-flight map is never poisoned");
            in_flight.entry(key.to_owned()).or_default().clone()
        };
        let _forget = InFlight { map: &self.in_flight, key, cell: &cell };
        cell.get_or_try_init(|| load).await.cloned()
    }
}

/// What follows the generation in the key of an entry.
fn entry_suffix(key: CacheKey<'_>) -> String {
    format!("{ENTRY_FORMAT}{}", key.suffix())
}

/// The names of the tags an entry shows (none known when it has no first line of them), and the
/// bytes it answers with.
fn split_entry(entry: &[u8]) -> (Option<impl Iterator<Item = &str>>, &[u8]) {
    let Some(end) = entry.iter().position(|&byte| byte == b'\n') else { return (None, entry) };
    let header = std::str::from_utf8(&entry[..end]).ok();
    (header.map(|names| names.split(' ').filter(|tag| !tag.is_empty())), &entry[end + 1..])
}

/// A caller's claim on an in-flight key: on drop, the key is removed unless another load has taken
/// its place since.
struct InFlight<'a> {
    map: &'a Mutex<HashMap<String, Arc<OnceCell<Vec<u8>>>>>,
    key: &'a str,
    cell: &'a Arc<OnceCell<Vec<u8>>>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.map.lock().expect("the in-flight map is never poisoned");
        if in_flight.get(self.key).is_some_and(|current| Arc::ptr_eq(current, self.cell)) {
            in_flight.remove(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A load whose caller is dropped before it ends (the client went away) leaves nothing behind.
    #[tokio::test]
    async fn a_miss_cancelled_half_way_is_forgotten() {
        let redis = Arc::new(
            RedisStore::connect(&crate::redis::RedisSettings {
                url: secrecy::SecretString::from("redis://127.0.0.1:9/0"),
                ca: None,
                topology: crate::redis::Topology::Single,
                replicated_writes: None,
                pool_size: 1,
                timeout: Duration::from_millis(10),
                key_prefix: "unused:".to_owned(),
            })
            .unwrap(),
        );
        let settings = CacheSettings { ttl: Duration::from_secs(60), jitter: 0.1, near_capacity_bytes: 0 };
        let cache = ReadCache::new(redis, settings);
        let never = cache.single_flight("k", std::future::pending());
        assert!(tokio::time::timeout(Duration::from_millis(10), never).await.is_err());
        assert!(cache.in_flight.lock().unwrap().is_empty());
    }

    #[test]
    fn what_clients_send_never_makes_a_long_key() {
        let long = "x".repeat(10_000);
        assert!(CacheKey::ProductBySlug(&long).suffix().len() < 64);
        assert_ne!(CacheKey::ProductBySlug("a").suffix(), CacheKey::ProductBySlug("b").suffix());
    }
}
