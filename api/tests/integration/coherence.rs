//! The cache after writes, across instances: a stock change reaches every instance's cached answers,
//! in Redis and in each instance's memory (the near cache), within a second of its commit, and leaves
//! the cached answers that do not show the variant alone; the writer reads its own write at once,
//! through the cache. An instance whose channel of invalidations is late or dropped answers nothing
//! from memory until it is back.

use std::time::{Duration, Instant};

use domain::session::Session;
use infra::cache::ReadPolicy;
use infra::db::Consistency;
use infra::session_registry::LastWrite;
use serde_json::Value;

use crate::carts::{add, base64_global_id};
use crate::checkout::guest_checkout;
use crate::support::TestApp;
use crate::support::catalog::CatalogFixture;
use crate::support::stack::Stack;
use crate::support::tcp_proxy::TcpProxy;

const JACKET: &str =
    r#"{ product(slug: "harbour-jacket") { inStock variants { quantityAvailable inStock } } }"#;
const IN_STOCK: &str =
    r#"{ products(first: 10, filter: { inStock: true }) { totalCount edges { node { slug } } } }"#;
const TEE: &str = r#"{ product(slug: "loom-tee") { name variants { quantityAvailable } } }"#;

/// Two instances of one shop: a jacket of one variant with `stock` left, and a tee of another brand.
struct TwoInstances {
    /// Where the shoppers who only look are served.
    reader: TestApp,
    /// Where the writes happen.
    writer: TestApp,
    jacket: String,
}

impl TwoInstances {
    async fn start(stock: i32) -> Self {
        Self::start_with(stock, &[], &[]).await
    }

    /// Two instances whose reader runs with `reader_settings` and writer with `writer_settings`.
    async fn start_with(stock: i32, reader_settings: &[&str], writer_settings: &[&str]) -> Self {
        let reader = TestApp::spawn_with(reader_settings).await;
        let mut catalog = CatalogFixture::new(&reader.primary);
        let (harbour, loom) = (catalog.brand("Harbour").await, catalog.brand("Loom").await);
        let coats = catalog.category("Coats", None).await;
        let jacket =
            catalog.product("Harbour Jacket", harbour, coats.0, &[("M", "Olive", 8999, stock)]).await;
        catalog.product("Loom Tee", loom, coats.0, &[("M", "White", 1500, 40)]).await;
        let variant = sea_orm::ConnectionTrait::query_one_raw(
            &reader.primary,
            crate::support::statement(&format!("SELECT id FROM variants WHERE product_id = '{jacket}'")),
        )
        .await
        .unwrap()
        .unwrap();
        let jacket = base64_global_id("Variant", variant.try_get("", "id").unwrap());
        reader.wait_for_replica().await;
        let writer = reader.beside(writer_settings).await;
        reader.wait_for_near_cache().await;
        Self { reader, writer, jacket }
    }

    /// Reads the jacket, the in-stock listing and the tee on the reading instance until each is a hit
    /// from its memory. (An invalidation of a write just before, arriving while the first reads fill
    /// the memory, makes them keep nothing: then they are read again, within a second.)
    async fn warm(&self) {
        let since = Instant::now();
        loop {
            for query in [JACKET, IN_STOCK, TEE] {
                self.reader.post_graphql(query).await;
            }
            let before = self.near_hits();
            for query in [JACKET, IN_STOCK, TEE] {
                self.reader.post_graphql(query).await;
            }
            if self.near_hits() == before + 3 || since.elapsed() > Duration::from_secs(1) {
                assert_eq!(self.near_hits(), before + 3, "the reader answers from its memory");
                return;
            }
        }
    }

    fn hits(&self) -> u64 {
        self.reader.services.cache.stats().hits
    }

    fn near_hits(&self) -> u64 {
        self.reader.services.cache.stats().near_hits
    }

    /// Whether the reading instance answers `query` from the cache, and its answer.
    async fn read_is_hit(&self, query: &str) -> (bool, Value) {
        let before = self.hits();
        let answer = self.reader.post_graphql(query).await;
        (self.hits() > before, answer)
    }

