use std::time::Duration;

use std::sync::atomic::{AtomicUsize, Ordering};

use deadpool_redis::redis::{AsyncCommands, cmd};
use infra::cache::{CacheKey, ReadPolicy, Rendered, Scope, Tag};
use infra::db::Consistency;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::TestApp;
use crate::support::catalog::CatalogFixture;
use crate::support::redis::{OwnRedis, redis_client};

const PRODUCT: &str = r#"{ product(slug: "harbour-jacket") { name priceFrom { amount } brand { name }
    category { name parent { name } } variants { sku price { amount } } } }"#;

/// The product's id.
async fn with_one_product(app: &TestApp) -> Uuid {
    let mut catalog = CatalogFixture::new(&app.primary);
    let brand = catalog.brand("Harbour").await;
    let outerwear = catalog.category("Outerwear", None).await;
    let jackets = catalog.category("Jackets", Some(&outerwear)).await;
    let jacket = catalog
        .product("Harbour Jacket", brand, jackets.0, &[("M", "Olive", 8999, 4), ("L", "Olive", 8999, 2)])
        .await;
    app.wait_for_replica().await;
    jacket
}

fn price(body: &Value) -> &Value {
    &body["data"]["product"]["priceFrom"]["amount"]
}

#[tokio::test]
async fn a_cached_product_renders_without_a_database_statement() {
    let app = TestApp::spawn().await;
    with_one_product(&app).await;

    let first = app.post_graphql(PRODUCT).await;
    let before = app.statements_sent_to("replica-1");
    let second = app.post_graphql(PRODUCT).await;

    assert_eq!(first, second);
    assert_eq!(
        second["data"]["product"]["category"],
        json!({ "name": "Jackets", "parent": { "name": "Outerwear" } })
    );
    assert_eq!(app.statements_sent_to("replica-1"), before, "the hit cost no statement");
    let stats = app.services.cache.stats();
    // The first request missed the response and the product detail; the second hit the response.
    assert_eq!((stats.hits, stats.misses), (1, 2));

    let other_document =
        app.post_graphql(r#"{ product(slug: "harbour-jacket") { name variants { sku } } }"#).await;
    assert_eq!(other_document["data"]["product"]["name"], "Harbour Jacket");
    assert_eq!(app.statements_sent_to("replica-1"), before, "another document reuses the cached product");
}

/// Browsers take gzip: an answer kept in memory goes to them gzipped, compressed once; an answer
/// gzip would hardly shrink, and every answer to a client that does not take gzip, go as they are.
#[tokio::test]
async fn a_cached_answer_from_memory_goes_gzipped_to_a_client_that_takes_it() {
    const SIZES: &str = r#"{ product(slug: "harbour-jacket") { variants { sku size colour inStock } } }"#;
    const NAME: &str = r#"{ product(slug: "harbour-jacket") { name } }"#;
    let app = TestApp::spawn().await;
    let mut catalog = CatalogFixture::new(&app.primary);
    let (brand, jackets) = (catalog.brand("Harbour").await, catalog.category("Jackets", None).await);
    let sizes: Vec<_> = ["XS", "S", "M", "L", "XL", "XXL"]
        .into_iter()
        .flat_map(|size| ["Olive", "Navy", "Sand"].map(|colour| (size, colour, 8999, 3)))
        .collect();
    catalog.product("Harbour Jacket", brand, jackets.0, &sizes).await;
    app.wait_for_replica().await;
    app.wait_for_near_cache().await;

    let (first_gzipped, first) = app.post_graphql_taking_gzip(SIZES).await;
    let near_hits = app.services.cache.stats().near_hits;
    let (gzipped, from_memory) = app.post_graphql_taking_gzip(SIZES).await;
    let (_, again) = app.post_graphql_taking_gzip(SIZES).await;
    let plain = app.post_graphql(SIZES).await;

    assert!(!first_gzipped, "the miss's answer was rendered for this request, not kept in memory");
    assert!(gzipped, "the hit from memory is gzipped");
    assert_eq!(first["data"]["product"]["variants"].as_array().map(Vec::len), Some(18));
    assert_eq!((&from_memory, &again, &plain), (&first, &first, &first));
    assert_eq!(app.services.cache.stats().near_hits, near_hits + 3);
    app.post_graphql_taking_gzip(NAME).await;
    let (name_gzipped, name) = app.post_graphql_taking_gzip(NAME).await;
    assert!(!name_gzipped, "a gzip of a few dozen bytes is no smaller: {name}");
    let refused = app.post_graphql_accepting("gzip;q=0, br", SIZES).await;
    assert!(refused.headers().get("content-encoding").is_none());
    assert_eq!(refused.headers()["vary"], "accept-encoding");
}

#[tokio::test]
async fn a_cached_listing_page_total_and_facets_render_without_a_database_statement() {
    let app = TestApp::spawn().await;
    with_one_product(&app).await;
    let listing = "{ products(first: 10, filter: { sizes: [\"M\"] }) { totalCount edges { node { name brand { name } \
                   variants { sku } } } facets { sizes { value count } } } }";

    let first = app.post_graphql(listing).await;
    let before = app.statements_sent_to("replica-1");
    let second = app.post_graphql(listing).await;

    assert_eq!(first, second);
    assert_eq!(second["data"]["products"]["totalCount"], 1);
    assert_eq!(app.statements_sent_to("replica-1"), before);
}

#[tokio::test]
async fn a_burst_of_misses_for_one_product_costs_one_database_load() {
    let app = TestApp::spawn().await;
    with_one_product(&app).await;
    // The shop's currency is read once per instance, on the first price shown.
    app.post_graphql("{ products(first: 1) { edges { node { priceFrom { amount } } } } }").await;
    let before = app.statements_sent_to("replica-1");

    let burst = (0..20).map(|_| app.post_graphql(PRODUCT));
    let bodies = futures::future::join_all(burst).await;

    assert!(bodies.iter().all(|b| b["data"]["product"]["name"] == "Harbour Jacket"));
    // One load: the product, then its variants, its brand, and its category with its parent.
    assert_eq!(app.statements_sent_to("replica-1") - before, 4);
}

#[tokio::test]
async fn invalidating_a_products_prices_drops_what_shows_them_and_leaves_the_generation() {
    let app = TestApp::spawn().await;
    let jacket = with_one_product(&app).await;
    let cache = &app.services.cache;
    assert_eq!(price(&app.post_graphql(PRODUCT).await), "89.99");
    let generation_key = cache.generation_key(Scope::Catalog);
    let generation: Option<String> = app.redis(cmd("GET").arg(&generation_key)).await;
    let generation = generation.unwrap_or_else(|| "0".to_owned());
    let entry = cache.redis_key(&generation, CacheKey::ProductBySlug("harbour-jacket"));
    assert!(app.redis::<bool>(cmd("EXISTS").arg(&entry)).await, "the product is cached under {entry}");

    app.primary.execute_unprepared("UPDATE variants SET price_minor = 7999").await.unwrap();
    app.wait_for_replica().await;
    assert_eq!(price(&app.post_graphql(PRODUCT).await), "89.99", "until invalidated, the cached price");
    let position = app.services.db.write_position().await.unwrap();
    cache.invalidate(Scope::Catalog, &[Tag::Price(jacket)], false, Some(position)).await.unwrap();

    assert!(!app.redis::<bool>(cmd("EXISTS").arg(&entry)).await, "the entry is gone");
    let same_generation: Option<String> = app.redis(cmd("GET").arg(&generation_key)).await;
    assert_eq!(same_generation.unwrap_or_else(|| "0".to_owned()), generation);
    assert_eq!(price(&app.post_graphql(PRODUCT).await), "79.99");
}

#[tokio::test]
async fn a_new_generation_makes_every_entry_unreachable() {
    let app = TestApp::spawn().await;
    with_one_product(&app).await;
    let cache = &app.services.cache;
    app.post_graphql(PRODUCT).await;
    app.post_graphql(PRODUCT).await;
    let hits = cache.stats().hits;

    let position = app.services.db.write_position().await.unwrap();
    cache.invalidate(Scope::Catalog, &[], true, Some(position)).await.unwrap();

    app.post_graphql(PRODUCT).await;
    assert_eq!(cache.stats().hits, hits, "the next read missed");
}

/// A load that raced with a write (it read before the write, which was invalidated while it loaded)
/// is answered but not kept, and the next miss reads at least as far as the write.
#[tokio::test]
async fn a_fill_that_raced_with_a_write_to_what_it_shows_is_not_kept() {
    let app = TestApp::spawn().await;
    let cache = &app.services.cache;
    let product = Uuid::now_v7();
    let (loads, key) = (AtomicUsize::new(0), CacheKey::ProductById(product));
    let write_at = app.services.db.write_position().await.unwrap();
    let render = |at: Consistency| {
        let loads = &loads;
        async move {
            if loads.fetch_add(1, Ordering::Relaxed) == 0 {
                assert_eq!(at, Consistency::Eventual, "no write was known when the first load began");
                cache
                    .invalidate(Scope::Catalog, &[Tag::Stock(product)], false, Some(write_at))
                    .await
                    .unwrap();
            } else {
                assert_eq!(
                    at,
                    Consistency::AtLeast(write_at),
                    "the next load reads at least as far as the write"
                );
            }
            Ok(Rendered { bytes: b"old".to_vec(), cacheable: true, tags: vec![Tag::Stock(product)] })
        }
    };

    assert_eq!(cache.get_or_render(key, ReadPolicy::EVENTUAL, render).await.unwrap().bytes(), &b"old"[..]);
    assert_eq!(cache.get_or_render(key, ReadPolicy::EVENTUAL, render).await.unwrap().bytes(), &b"old"[..]);
    assert_eq!(loads.load(Ordering::Relaxed), 2, "the raced load was not kept");
    cache.get_or_render(key, ReadPolicy::EVENTUAL, render).await.unwrap();
    assert_eq!(loads.load(Ordering::Relaxed), 2, "a load after the write was kept");
}

#[tokio::test]
async fn catalog_reads_bypass_a_stopped_redis_and_use_it_again_once_back() {
    let mut redis = OwnRedis::start().await;
    // Without the near cache, which may answer for a moment after Redis stops (near_cache.rs).
    let app = TestApp::spawn_with(&["--redis-url", &redis.url(), "--near-cache-mb", "0"]).await;
    with_one_product(&app).await;
    app.post_graphql(PRODUCT).await;
    assert_eq!(app.services.cache.stats().bypassed, 0);

    redis.stop();
    for _ in 0..3 {
        let body = app.post_graphql(PRODUCT).await;
        assert_eq!(body["data"]["product"]["name"], "Harbour Jacket", "{body}");
    }
    // Each request passed over the response cache and the product cache.
    assert_eq!(app.services.cache.stats().bypassed, 6);
    let listing = app.post_graphql("{ products(first: 5) { totalCount edges { node { name } } } }").await;
    assert_eq!(listing["data"]["products"]["totalCount"], 1, "{listing}");

    redis.restart().await;
    let mut cached_again = false;
    for _ in 0..50 {
        app.post_graphql(PRODUCT).await;
        if app.services.cache.stats().hits > 0 {
            cached_again = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(cached_again, "the cache was not used again within 5 s of Redis coming back");
}

/// The cache may live in a Redis of its own, which may evict: carts and sessions stay in the main
/// one, and losing the cache's Redis costs only the cache.
#[tokio::test]
async fn the_cache_can_live_in_a_redis_of_its_own() {
    let mut cache_redis = OwnRedis::start().await;
    let app = TestApp::spawn_with(&["--cache-redis-url", &cache_redis.url()]).await;
    with_one_product(&app).await;
    app.post_graphql(PRODUCT).await;
    app.post_graphql(PRODUCT).await;
    assert_eq!(app.services.cache.stats().hits, 1);
    let variant = app.post_graphql(r#"{ product(slug: "harbour-jacket") { variants { id } } }"#).await;
    let variant = variant["data"]["product"]["variants"][0]["id"].as_str().unwrap().to_owned();
    let token = app.post_graphql(&crate::carts::add(&variant, 1)).await["data"]["addToCart"]["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let pattern = format!("{}:*", app.db.name);
    let in_cache = keys(&cache_redis.url(), &pattern).await;
    let in_main: Vec<String> = app.redis(cmd("KEYS").arg(&pattern)).await;
    assert!(in_cache.iter().any(|k| k.contains(":catalog:")), "{in_cache:?}");
    assert!(!in_cache.iter().any(|k| k.contains(":cart:")), "{in_cache:?}");
    // A key may have a hash tag before its name (`{…}cart:…`) in a cluster.
    assert!(in_main.iter().any(|k| k.contains("cart:")) && !in_main.iter().any(|k| k.contains("catalog:")));
    let ready: Value = app.get_admin("/health/ready").await.json().await.unwrap();
    assert!(ready["checks"].as_array().unwrap().iter().any(|c| c["name"] == "cache-redis"), "{ready}");

    cache_redis.stop();
    assert_eq!(price(&app.post_graphql(PRODUCT).await), "89.99", "the catalogue answers from the database");
    let cart = app.post_graphql_as(&token, "{ cart { totalQuantity } }").await;
    assert_eq!(cart["data"]["cart"]["totalQuantity"], 1, "carts are in the main Redis: {cart}");
}

/// The keys matching `pattern` in the Redis at `url`.
async fn keys(url: &str, pattern: &str) -> Vec<String> {
    let mut redis = redis_client(url).get_multiplexed_async_connection().await.unwrap();
    redis.keys(pattern).await.unwrap()
}
