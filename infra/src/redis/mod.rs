//! The one place that opens Redis connections: a shared multiplexed connection that reconnects by
//! itself, for the hot paths (one round trip per command, no checkout), a deadpool pool for the
//! health probe and for commands that need a connection of their own, and a connection per
//! subscription — all to the primary, which Redis Sentinel may name (`primary`); or, with Redis
//! Cluster, one cluster connection that sends each command to the primary of its keys' slot (`node`).
//!
//! In a cluster, the keys of one command or script must share a slot. Keys that are used together
//! are named with `key_in_slot`, which puts a hash tag (`{…}`, the part of a key that picks its slot)
//! in front of the key in cluster mode only: a single Redis keeps today's names, so switching a
//! deployment to a cluster starts it with empty Redis data, as moving to a new Redis would.

mod node;
mod primary;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::{
    ConnectionInfo, ErrorKind, FromRedisValue, IntoConnectionInfo, RedisError, Script, ServerErrorKind,
    ToRedisArgs,
};
use secrecy::{ExposeSecret, SecretString};

pub use self::node::Connection;
use self::node::Node;
pub use self::primary::SentinelSettings;
use self::primary::{Primary, host_and_port, reached_as};
use crate::probe::Probe;

pub struct RedisSettings {
    /// `redis://` in the clear or `rediss://` over TLS.
    pub url: SecretString,
    /// The certificate authority (PEM) that a `rediss://` server's certificate must chain to, in
    /// place of the system's roots.
    pub ca: Option<Vec<u8>>,
    pub pool_size: usize,
    /// Bounds connecting, waiting for a pooled connection and every command, so that a Redis outage
    /// fails calls fast instead of hanging them.
    pub timeout: Duration,
    /// Put before every key this instance writes, so that several deployments (or tests) can share
    /// one Redis.
    pub key_prefix: String,
    /// How the servers are found: at the URL, or through sentinels or a cluster's nodes, for which
    /// the URL gives only the password, database and TLS.
    pub topology: Topology,
    /// How many replicas must have a replicated write (`eval_replicated`) before it is acknowledged.
    pub replicated_writes: Option<ReplicaAcks>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    /// The server of the URL.
    Single,
    /// The primary the sentinels name.
    Sentinel(SentinelSettings),
    /// A Redis Cluster, found through these of its nodes (`host:port`).
    Cluster(Vec<String>),
}

/// `WAIT replicas timeout` after a write: the write is acknowledged once that many replicas have it,
/// or once `timeout` has passed (then only the primary may have it; counted on `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplicaAcks {
    pub replicas: u32,
    pub timeout: Duration,
}

/// After a failure, calls fail at once for this long instead of each waiting for a timeout; then one
/// call at a time tries Redis again (the others still fail at once) until one succeeds.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

pub struct RedisStore {
    primary: Primary,
    replicated_writes: Option<ReplicaAcks>,
    timeout: Duration,
    key_prefix: String,
    /// Whether keys used together need a hash tag.
    cluster: bool,
    started: Instant,
    /// Milliseconds since `started` until which Redis counts as down; 0 while it is up.
    down_until_ms: AtomicU64,
    /// Whether a call is trying Redis again after a failure.
    probing: AtomicBool,
}

impl RedisStore {
    /// Prepares the connections without connecting, so the api starts while Redis is down.
    pub fn connect(settings: &RedisSettings) -> Result<Self, crate::Error> {
        let invalid = |e: &dyn std::fmt::Display| {
            crate::Error::Unexpected(anyhow::anyhow!("invalid Redis settings: {e}"))
        };
        let info = settings.url.expose_secret().into_connection_info().map_err(|e| invalid(&e))?;
        let (pool_size, timeout) = (settings.pool_size, settings.timeout);
        let ca = settings.ca.as_deref();
        let primary = match &settings.topology {
            Topology::Single => {
                Primary::Fixed(Arc::new(Node::server(info, ca, pool_size, timeout).map_err(|e| invalid(&e))?))
            }
            Topology::Sentinel(sentinel) => {
                Primary::sentinel(sentinel, info, settings.ca.clone(), pool_size, timeout)
                    .map_err(|e| invalid(&e))?
            }
            Topology::Cluster(nodes) => {
                let seeds = cluster_seeds(&info, nodes).map_err(|e| invalid(&e))?;
                Primary::Fixed(Arc::new(Node::cluster(seeds, ca, timeout).map_err(|e| invalid(&e))?))
            }
        };
        Ok(Self {
            primary,
            replicated_writes: settings.replicated_writes,
            timeout,
            key_prefix: settings.key_prefix.clone(),
            cluster: matches!(settings.topology, Topology::Cluster(_)),
            started: Instant::now(),
            down_until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        })
    }

