//! The local stack's addresses and credentials, read from `scripts/stack.env` (the one place they
//! are written), and the `scripts/stack` command for tests that start or stop services of their own.
//!
//! With `MYCLOTHES_TEST_REDIS_SENTINELS` (`host:port,…`, as `scripts/test-redis-sentinel` sets it), the
//! suite's Redis is the primary those sentinels name: the apps find it through them and wait for its
//! replica; the tests' own clients reach it directly. With `MYCLOTHES_TEST_REDIS_CLUSTER`
//! (`host:port,…`, as `scripts/test-redis-cluster` sets it), the apps' Redis is that Redis Cluster,
//! where each cart change waits for a replica too; tests reach it through an app's own connection
//! (`TestApp::redis`).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{LazyLock, Mutex, OnceLock};

pub struct Stack {
    values: HashMap<String, String>,
    pub primary_port: u16,
    pub replica_port: u16,
    redis_port: u16,
    redis_sentinels: Option<String>,
    redis_cluster: Option<String>,
}

impl Stack {
    pub fn get() -> &'static Stack {
        static STACK: OnceLock<Stack> = OnceLock::new();
        STACK.get_or_init(|| {
            let path = repo_root().join("scripts/stack.env");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let values: HashMap<String, String> = text
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .filter_map(|line| line.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let port = |key: &str| values[key].parse().expect("stack.env ports are numbers");
            let redis_sentinels = std::env::var("MYCLOTHES_TEST_REDIS_SENTINELS").ok();
            let redis_port = match &redis_sentinels {
                Some(sentinels) => primary_named_by(sentinels),
                None => port("STACK_REDIS_PORT"),
            };
            Stack {
                primary_port: port("STACK_PRIMARY_PORT"),
                replica_port: port("STACK_REPLICA_PORT"),
                redis_port,
                redis_sentinels,
                redis_cluster: std::env::var("MYCLOTHES_TEST_REDIS_CLUSTER").ok(),
                values,
            }
        })
    }

    fn value(&self, key: &str) -> &str {
        self.values.get(key).unwrap_or_else(|| panic!("scripts/stack.env has no {key}"))
    }