    /// Whether the reading instance's first answer to `query` that passes `fresh`, within a second
    /// of a write (its memory may learn of the write a moment after it was answered), was a hit.
    async fn first_fresh_read_is_hit(&self, query: &str, fresh: impl Fn(&Value) -> bool) -> bool {
        let since = Instant::now();
        loop {
            let (hit, answer) = self.read_is_hit(query).await;
            if fresh(&answer) {
                return hit;
            }
            assert!(since.elapsed() < Duration::from_secs(1), "a second after the write: {answer}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asserts that the reading instance shows the jacket with `left` in stock, in the product and
    /// in the in-stock listing, within a second of `since`.
    async fn shows_within_a_second(&self, left: i64, since: Instant) {
        let shows = |product: &Value, listing: &Value| {
            let variant = &product["data"]["product"]["variants"][0];
            let listed = listing["data"]["products"]["edges"]
                .as_array()
                .is_some_and(|edges| edges.iter().any(|e| e["node"]["slug"] == "harbour-jacket"));
            variant["quantityAvailable"] == left
                && variant["inStock"] == (left > 0)
                && product["data"]["product"]["inStock"] == (left > 0)
                && listed == (left > 0)
        };
        loop {
            let (product, listing) =
                (self.reader.post_graphql(JACKET).await, self.reader.post_graphql(IN_STOCK).await);
            if shows(&product, &listing) {
                return;
            }
            assert!(
                since.elapsed() < Duration::from_secs(1),
                "a second after the write the other instance still shows {product} and {listing}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Asserts that the tee, which no write touched, is still answered from the cache.
    async fn tee_is_still_cached(&self) {
        let before = self.hits();
        let tee = self.reader.post_graphql(TEE).await;
        assert_eq!(tee["data"]["product"]["name"], "Loom Tee");
        assert_eq!(self.hits(), before + 1, "the tee's cached answer survived the write");
    }

    /// A guest on the writing instance buys `quantity` jackets; the order's number.
    async fn buy(&self, quantity: i32) -> String {
        let added = self.writer.post_graphql(&add(&self.jacket, quantity)).await;
        let guest = added["data"]["addToCart"]["token"].as_str().expect("a guest session").to_owned();
        let body = self.writer.post_graphql_as(&guest, &guest_checkout("tok_visa", "coherence")).await;
        body["data"]["checkout"]["order"]["number"]
            .as_str()
            .unwrap_or_else(|| panic!("the order is placed: {body}"))
            .to_owned()
    }

    async fn adjust_stock(&self, delta: i32) {
        self.admin(&self.stock_adjustment(delta)).await;
    }

    /// The mutation that adjusts the jacket's stock by `delta`.
    fn stock_adjustment(&self, delta: i32) -> String {
        format!(
            r#"mutation {{ adjustStock(variantId: "{}", delta: {delta}) {{ variant {{ id }} }} }}"#,
            self.jacket
        )
    }

    /// A session of the reading instance whose last write, at the primary's position now, the cache
    /// was told of or not, as the invalidation numbered `published`: its token and that write.
    async fn reader_session_that_wrote(
        &self,
        cache_told: bool,
        published: u64,
    ) -> (String, Session, LastWrite) {
        let session = infra::tokens::Tokens::new_session();
        let token = self.reader.services.tokens.issue(&session).unwrap();
        let position = self.reader.services.db.write_position().await.unwrap();
        let write = LastWrite { position, cache_told, published: Some(published) };
        self.reader.services.sessions.record_write(&session.id, write).await.unwrap();
        (token, session, write)
    }

    async fn admin(&self, mutation: &str) -> Value {
        let admin = self.writer.admin_token().await;
        as_admin(&self.writer, &admin, mutation).await
    }
}

/// Runs `mutation` on `instance` as the administrator of `token`, which must succeed.
async fn as_admin(instance: &TestApp, token: &str, mutation: &str) -> Value {
    let body = instance.post_graphql_as(token, mutation).await;
    assert!(body["errors"].is_null(), "{body}");
    body
}

#[tokio::test]
async fn a_checkout_that_sells_a_variant_out_shows_on_the_other_instance_within_a_second() {
    let shop = TwoInstances::start(13).await;
    shop.warm().await;
    shop.shows_within_a_second(13, Instant::now()).await;

    shop.buy(13).await;

    shop.shows_within_a_second(0, Instant::now()).await;
    shop.tee_is_still_cached().await;
}

#[tokio::test]
async fn a_cancellation_that_restocks_shows_on_the_other_instance_within_a_second() {
    let shop = TwoInstances::start(13).await;
    let number = shop.buy(13).await;
    shop.warm().await;
    shop.shows_within_a_second(0, Instant::now()).await;

    let cancel = format!(
        r#"mutation {{ setOrderStatus(number: "{number}", status: CANCELLED) {{ order {{ status }} }} }}"#
    );
    shop.admin(&cancel).await;

    shop.shows_within_a_second(13, Instant::now()).await;
    shop.tee_is_still_cached().await;
}

#[tokio::test]
async fn an_adjusted_stock_shows_on_the_other_instance_within_a_second() {
    let shop = TwoInstances::start(13).await;
    shop.warm().await;

    shop.adjust_stock(-13).await;
    shop.shows_within_a_second(0, Instant::now()).await;
    shop.tee_is_still_cached().await;

    shop.adjust_stock(5).await;
    shop.shows_within_a_second(5, Instant::now()).await;
    shop.tee_is_still_cached().await;

    shop.adjust_stock(-2).await;
    shop.shows_within_a_second(3, Instant::now()).await;
    shop.tee_is_still_cached().await;
}

/// What the reader keeps gzipped goes with the answer it was made of.
#[tokio::test]
async fn a_gzipped_answer_from_memory_shows_a_stock_change_within_a_second() {
    const LISTING: &str = r#"{ products(first: 30, filter: { inStock: true }) { totalCount
        edges { node { slug name variants { size colour inStock } } } } }"#;
    let shop = TwoInstances::start(13).await;
    // Enough tees for the listing to be worth gzipping.
    let mut catalog = CatalogFixture::new(&shop.reader.primary);
    let (loom, tees) = (catalog.brand("Loom Basics").await, catalog.category("Tees", None).await);
    for n in 1..=20 {
        catalog.product(&format!("Loom Tee {n}"), loom, tees.0, &[("M", "White", 1500, 40)]).await;
    }
    shop.reader.wait_for_replica().await;
    let in_stock = |listing: &Value| listing["data"]["products"]["totalCount"].clone();
    let (_, listing) = shop.reader.post_graphql_taking_gzip(LISTING).await;
    assert_eq!(in_stock(&listing), 22);
    assert!(shop.reader.post_graphql_taking_gzip(LISTING).await.0, "from memory, gzipped");

    shop.adjust_stock(-13).await;

    let since = Instant::now();
    while in_stock(&shop.reader.post_graphql_taking_gzip(LISTING).await.1) != 21 {
        assert!(since.elapsed() < Duration::from_secs(1), "a second after the write, still 22 in stock");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (gzipped, listing) = shop.reader.post_graphql_taking_gzip(LISTING).await;
    assert!(gzipped, "the new answer is kept, and gzipped, in its turn");
    assert_eq!(in_stock(&listing), 21);
}

/// The writer's next reads go through the cache, which forgot what the write touched before the
/// write was answered: they see the write at once although the only replica is two seconds behind,
/// and they are cache hits after the first.
#[tokio::test]
async fn the_writer_reads_its_own_stock_change_at_once_and_then_from_the_cache() {
    let (app, replica) = TestApp::spawn_with_delayed_replica("2s").await;
    let mut catalog = CatalogFixture::new(&app.primary);
    let (harbour, coats) = (catalog.brand("Harbour").await, catalog.category("Coats", None).await);
    catalog.product("Harbour Jacket", harbour, coats.0, &[("M", "Olive", 8999, 13)]).await;
    let admin = app.admin_token().await;
    app.wait_for_replica_on(replica.port).await;
    let variant =
        app.post_graphql_as(&admin, r#"{ product(slug: "harbour-jacket") { variants { id } } }"#).await;
    let variant = variant["data"]["product"]["variants"][0]["id"].as_str().unwrap().to_owned();
    let written_at = Instant::now();

    let adjust =
        format!(r#"mutation {{ adjustStock(variantId: "{variant}", delta: -3) {{ variant {{ id }} }} }}"#);
    app.post_graphql_as(&admin, &adjust).await;
    let own_read = app.post_graphql_as(&admin, JACKET).await;
    let hits = app.services.cache.stats().hits;
    let again = app.post_graphql_as(&admin, JACKET).await;

    assert!(written_at.elapsed() < Duration::from_secs(2), "the reads ran within the replica's lag");
    assert_eq!(own_read["data"]["product"]["variants"][0]["quantityAvailable"], 10, "{own_read}");
    assert_eq!(again, own_read);
    assert_eq!(app.services.cache.stats().hits, hits + 1, "the writer's second read was a cache hit");
}

/// When the cache could not be told of a session's write, the session reads around the cache until
/// its write is forgotten (the entries it may show are then long expired).
#[tokio::test]
async fn a_session_whose_write_the_cache_missed_reads_around_the_cache() {
    let shop = TwoInstances::start(13).await;
    shop.warm().await;
    let (token, session, untold) = shop.reader_session_that_wrote(false, 0).await;
    let (sessions, position) = (&shop.reader.services.sessions, untold.position);

    let before = shop.reader.services.cache.stats();
    let product = shop.reader.post_graphql_as(&token, JACKET).await;

    assert_eq!(product["data"]["product"]["variants"][0]["quantityAvailable"], 13);
    assert_eq!(shop.reader.services.cache.stats(), before, "neither a hit nor a miss: around the cache");
    let state = sessions.state(&session).await.unwrap();
    assert_eq!(
        state.read_policy(),
        ReadPolicy {
            consistency: Consistency::AtLeast(position),
            through_cache: false,
            from_memory_after: None
        }
    );
    sessions.record_write(&session.id, LastWrite { cache_told: true, ..untold }).await.unwrap();
    let state = sessions.state(&session).await.unwrap();
    assert!(state.read_policy().through_cache, "a write the cache was told of leaves the cache in use");
}

/// A sale drops a cached answer only when the answer shows what the sale changed: exact stock goes
/// with every sale, in-stock flags only when a variant sells out, names and sizes never.
#[tokio::test]
async fn a_sale_drops_only_the_cached_answers_that_show_what_it_changed() {
    const NAMES: &str = r#"{ product(slug: "harbour-jacket") { name variants { sku size } } }"#;
    const FLAGS: &str = r#"{ product(slug: "harbour-jacket") { inStock variants { inStock } } }"#;
    let shop = TwoInstances::start(13).await;
    for query in [NAMES, FLAGS, JACKET, NAMES, FLAGS, JACKET] {
        shop.reader.post_graphql(query).await;
    }

    shop.buy(3).await;
    assert!(shop.read_is_hit(NAMES).await.0, "names do not change with stock");
    assert!(shop.read_is_hit(FLAGS).await.0, "every variant is still in stock");
    let ten_left = |counts: &Value| counts["data"]["product"]["variants"][0]["quantityAvailable"] == 10;
    assert!(!shop.first_fresh_read_is_hit(JACKET, ten_left).await, "the exact stock changed");

    shop.buy(10).await;
    assert!(shop.read_is_hit(NAMES).await.0, "names do not change with stock");
    let sold_out = |flags: &Value| flags["data"]["product"]["inStock"] == false;
    assert!(!shop.first_fresh_read_is_hit(FLAGS, sold_out).await, "the variant sold out");
}

/// A reader whose cache Redis is behind a proxy the test can pause and sever, beside a writer.
async fn reader_behind_a_proxy() -> (TwoInstances, TcpProxy) {
    let proxy = TcpProxy::start(Stack::get().redis_port()).await;
    let cache_redis = Stack::get().redis_url_on(proxy.port);
    // The writer's cache is the same Redis, reached directly (the suite's main Redis may be another,
    // a cluster).
    let shop = TwoInstances::start_with(
        13,
        &["--cache-redis-url", &cache_redis],
        &["--cache-redis-url", &Stack::get().redis_url()],
    )
    .await;
    shop.warm().await;
    (shop, proxy)
}

/// Waits until the reader's near cache stops answering, asserting it does within its bound.
async fn near_cache_stops(shop: &TwoInstances) {
    let since = Instant::now();
    while shop.reader.services.cache.near_cache_serving() {
        assert!(since.elapsed() < Duration::from_secs(1), "the near cache still answers");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// While the channel is late, the reader answers from Redis or the database, never from memory; once
/// it is back, the invalidations published meanwhile arrive before the reader answers from memory.
#[tokio::test]
async fn a_late_channel_stops_the_near_cache_until_it_has_caught_up() {
    let (shop, proxy) = reader_behind_a_proxy().await;

    proxy.pause();
    near_cache_stops(&shop).await;
    let near_hits = shop.near_hits();
    let during = shop.reader.post_graphql(JACKET).await;
    assert_eq!(during["data"]["product"]["variants"][0]["quantityAvailable"], 13, "{during}");
    assert_eq!(shop.near_hits(), near_hits, "not from memory while the channel is late");
    shop.adjust_stock(-4).await;
    proxy.resume();
    shop.reader.wait_for_near_cache().await;

    let after = shop.reader.post_graphql(JACKET).await;
    assert_eq!(after["data"]["product"]["variants"][0]["quantityAvailable"], 9, "{after}");
    shop.tee_is_still_cached().await;
}

/// What was published while the reader had no subscription never reaches it, so a new subscription
/// starts with the near cache emptied.
#[tokio::test]
async fn a_dropped_channel_empties_the_near_cache() {
    let (shop, proxy) = reader_behind_a_proxy().await;

    proxy.pause();
    proxy.sever();
    near_cache_stops(&shop).await;
    shop.adjust_stock(-4).await;
    proxy.resume();
    shop.reader.wait_for_near_cache().await;

    let after = shop.reader.post_graphql(JACKET).await;
    assert_eq!(after["data"]["product"]["variants"][0]["quantityAvailable"], 9, "{after}");
    let near_hits = shop.near_hits();
    shop.reader.post_graphql(TEE).await;
    assert_eq!(shop.near_hits(), near_hits, "the tee was forgotten with everything else");
}

/// A session that wrote reads past the near cache until the near cache has applied its write's
/// invalidation, and from memory after.
#[tokio::test]
async fn a_session_that_wrote_reads_past_the_near_cache_until_it_has_applied_the_write() {
    let shop = TwoInstances::start(13).await;
    shop.warm().await;
    let (not_yet, _, _) = shop.reader_session_that_wrote(true, u64::MAX).await;
    let (applied, _, _) = shop.reader_session_that_wrote(true, 0).await;

    let (hits, near_hits) = (shop.hits(), shop.near_hits());
    shop.reader.post_graphql_as(&not_yet, JACKET).await;
    assert_eq!((shop.hits(), shop.near_hits()), (hits + 1, near_hits), "a hit in Redis, not in memory");
    shop.reader.post_graphql_as(&applied, JACKET).await;
    assert_eq!((shop.hits(), shop.near_hits()), (hits + 2, near_hits + 1), "a hit in memory");
}

/// A session's own stock change: it sees it in every answer, and its answers come from memory again
/// once the reader's near cache has applied the change.
#[tokio::test]
async fn a_session_reads_its_own_write_at_once_and_from_memory_once_it_is_applied() {
    let shop = TwoInstances::start(13).await;
    shop.warm().await;
    let admin = shop.reader.admin_token().await;
    as_admin(&shop.reader, &admin, &shop.stock_adjustment(-3)).await;

    let since = Instant::now();
    loop {
        let near_hits = shop.near_hits();
        let jacket = shop.reader.post_graphql_as(&admin, JACKET).await;
        assert_eq!(
            jacket["data"]["product"]["variants"][0]["quantityAvailable"], 10,
            "its own write, always"
        );
        if shop.near_hits() > near_hits {
            break;
        }
        assert!(since.elapsed() < Duration::from_secs(1), "still not from memory a second after the write");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An instance started after a session's write never sees that write's own message: its ticks, which
/// carry how many invalidations were published before them, tell it the write is applied.
#[tokio::test]
async fn an_instance_started_after_a_write_serves_its_session_from_memory_once_its_ticks_are_back() {
    let shop = TwoInstances::start(13).await;
    let admin = shop.writer.admin_token().await;
    as_admin(&shop.writer, &admin, &shop.stock_adjustment(-3)).await;

    let later = shop.writer.beside(&[]).await;
    later.wait_for_near_cache().await;
    let first = later.post_graphql_as(&admin, JACKET).await;
    let near_hits = later.services.cache.stats().near_hits;
    let again = later.post_graphql_as(&admin, JACKET).await;

    assert_eq!(first["data"]["product"]["variants"][0]["quantityAvailable"], 10, "{first}");
    assert_eq!(again, first);
    assert_eq!(later.services.cache.stats().near_hits, near_hits + 1, "the session's read came from memory");
}

/// An instance that keeps no near cache still publishes what its writes invalidate, for the
/// instances that keep one.
#[tokio::test]
async fn a_writer_without_a_near_cache_still_tells_the_others() {
    let mut shop = TwoInstances::start(13).await;
    shop.writer = TestApp::spawn_on(shop.reader.db.clone(), &["--near-cache-mb", "0"]).await;
    shop.warm().await;

    shop.adjust_stock(-4).await;

    shop.shows_within_a_second(9, Instant::now()).await;
    shop.tee_is_still_cached().await;
}
