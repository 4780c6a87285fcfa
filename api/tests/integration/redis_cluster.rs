//! Redis Cluster (ElastiCache's cluster mode): an app reaches every node of a cluster over TLS when
//! the cluster accepts nothing else, and keeps every acknowledged cart change when the primary that
//! holds the cart is killed and its replica takes over. Each test has a cluster of its own
//! (`scripts/stack redis-cluster`), so that killing a node touches nobody else's Redis.

use std::time::{Duration, Instant};

use deadpool_redis::redis;
use redis::Value;

use crate::carts::{CART, add, guest_cart_of, shop};
use crate::redis_failover::AcknowledgedCart;
use crate::support::redis::{kill_server, redis_of_its_own};
use crate::support::{Stack, TestApp, stack_script};

/// Three primaries with a replica each, on ports of their own; removed on drop.
struct RedisCluster {
    name: String,
    ports: Vec<u16>,
    /// The nodes' addresses, as the cluster's script prints them.
    nodes: String,
    tls: bool,
}

impl RedisCluster {
    fn start(tls: bool) -> Self {
        let ports = node_ports();
        let (name, nodes) = redis_of_its_own("redis-cluster", &ports, tls);
        Self { name, ports, nodes, tls }
    }

    fn scheme(&self) -> &'static str {
        if self.tls { "rediss" } else { "redis" }
    }

    /// An app whose Redis is the cluster (over TLS with the stack's authority for a TLS cluster),
    /// acknowledging a cart change once a replica has it.
    async fn app(&self) -> TestApp {
        // The URL gives the password (and TLS); the nodes give the addresses.
        let url = Stack::get().redis_url_on(1).replacen("redis", self.scheme(), 1);
        let ca = Stack::get().tls_ca_file().to_str().unwrap().to_owned();
        let mut args =
            vec!["--redis-url", &url, "--redis-cluster", &self.nodes, "--redis-wait-replicas", "1"];
        if self.tls {
            args.extend(["--redis-ca-file", &ca]);
        }
        TestApp::spawn_with(&args).await
    }

    /// A connection to the node on `port` alone, with the stack's password.
    async fn node(&self, port: u16) -> redis::aio::MultiplexedConnection {
        let url = Stack::get().redis_url_on(port).replacen("redis", self.scheme(), 1);
        let client = if self.tls {
            let ca = std::fs::read(Stack::get().tls_ca_file()).unwrap();
            redis::Client::build_with_tls(
                url,
                redis::TlsCertificates { client_tls: None, root_cert: Some(ca) },
            )
        } else {
            redis::Client::open(url)
        };
        client.unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    /// The port of the primary that serves `key`'s slot, as the node on `asked` sees it.
    async fn primary_of(&self, key: &str, asked: u16) -> u16 {
        let mut node = self.node(asked).await;
        let slot: u16 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query_async(&mut node).await.unwrap();
        // [[first slot, last slot, [host, port, id, …], replicas…], …]
        let ranges: Vec<Vec<Value>> =
            redis::cmd("CLUSTER").arg("SLOTS").query_async(&mut node).await.unwrap();
        let number = |value: &Value| redis::from_redis_value_ref::<u16>(value).unwrap();
        let serving = ranges.iter().find(|range| (number(&range[0])..=number(&range[1])).contains(&slot));
        let primary: Vec<Value> = redis::from_redis_value_ref(&serving.expect("a served slot")[2]).unwrap();
        number(&primary[1])
    }

    /// `kill -9` of the node on `port`.
    async fn kill(&self, port: u16) {
        kill_server(&mut self.node(port).await).await;
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        stack_script(&["redis-cluster", "rm", &self.name]);
    }
}

/// Six ports for nodes: a node's cluster bus listens on its port + 10,000, which must be free too and
/// at most 65,535.
fn node_ports() -> Vec<u16> {
    let free = |port: u16| std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
    let mut ports: Vec<u16> = Vec::new();
    while ports.len() < 6 {
        let port = 20_000 + (uuid::Uuid::new_v4().as_u128() % 10_000) as u16;
        if !ports.contains(&port) && free(port) && free(port + 10_000) {
            ports.push(port);
        }
    }
    ports
}

/// Nodes that accept TLS only (their cluster bus and replication too): given `rediss://` and the
/// authority, the app reaches the nodes over TLS, wherever the slots of its keys are.
#[tokio::test]
async fn in_a_cluster_that_accepts_tls_only_the_app_reaches_its_nodes_over_tls() {
    let cluster = RedisCluster::start(true);
    let plain = redis::Client::open(format!("redis://127.0.0.1:{}", cluster.ports[0])).unwrap();
    let attempt = tokio::time::timeout(Duration::from_secs(5), async {
        let mut connection = plain.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut connection).await
    });
    assert!(!matches!(attempt.await, Ok(Ok(_))), "a node refuses a client in the clear");

    let app = cluster.app().await;
    let shop = shop(&app).await;
    let added = app.post_graphql(&add(&shop.tee_m, 2)).await;
    let token = added["data"]["addToCart"]["token"].as_str().unwrap_or_else(|| panic!("{added}")).to_owned();
    let cart = app.post_graphql_as(&token, &format!("{{ {CART} }}")).await;

    assert_eq!(cart["data"]["cart"]["totalQuantity"], 2, "{cart}");
    let key = app.cart_key(&guest_cart_of(&token));
    let primary = cluster.primary_of(&key, cluster.ports[0]).await;
    let on_its_primary: bool =
        redis::cmd("EXISTS").arg(&key).query_async(&mut cluster.node(primary).await).await.unwrap();
    assert!(on_its_primary, "the cart is on the primary of its slot");
}

/// The primary that holds a cart dies: its replica, which had every acknowledged change, takes over,
/// and the app follows the cluster's new shape by itself.
#[tokio::test]
async fn a_cart_change_acknowledged_before_its_primary_dies_survives_the_failover() {
    let cluster = RedisCluster::start(false);
    let app = cluster.app().await;
    let cart = AcknowledgedCart::make(&app).await;
    let key = app.cart_key(&guest_cart_of(&cart.token));
    let killed = cluster.primary_of(&key, cluster.ports[0]).await;
    let survivor = *cluster.ports.iter().find(|port| **port != killed).unwrap();

    cluster.kill(killed).await;
    // How long the cluster takes to promote the replica is its own (and the machine's): wait for it,
    // then time the app's part, finding the new primary.
    let promoted = Instant::now();
    while cluster.primary_of(&key, survivor).await == killed {
        assert!(promoted.elapsed() < Duration::from_secs(60), "no replica took over within 60 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    cart.survived(&app).await;
}