    fn url(&self, role: &str, port: u16, database: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{port}/{database}",
            self.value(&format!("STACK_{role}_ROLE")),
            self.value(&format!("STACK_{role}_PASSWORD"))
        )
    }

    pub fn owner_url(&self, database: &str) -> String {
        self.url("OWNER", self.primary_port, database)
    }

    pub fn writer_url(&self, database: &str) -> String {
        self.writer_url_on(database, self.primary_port)
    }

    /// The writer role's URL on the server at `port` (a replica that may be promoted, a proxy).
    pub fn writer_url_on(&self, database: &str, port: u16) -> String {
        self.url("WRITER", port, database)
    }

    pub fn reader_url(&self, database: &str, port: u16) -> String {
        self.url("READER", port, database)
    }

    pub fn redis_url(&self) -> String {
        self.redis_url_on(self.redis_port())
    }

    /// The stack's Redis URL, but to `port` (a proxy in front of it).
    pub fn redis_url_on(&self, port: u16) -> String {
        format!("redis://:{}@127.0.0.1:{port}/0", self.value("STACK_REDIS_PASSWORD"))
    }

    /// localstripe's base URL, where Stripe's API is `https://api.stripe.com`.
    pub fn stripe_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.stripe_port())
    }

    pub fn stripe_port(&self) -> u16 {
        self.value("STACK_STRIPE_PORT").parse().expect("STACK_STRIPE_PORT is a port")
    }

    pub fn stripe_secret_key(&self) -> &str {
        self.value("STACK_STRIPE_SECRET_KEY")
    }

    /// The port of the suite's Redis: the stack's, or the primary the sentinels name.
    pub fn redis_port(&self) -> u16 {
        self.redis_port
    }

    /// The sentinels the apps find the suite's Redis through, when the suite runs behind them.
    pub fn redis_sentinels(&self) -> Option<&str> {
        self.redis_sentinels.as_deref()
    }

    /// The nodes of the Redis Cluster the apps use, when the suite runs against one.
    pub fn redis_cluster(&self) -> Option<&str> {
        self.redis_cluster.as_deref()
    }

    /// `role`'s URL of `database` on the PostgreSQL server that accepts TLS only, without an
    /// `sslmode` (the app's certificate authority setting adds `verify-full`).
    pub fn tls_postgres_url(&self, role: &str, database: &str) -> String {
        let port: u16 =
            self.value("STACK_TLS_PRIMARY_PORT").parse().expect("STACK_TLS_PRIMARY_PORT is a port");
        self.url(role, port, database)
    }

    /// The URL of the Redis that accepts TLS only, with `scheme` (`rediss`, or `redis` to try it in the
    /// clear).
    pub fn tls_redis_url(&self, scheme: &str) -> String {
        let port = self.value("STACK_TLS_REDIS_PORT");
        format!("{scheme}://:{}@127.0.0.1:{port}/0", self.value("STACK_REDIS_PASSWORD"))
    }

    /// The certificate authority that signed the TLS servers' certificates.
    pub fn tls_ca_file(&self) -> PathBuf {
        let stack_dir =
            std::env::var_os("MYCLOTHES_STACK_DIR").map_or_else(|| repo_root().join(".stack"), PathBuf::from);
        stack_dir.join("tls/ca.crt")
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `scripts/stack ARGS…`, panicking with its output when it fails.
pub fn stack_script(args: &[&str]) -> String {
    let output =
        Command::new(repo_root().join("scripts/stack")).args(args).output().expect("scripts/stack runs");
    assert!(
        output.status.success(),
        "scripts/stack {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A TCP port on 127.0.0.1 that nothing listens on right now and that this process has not handed
/// out before, for a server started later. It is taken below the kernel's ephemeral range: the kernel
/// offers a port it just freed to the next bind to port 0 (here, most of the time), so a port found
/// that way went to the next in-process app or outgoing connection before its server could bind it.
pub fn free_port() -> u16 {
    static HANDED_OUT: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Mutex::default);
    let below = ephemeral_ports_start();
    for _ in 0..1_000 {
        let port = rand::random_range(below.saturating_sub(12_000)..below);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && HANDED_OUT.lock().expect("never poisoned").insert(port)
        {
            return port;
        }
    }
    panic!("no free port below {below} in 1,000 tries");
}

/// The first port of the kernel's ephemeral range, which it gives to binds to port 0 and to
/// outgoing connections.
fn ephemeral_ports_start() -> u16 {
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap_or_default();
    range.split_whitespace().next().and_then(|start| start.parse().ok()).unwrap_or(32_768)
}

/// A streaming replica of its own that replays `delay` (such as `2s`) behind the primary; removed on drop.
pub struct DelayedReplica {
    name: String,
    pub port: u16,
}

impl DelayedReplica {
    pub fn start(delay: &str) -> Self {
        let (name, port) = (format!("d{}", uuid::Uuid::new_v4().simple()), free_port());
        stack_script(&["replica", "up", &name, &port.to_string(), delay]);
        Self { name, port }
    }

    /// Makes it a primary of its own, as after a failover.
    pub fn promote(&self) {
        stack_script(&["replica", "promote", &self.name]);
    }
}

impl Drop for DelayedReplica {
    fn drop(&mut self) {
        stack_script(&["replica", "rm", &self.name]);
    }
}

/// The port of the primary that the first of `sentinels` names (monitored as `myclothes`).
fn primary_named_by(sentinels: &str) -> u16 {
    let first = sentinels.split(',').next().expect("at least one sentinel").trim();
    let sentinel = deadpool_redis::redis::Client::open(format!("redis://{first}"))
        .unwrap_or_else(|e| panic!("MYCLOTHES_TEST_REDIS_SENTINELS: {first}: {e}"));
    let mut connection =
        sentinel.get_connection().unwrap_or_else(|e| panic!("the sentinel at {first} does not answer: {e}"));
    let (_, port): (String, u16) = deadpool_redis::redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg("myclothes")
        .query(&mut connection)
        .unwrap_or_else(|e| panic!("the sentinel at {first} names no primary: {e}"));
    port
}
