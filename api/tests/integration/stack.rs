//! The local stack is configured as the brief asks: Redis behind a password with an append-only file,
//! and a seed that the api's writer role can run.

use std::time::Duration;

use infra::probe::ProbeStatus;
use infra::redis::{RedisSettings, RedisStore, Topology};
use infra::seed::{SeedReport, seed_catalog};
use secrecy::SecretString;

use crate::support::{Stack, TestDatabase, connect};

fn redis(url: String) -> RedisStore {
    RedisStore::connect(&RedisSettings {
        url: SecretString::from(url),
        ca: None,
        topology: Topology::Single,
        replicated_writes: None,
        pool_size: 1,
        timeout: Duration::from_secs(1),
        key_prefix: "mc_test_stack:".to_owned(),
    })
    .expect("the Redis settings are valid")
}

#[tokio::test]
async fn redis_refuses_clients_without_the_password() {
    let url = Stack::get().redis_url();
    let without_password = url.replacen(&url[8..url.find('@').unwrap() + 1], "", 1);
    assert!(!without_password.contains('@'), "{without_password}");

    let probe = redis(without_password).probe().await;

    assert_eq!(probe.status, ProbeStatus::Down);
    assert!(probe.error.as_deref().unwrap_or_default().contains("NOAUTH"), "{probe:?}");
    assert_eq!(redis(url).probe().await.status, ProbeStatus::Ok);
}

#[tokio::test]
async fn redis_keeps_an_append_only_file_synced_every_second() {
    let client = deadpool_redis::redis::Client::open(Stack::get().redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.expect("Redis answers");
    let config: Vec<(String, String)> = deadpool_redis::redis::cmd("CONFIG")
        .arg("GET")
        .arg("append*")
        .query_async(&mut conn)
        .await
        .expect("CONFIG GET answers");
    let config: std::collections::BTreeMap<_, _> = config.into_iter().collect();

    assert_eq!(config.get("appendonly").map(String::as_str), Some("yes"));
    assert_eq!(config.get("appendfsync").map(String::as_str), Some("everysec"));
}

#[tokio::test]
async fn the_seed_fills_an_empty_catalogue_once_with_the_writer_role() {
    let db = TestDatabase::create().await;
    let writer = connect(&db.writer_url()).await;

    let report = seed_catalog(&writer, 30).await.expect("the writer can seed");
    let again = seed_catalog(&writer, 30).await.expect("a second seed is harmless");

    let report = report.expect("an empty catalogue is seeded");
    assert_eq!(report.products, 30);
    assert!(report.variants >= 300, "{report:?}");
    assert_eq!(again, None::<SeedReport>);
}