    /// `key` with this deployment's prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    /// `key` with this deployment's prefix, in the slot of `tag` in a cluster: keys of one tag can be
    /// used by one script.
    pub fn key_in_slot(&self, tag: impl std::fmt::Display, key: &str) -> String {
        if self.cluster { format!("{}{{{tag}}}{key}", self.key_prefix) } else { self.key(key) }
    }

    /// Whether Redis is a cluster, where keys of different tags cannot be used by one script.
    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// Runs `command` on the shared connection, bounded by the timeout; while Redis is known to be
    /// down, fails at once with `RedisUnavailable`. An error in the command itself (a script that
    /// fails, a key of the wrong type) is `Unexpected`, and Redis stays in use.
    pub async fn run<T, F, Fut>(&self, command: F) -> Result<T, crate::Error>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        self.guarded(|node| async move { command(node.shared().await?).await }).await
    }

    /// Runs `on_primary` as `run` runs a command: bounded, and failing at once while Redis is down.
    async fn guarded<T, F, Fut>(&self, on_primary: F) -> Result<T, crate::Error>
    where
        F: FnOnce(Arc<Node>) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let down_until = self.down_until_ms.load(Ordering::Relaxed);
        if down_until == 0 {
            return self.attempt(on_primary).await;
        }
        let now = self.started.elapsed().as_millis() as u64;
        if now < down_until || self.probing.swap(true, Ordering::Acquire) {
            return Err(crate::Error::RedisUnavailable("Redis failed moments ago".to_owned()));
        }
        let _probe = Probing(&self.probing);
        self.attempt(on_primary).await
    }

    /// Runs the Lua `script` on `keys` with `args` (each element of a list or tuple is an argument),
    /// like `run`. A static script hashes its text once; Redis then runs it by that hash.
    pub async fn eval<T: FromRedisValue>(
        &self,
        script: &'static Script,
        keys: Vec<String>,
        args: impl ToRedisArgs,
    ) -> Result<T, crate::Error> {
        self.run(
            |mut connection| async move { script.key(keys).arg(args).invoke_async(&mut connection).await },
        )
        .await
    }

    /// Runs the Lua `script` like `eval`; with `replicated_writes` set, its answer comes only once
    /// that many replicas have its writes, or once the wait is over (then only the primary may have
    /// them: counted as `redis_unreplicated_writes_total`). The script and `WAIT` go in one round
    /// trip, on a pooled connection: `WAIT` holds its connection until it answers, and it counts the
    /// writes of its own connection only.
    pub async fn eval_replicated<T: FromRedisValue>(
        &self,
        script: &'static Script,
        keys: Vec<String>,
        args: Vec<String>,
    ) -> Result<T, crate::Error> {
        let Some(acks) = self.replicated_writes else { return self.eval(script, keys, args).await };
        let (value, acknowledged): (T, u32) = self
            .guarded(|node| async move {
                let mut connection = node.own().await?;
                eval_then_wait(&mut connection, script, &keys, &args, acks).await
            })
            .await?;
        if acknowledged < acks.replicas {
            metrics::counter!("redis_unreplicated_writes_total").increment(1);
        }
        Ok(value)
    }

    async fn attempt<T, F, Fut>(&self, on_primary: F) -> Result<T, crate::Error>
    where
        F: FnOnce(Arc<Node>) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let started = Instant::now();
        let mut used = None;
        // Boxed: a command's future (the client's, with its fallbacks) is large, and every caller's
        // future would otherwise hold room for it and be copied with it.
        let outcome = tokio::time::timeout(
            self.timeout,
            Box::pin(async {
                let node = self.primary.node().await?;
                used = Some(node.clone());
                on_primary(node).await
            }),
        )
        .await;
        metrics::histogram!("redis_command_duration_seconds").record(started.elapsed());
        let error = match outcome {
            Ok(Ok(value)) => {
                self.down_until_ms.store(0, Ordering::Relaxed);
                return Ok(value);
            }
            Ok(Err(err)) if !is_unavailable(&err) => {
                self.down_until_ms.store(0, Ordering::Relaxed);
                return Err(crate::Error::Unexpected(anyhow::anyhow!("a Redis command failed: {err}")));
            }
            Ok(Err(err)) => err.to_string(),
            Err(_) => format!("no answer within {:?}", self.timeout),
        };
        metrics::counter!("redis_failures_total").increment(1);
        if let Some(node) = &used {
            self.primary.forget(node);
        }
        let until = self.started.elapsed() + RETRY_AFTER_FAILURE;
        self.down_until_ms.store(until.as_millis() as u64, Ordering::Relaxed);
        tracing::warn!(%error, "Redis call failed");
        Err(crate::Error::RedisUnavailable(error))
    }

    /// `SET key value PX ttl`.
    pub async fn set_expiring(
        &self,
        key: String,
        value: impl redis::ToRedisArgs + Send,
        ttl: Duration,
    ) -> Result<(), crate::Error> {
        self.run(|mut connection| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PX")
                .arg(ttl.as_millis() as u64)
                .query_async(&mut connection)
                .await
        })
        .await
    }

    /// A connection of its own, subscribed to `channel`; its messages stop when it drops.
    pub async fn subscribe(&self, channel: &str) -> Result<redis::aio::PubSub, crate::Error> {
        let subscribing = async {
            let mut pubsub = self.primary.node().await?.pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok::<_, RedisError>(pubsub)
        };
        match tokio::time::timeout(self.timeout, subscribing).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(err)) => Err(crate::Error::RedisUnavailable(err.to_string())),
            Err(_) => Err(crate::Error::RedisUnavailable(format!("no answer within {:?}", self.timeout))),
        }
    }

    /// `PING` on a pooled connection to the primary, bounded by the timeout. A primary that does
    /// not answer is forgotten, as after a failed call, so that an instance taken out of rotation by
    /// its readiness finds a new primary by itself.
    pub async fn probe(&self) -> Probe {
        Probe::run(self.timeout, async {
            let node = self.primary.node().await.map_err(|e| e.to_string())?;
            let ping = async {
                let mut connection = node.own().await?;
                redis::cmd("PING").query_async::<String>(&mut connection).await
            };
            ping.await.map_err(|err| {
                self.primary.forget(&node);
                err.to_string()
            })
        })
        .await
    }
}

