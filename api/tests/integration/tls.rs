//! TLS to both stores, against the stack's PostgreSQL server and Redis that accept TLS only (their
//! certificates signed by the stack's own certificate authority): each refuses a client in the clear,
//! and the app, given the authority, serves a catalogue and a cart through them.

use std::time::Duration;

use infra::probe::ProbeStatus;
use infra::redis::{RedisSettings, RedisStore, Topology};
use sea_orm::ConnectionTrait;
use secrecy::SecretString;
use serde_json::Value;

use crate::carts::add;
use crate::support::{Stack, TestApp, connect};

/// `url` verified against the stack's certificate authority, as the app's setting makes it.
fn verified(url: &str) -> String {
    format!("{url}?sslmode=verify-full&sslrootcert={}", Stack::get().tls_ca_file().display())
}

#[tokio::test]
async fn the_stores_refuse_plaintext_and_the_app_serves_through_them_over_tls() {
    let stack = Stack::get();
    let ca = stack.tls_ca_file();
    let plain = sea_orm::Database::connect(format!(
        "{}?sslmode=disable",
        stack.tls_postgres_url("OWNER", "postgres")
    ))
    .await;
    let Err(refused) = plain else { panic!("PostgreSQL refuses a client in the clear") };
    let refused = refused.to_string();
    assert!(refused.contains("no encryption"), "{refused}");
    let plain_redis = deadpool_redis::redis::Client::open(stack.tls_redis_url("redis")).unwrap();
    let attempt =
        tokio::time::timeout(Duration::from_secs(5), plain_redis.get_multiplexed_async_connection());
    assert!(!matches!(attempt.await, Ok(Ok(_))), "Redis refuses a client in the clear");
    let trusting = |ca: Option<Vec<u8>>| {
        let settings = RedisSettings {
            url: SecretString::from(stack.tls_redis_url("rediss")),
            ca,
            pool_size: 1,
            timeout: Duration::from_secs(2),
            key_prefix: "mc_test_tls:".to_owned(),
            topology: Topology::Single,
            replicated_writes: None,
        };
        RedisStore::connect(&settings).expect("the Redis settings are valid")
    };
    let unverified = trusting(None).probe().await;
    assert_eq!(unverified.status, ProbeStatus::Down, "the system's roots do not know the stack's authority");
    let verified_redis = trusting(Some(std::fs::read(&ca).unwrap())).probe().await;
    assert_ne!(verified_redis.status, ProbeStatus::Down, "{:?}", verified_redis.error);

    let database = format!("tls_{}", uuid::Uuid::new_v4().simple());
    let owner = connect(&verified(&stack.tls_postgres_url("OWNER", "postgres"))).await;
    owner.execute_unprepared(&format!("CREATE DATABASE {database}")).await.unwrap();
    {
        use migrations::MigratorTrait;
        let schema = connect(&verified(&stack.tls_postgres_url("OWNER", &database))).await;
        migrations::Migrator::up(&schema, None).await.expect("the migrations apply over TLS");
        let writer = connect(&verified(&stack.tls_postgres_url("WRITER", &database))).await;
        infra::seed::seed_catalog(&writer, 3).await.expect("the catalogue is seeded over TLS");
    }

    let ca = ca.to_str().unwrap();
    let app = TestApp::spawn_with(&[
        "--database-url",
        &stack.tls_postgres_url("WRITER", &database),
        "--replica-urls",
        &stack.tls_postgres_url("READER", &database),
        "--database-ca-file",
        ca,
        "--redis-url",
        &stack.tls_redis_url("rediss"),
        "--redis-ca-file",
        ca,
    ])
    .await;

    let ready = app.get_admin("/health/ready").await;
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap_or_default());
    let products =
        app.post_graphql("{ products(first: 3) { nodes { variants { id quantityAvailable } } } }").await;
    let variants = products["data"]["products"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["variants"].as_array().unwrap());
    let variant = variants
        .filter(|variant| variant["quantityAvailable"].as_i64() > Some(0))
        .find_map(|variant| variant["id"].as_str())
        .unwrap_or_else(|| panic!("the catalogue is read over TLS: {products}"))
        .to_owned();
    let added = app.post_graphql(&add(&variant, 1)).await;
    assert_eq!(added["data"]["addToCart"]["userErrors"], Value::Array(vec![]), "{added}");
    let token = added["data"]["addToCart"]["token"].as_str().unwrap();
    let cart = app.post_graphql_as(token, "{ cart { totalQuantity } }").await;
    assert_eq!(cart["data"]["cart"]["totalQuantity"], 1, "the cart is kept in Redis over TLS: {cart}");

    drop(app);
    owner.execute_unprepared(&format!("DROP DATABASE {database} WITH (FORCE)")).await.unwrap();
}
