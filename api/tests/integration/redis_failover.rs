//! Redis with automatic failover (Redis Sentinel, as ElastiCache Multi-AZ): an app that finds its
//! primary through the sentinels and acknowledges a cart change only once a replica has it keeps every
//! acknowledged change when the primary is killed, and takes cart calls again within seconds. Each
//! test has a Redis set of its own (`scripts/stack redis-ha`), so that killing its primary touches
//! nobody else's Redis. A set may accept TLS only, sentinels included.

use std::time::{Duration, Instant};

use deadpool_redis::redis;
use serde_json::Value;

use crate::carts::{CART, add, lines, shop};
use crate::support::redis::{kill_server, redis_of_its_own};
use crate::support::{Stack, TestApp, free_port, stack_script};

/// A primary, a replica and three sentinels on ports of their own; removed on drop.
struct RedisHa {
    name: String,
    ports: Vec<u16>,
    /// The sentinels' addresses, as the set's script prints them.
    sentinels: String,
    tls: bool,
}

impl RedisHa {
    fn start() -> Self {
        Self::start_with(false)
    }

    /// A set whose servers and sentinels accept TLS only, with the stack's certificate authority.
    fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let mut ports: Vec<u16> = Vec::new();
        while ports.len() < 5 {
            let port = free_port();
            if !ports.contains(&port) {
                ports.push(port);
            }
        }
        let (name, sentinels) = redis_of_its_own("redis-ha", &ports, tls);
        Self { name, ports, sentinels, tls }
    }

    /// A client of the member on `port`, with the stack's password unless it is a sentinel.
    fn client(&self, port: u16, password: bool) -> redis::Client {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let url = match password {
            true => Stack::get().redis_url_on(port).replacen("redis", scheme, 1),
            false => format!("{scheme}://127.0.0.1:{port}"),
        };
        if !self.tls {
            return redis::Client::open(url).unwrap();
        }
        let ca = std::fs::read(Stack::get().tls_ca_file()).unwrap();
        redis::Client::build_with_tls(url, redis::TlsCertificates { client_tls: None, root_cert: Some(ca) })
            .unwrap()
    }

    /// An app whose Redis is the primary the sentinels name, and which acknowledges a cart change
    /// once the replica has it (over TLS, with the stack's authority, for a TLS set); `overrides` as
    /// `TestApp::spawn_with` takes them.
    async fn app(&self, overrides: &[&str]) -> TestApp {
        // The URL gives the password (and TLS); the sentinels give the address.
        let scheme = if self.tls { "rediss" } else { "redis" };
        let url = Stack::get().redis_url_on(1).replacen("redis", scheme, 1);
        let ca = Stack::get().tls_ca_file().to_str().unwrap().to_owned();
        let mut args =
            vec!["--redis-url", &url, "--redis-sentinels", &self.sentinels, "--redis-wait-replicas", "1"];
        if self.tls {
            args.extend(["--redis-ca-file", &ca]);
        }
        TestApp::spawn_with(&[&args[..], overrides].concat()).await
    }

    /// The port of the server the sentinels name the primary.
    async fn primary_port(&self) -> u16 {
        let mut connection =
            self.client(self.ports[2], false).get_multiplexed_async_connection().await.unwrap();
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
        self.kill(port).await;
        port
    }

    /// The port of the other server, the replica.
    async fn replica_port(&self) -> u16 {
        let primary = self.primary_port().await;
        *self.ports[..2].iter().find(|port| **port != primary).unwrap()
    }

    /// `kill -9` of the replica's process.
    async fn kill_replica(&self) {
        self.kill(self.replica_port().await).await;
    }

    /// `kill -9` of the Redis server on `port`.
    async fn kill(&self, port: u16) {
        kill_server(&mut self.client(port, true).get_multiplexed_async_connection().await.unwrap()).await;
    }
}

impl Drop for RedisHa {
    fn drop(&mut self) {
        stack_script(&["redis-ha", "rm", &self.name]);
    }
}