/// `script` and `WAIT` in one round trip: its answer and how many replicas acknowledged its writes.
/// A server that does not know the script yet is given it, and asked again.
async fn eval_then_wait<T: FromRedisValue>(
    connection: &mut Connection,
    script: &Script,
    keys: &[String],
    args: &[String],
    acks: ReplicaAcks,
) -> Result<(T, u32), RedisError> {
    let pipeline = || {
        let mut pipe = redis::pipe();
        pipe.cmd("EVALSHA").arg(script.get_hash()).arg(keys.len()).arg(keys).arg(args);
        pipe.cmd("WAIT").arg(acks.replicas).arg(acks.timeout.as_millis() as u64);
        pipe
    };
    match pipeline().query_async(connection).await {
        Err(err) if err.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            script.load_async(connection).await?;
            pipeline().query_async(connection).await
        }
        outcome => outcome,
    }
}

/// The cluster's `nodes` (`host:port`), each reached as the server of `template` is: with its
/// password, over TLS when it is.
fn cluster_seeds(template: &ConnectionInfo, nodes: &[String]) -> Result<Vec<ConnectionInfo>, RedisError> {
    nodes
        .iter()
        .map(|address| {
            let (host, port) = host_and_port(address)?;
            Ok(template.clone().set_addr(reached_as(template, host, port)))
        })
        .collect()
}

/// The one call trying Redis again after a failure; however that call ends, dropped half-way
/// included (its client went away), the next call may try.
struct Probing<'a>(&'a AtomicBool);

impl Drop for Probing<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Whether `err` says Redis cannot serve (unreachable, loading, failing over, refusing this
/// client), rather than that the command was wrong.
fn is_unavailable(err: &RedisError) -> bool {
    use ServerErrorKind as Server;
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || matches!(
            err.kind(),
            ErrorKind::AuthenticationFailed
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::MasterNameNotFoundBySentinel
                | ErrorKind::NoValidReplicasFoundBySentinel
                | ErrorKind::Server(
                    Server::BusyLoading
                        | Server::TryAgain
                        | Server::ClusterDown
                        | Server::MasterDown
                        | Server::ReadOnly
                        | Server::Moved
                        | Server::Ask
                )
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(kind: ErrorKind) -> RedisError {
        RedisError::from((kind, "test"))
    }

    #[test]
    fn a_wrong_command_is_not_an_outage() {
        let script_error = error(ErrorKind::Server(ServerErrorKind::ResponseError));
        let wrong_reply = error(ErrorKind::UnexpectedReturnType);
        let wrong_type = error(ErrorKind::Extension);
        for err in [script_error, wrong_reply, wrong_type] {
            assert!(!is_unavailable(&err), "{err}");
        }
    }

    #[test]
    fn an_unreachable_or_unready_server_is_an_outage() {
        let refused = RedisError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let loading = error(ErrorKind::Server(ServerErrorKind::BusyLoading));
        let read_only = error(ErrorKind::Server(ServerErrorKind::ReadOnly));
        for err in [refused, loading, read_only, error(ErrorKind::AuthenticationFailed)] {
            assert!(is_unavailable(&err), "{err}");
        }
    }
}
