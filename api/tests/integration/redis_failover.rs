//! Redis with automatic failover (Redis Sentinel, as ElastiCache Multi-AZ): an app that finds its
//! primary through the sentinels and acknowledges a cart change only once a replica has it keeps every
//! acknowledged change when the primary is killed, and takes cart calls again within seconds. Each
//! test has a Redis set of its own (`scripts/stack redis-ha`), so that killing its primary touches
//! nobody else's Redis.

use std::time::{Duration, Instant};

use deadpool_redis::redis;
use serde_json::Value;

use crate::carts::{CART, add, lines, shop};
use crate::support::{Stack, TestApp, free_port, stack_script};

/// A primary, a replica and three sentinels on ports of their own; removed on drop.
struct RedisHa {
    name: String,
    ports: Vec<u16>,
}

impl RedisHa {
    fn start() -> Self {
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 5 {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let name = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut args = vec!["redis-ha".to_owned(), "up".to_owned(), name.clone()];
        args.extend(ports.iter().map(u16::to_string));
        stack_script(&args.iter().map(String::as_str).collect::<Vec<_>>());
        Self { name, ports }
    }

    fn sentinels(&self) -> String {
        self.ports[2..].iter().map(|port| format!("127.0.0.1:{port}")).collect::<Vec<_>>().join(",")
    }

    /// The port of the server the sentinels name the primary.
    async fn primary_port(&self) -> u16 {
        let sentinel = redis::Client::open(format!("redis://127.0.0.1:{}", self.ports[2])).unwrap();
        let mut connection = sentinel.get_multiplexed_async_connection().await.unwrap();
        let (_, port): (String, u16) = redis::cmd("SENTINEL")
            .arg("get-master-addr-by-name")
            .arg("myclothes")
            .query_async(&mut connection)
            .await
            .unwrap();
        port
    }

    /// `kill -9` of the primary's process; its port.
    async fn kill_primary(&self) -> u16 {
        let port = self.primary_port().await;
        kill(port).await;
        port
    }

    /// `kill -9` of the replica's process.
    async fn kill_replica(&self) {
        let primary = self.primary_port().await;
        kill(*self.ports[..2].iter().find(|port| **port != primary).unwrap()).await;
    }
}

/// `kill -9` of the Redis server on `port`.
async fn kill(port: u16) {
    let server = redis::Client::open(Stack::get().redis_url_on(port)).unwrap();
    let mut connection = server.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO").arg("server").query_async(&mut connection).await.unwrap();
    let pid = info.lines().find_map(|line| line.strip_prefix("process_id:")).unwrap().trim().to_owned();
    let killed = std::process::Command::new("kill").args(["-9", &pid]).status().unwrap();
    assert!(killed.success(), "kill -9 {pid}");
}

impl Drop for RedisHa {
    fn drop(&mut self) {
        stack_script(&["redis-ha", "rm", &self.name]);
    }
}

#[tokio::test]
async fn a_cart_change_acknowledged_before_the_primary_dies_survives_the_failover() {
    let ha = RedisHa::start();
    let sentinels = ha.sentinels();
    // The URL gives the password; the sentinels give the address.
    let url = Stack::get().redis_url_on(1);
    let app = TestApp::spawn_with(&[
        "--redis-url",
        &url,
        "--redis-sentinels",
        &sentinels,
        "--redis-wait-replicas",
        "1",
    ])
    .await;
    let shop = shop(&app).await;
    let first = app.post_graphql(&add(&shop.tee_m, 1)).await;
    let token = first["data"]["addToCart"]["token"].as_str().unwrap_or_else(|| panic!("{first}")).to_owned();
    for _ in 0..9 {
        let added = app.post_graphql_as(&token, &add(&shop.tee_m, 1)).await;
        assert!(added["data"]["addToCart"]["userErrors"] == Value::Array(vec![]), "{added}");
    }
    let acknowledged = app.post_graphql_as(&token, &add(&shop.tee_l, 3)).await;
    let expected = lines(&acknowledged["data"]["addToCart"]["cart"]);
    assert_eq!(expected.iter().map(|(_, quantity)| quantity).sum::<i64>(), 13, "{acknowledged}");

    let killed = ha.kill_primary().await;
    // How long the sentinels take to elect and promote is theirs (and the machine's): wait for it,
    // then time the app's part, finding the new primary.
    let promoted = Instant::now();
    while ha.primary_port().await == killed {
        assert!(
            promoted.elapsed() < Duration::from_secs(60),
            "the sentinels promoted no replica within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let started = Instant::now();
    let cart = loop {
        let body = app.post_graphql_as(&token, &format!("{{ {CART} }}")).await;
        if body["errors"].is_null() {
            break body["data"]["cart"].clone();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "carts are not back 10 s after the sentinels named the new primary: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(lines(&cart), expected, "every acknowledged change is on the new primary");
    let after = app.post_graphql_as(&token, &add(&shop.tee_l, 1)).await;
    assert_eq!(
        after["data"]["addToCart"]["cart"]["totalQuantity"], 14,
        "writes go to the new primary: {after}"
    );
}

/// With no replica answering, a cart change is acknowledged once the wait is over, held by the
/// primary alone (the count of such changes, on `/metrics`, is process-wide: not checked here, where
/// tests share a process).
#[tokio::test]
async fn without_its_replica_a_cart_change_is_acknowledged_after_the_wait_and_counted() {
    let ha = RedisHa::start();
    let url = Stack::get().redis_url_on(1);
    let sentinels = ha.sentinels();
    let wait = ["--redis-wait-replicas", "1", "--redis-wait-timeout", "300ms"];
    let app =
        TestApp::spawn_with(&[&["--redis-url", &url, "--redis-sentinels", &sentinels][..], &wait].concat())
            .await;
    let shop = shop(&app).await;
    let replicated = app.post_graphql(&add(&shop.tee_m, 1)).await;
    assert_eq!(replicated["data"]["addToCart"]["userErrors"], Value::Array(vec![]), "{replicated}");

    ha.kill_replica().await;
    let started = Instant::now();
    let alone = app.post_graphql(&add(&shop.tee_m, 2)).await;

    assert_eq!(alone["data"]["addToCart"]["cart"]["totalQuantity"], 2, "{alone}");
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "it waited {:?} for the replica",
        started.elapsed()
    );
}