/// What a failover must keep: a guest's cart of thirteen units, acknowledged in eleven changes.
pub struct AcknowledgedCart {
    pub token: String,
    lines: Vec<(String, i64)>,
    /// A variant to add once the cart is back.
    variant: String,
}

impl AcknowledgedCart {
    pub async fn make(app: &TestApp) -> Self {
        let shop = shop(app).await;
        let first = app.post_graphql(&add(&shop.tee_m, 1)).await;
        let token =
            first["data"]["addToCart"]["token"].as_str().unwrap_or_else(|| panic!("{first}")).to_owned();
        for _ in 0..9 {
            let added = app.post_graphql_as(&token, &add(&shop.tee_m, 1)).await;
            assert!(added["data"]["addToCart"]["userErrors"] == Value::Array(vec![]), "{added}");
        }
        let acknowledged = app.post_graphql_as(&token, &add(&shop.tee_l, 3)).await;
        let lines = lines(&acknowledged["data"]["addToCart"]["cart"]);
        assert_eq!(lines.iter().map(|(_, quantity)| quantity).sum::<i64>(), 13, "{acknowledged}");
        Self { token, lines, variant: shop.tee_l }
    }

    /// Once a replica has taken over: the app reads the cart again within 10 s, with every
    /// acknowledged change, and its next change goes to the new primary.
    pub async fn survived(&self, app: &TestApp) {
        let started = Instant::now();
        let cart = loop {
            let body = app.post_graphql_as(&self.token, &format!("{{ {CART} }}")).await;
            if body["errors"].is_null() {
                break body["data"]["cart"].clone();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "carts are not back 10 s after a replica took over: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };

        assert_eq!(lines(&cart), self.lines, "every acknowledged change is on the new primary");
        let after = app.post_graphql_as(&self.token, &add(&self.variant, 1)).await;
        assert_eq!(
            after["data"]["addToCart"]["cart"]["totalQuantity"], 14,
            "writes go to the new primary: {after}"
        );
    }
}

#[tokio::test]
async fn a_cart_change_acknowledged_before_the_primary_dies_survives_the_failover() {
    let ha = RedisHa::start();
    let app = ha.app(&[]).await;
    let cart = AcknowledgedCart::make(&app).await;

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
    cart.survived(&app).await;
}

/// With no replica answering, a cart change is acknowledged once the wait is over, held by the
/// primary alone (the count of such changes, on `/metrics`, is process-wide: not checked here, where
/// tests share a process).
#[tokio::test]
async fn without_its_replica_a_cart_change_is_acknowledged_after_the_wait() {
    let ha = RedisHa::start();
    let app = ha.app(&["--redis-wait-timeout", "300ms"]).await;
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

/// Servers and sentinels that accept TLS only: given `rediss://` and the authority, the app asks the
/// sentinels over TLS, reaches the primary they name over TLS, and its cart change reaches the replica
/// (replicated over TLS).
#[tokio::test]
async fn behind_sentinels_that_accept_tls_only_the_app_finds_its_primary_over_tls() {
    let ha = RedisHa::start_tls();
    let plain = redis::Client::open(format!("redis://127.0.0.1:{}", ha.ports[2])).unwrap();
    let attempt = tokio::time::timeout(Duration::from_secs(5), async {
        let mut connection = plain.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await
    });
    assert!(!matches!(attempt.await, Ok(Ok(_))), "a sentinel refuses a client in the clear");

    let app = ha.app(&[]).await;
    let shop = shop(&app).await;
    let added = app.post_graphql(&add(&shop.tee_m, 2)).await;
    assert_eq!(added["data"]["addToCart"]["cart"]["totalQuantity"], 2, "{added}");

    let mut connection =
        ha.client(ha.replica_port().await, true).get_multiplexed_async_connection().await.unwrap();
    let carts: Vec<String> = redis::cmd("KEYS").arg("*cart:*").query_async(&mut connection).await.unwrap();
    assert_eq!(carts.len(), 1, "the replica has the cart: {carts:?}");
}
