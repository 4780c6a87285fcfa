//! The cache after writes, across instances: a stock change reaches every instance's cached answers
//! within a second of its commit, and leaves the cached answers that do not show the variant alone;
//! the writer reads its own write at once, through the cache.

use std::time::{Duration, Instant};

use infra::cache::ReadPolicy;
use infra::db::Consistency;
use infra::session_registry::LastWrite;
use serde_json::Value;

use crate::carts::{add, base64_global_id};
use crate::checkout::guest_checkout;
use crate::support::TestApp;
use crate::support::catalog::CatalogFixture;

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
        let reader = TestApp::spawn().await;
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
        let writer = reader.beside().await;
        Self { reader, writer, jacket }
    }

    /// Reads the jacket, the in-stock listing and the tee on the reading instance until each is a hit.
    async fn warm(&self) {
        for query in [JACKET, IN_STOCK, TEE, JACKET, IN_STOCK, TEE] {
            self.reader.post_graphql(query).await;
        }
    }

    fn hits(&self) -> u64 {
        self.reader.services.cache.stats().hits
    }

    /// Whether the reading instance answers `query` from the cache, and its answer.
    async fn read_is_hit(&self, query: &str) -> (bool, Value) {
        let before = self.hits();
        let answer = self.reader.post_graphql(query).await;
        (self.hits() > before, answer)
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

    async fn admin(&self, mutation: &str) -> Value {
        let admin = self.writer.admin_token().await;
        let body = self.writer.post_graphql_as(&admin, mutation).await;
        assert!(body["errors"].is_null(), "{body}");
        body
    }
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
    let adjust = |delta: i32| {
        format!(
            r#"mutation {{ adjustStock(variantId: "{}", delta: {delta}) {{ variant {{ id }} }} }}"#,
            shop.jacket
        )
    };

    shop.admin(&adjust(-13)).await;
    shop.shows_within_a_second(0, Instant::now()).await;
    shop.tee_is_still_cached().await;

    shop.admin(&adjust(5)).await;
    shop.shows_within_a_second(5, Instant::now()).await;
    shop.tee_is_still_cached().await;

    shop.admin(&adjust(-2)).await;
    shop.shows_within_a_second(3, Instant::now()).await;
    shop.tee_is_still_cached().await;
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
    let session = infra::tokens::Tokens::new_session();
    let token = shop.reader.services.tokens.issue(&session).unwrap();
    let sessions = &shop.reader.services.sessions;
    let position = shop.reader.services.db.write_position().await.unwrap();
    let untold = LastWrite { position, cache_told: false };
    sessions.record_write(&session.id, untold).await.unwrap();

    let before = shop.reader.services.cache.stats();
    let product = shop.reader.post_graphql_as(&token, JACKET).await;

    assert_eq!(product["data"]["product"]["variants"][0]["quantityAvailable"], 13);
    assert_eq!(shop.reader.services.cache.stats(), before, "neither a hit nor a miss: around the cache");
    let state = sessions.state(&session).await.unwrap();
    assert_eq!(
        state.read_policy(),
        ReadPolicy { consistency: Consistency::AtLeast(position), through_cache: false }
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
    let (hit, counts) = shop.read_is_hit(JACKET).await;
    assert!(!hit, "the exact stock changed");
    assert_eq!(counts["data"]["product"]["variants"][0]["quantityAvailable"], 10);

    shop.buy(10).await;
    assert!(shop.read_is_hit(NAMES).await.0, "names do not change with stock");
    let (hit, flags) = shop.read_is_hit(FLAGS).await;
    assert!(!hit, "the variant sold out");
    assert_eq!(flags["data"]["product"]["inStock"], false);
}
