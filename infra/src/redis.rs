//! The one place that opens Redis connections: a shared multiplexed connection that reconnects by
//! itself, for the hot paths (one round trip per command, no checkout), a deadpool pool for the
//! health probe and for commands that need a connection of their own, and a connection per
//! subscription.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deadpool_redis::{Manager, Pool, Runtime};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{
    Client, ErrorKind, FromRedisValue, RedisError, Script, ServerErrorKind, TlsCertificates, ToRedisArgs,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

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
}

/// After a failure, calls fail at once for this long instead of each waiting for a timeout; then one
/// call at a time tries Redis again (the others still fail at once) until one succeeds.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

pub struct RedisStore {
    client: Client,
    pool: Pool,
    shared: OnceCell<ConnectionManager>,
    timeout: Duration,
    key_prefix: String,
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
        let url = settings.url.expose_secret();
        let client = match &settings.ca {
            Some(ca) => {
                let certificates = TlsCertificates { client_tls: None, root_cert: Some(ca.clone()) };
                Client::build_with_tls(url, certificates)
            }
            None => Client::open(url),
        }
        .map_err(|e| invalid(&e))?;
        // The pool's connections are the client's, over TLS with its certificate authority.
        let manager = Manager::new(client.get_connection_info().clone()).map_err(|e| invalid(&e))?;
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .wait_timeout(Some(settings.timeout))
            .create_timeout(Some(settings.timeout))
            .recycle_timeout(Some(settings.timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| invalid(&e))?;
        Ok(Self {
            client,
            pool,
            shared: OnceCell::new(),
            timeout: settings.timeout,
            key_prefix: settings.key_prefix.clone(),
            started: Instant::now(),
            down_until_ms: AtomicU64::new(0),
            probing: AtomicBool::new(false),
        })
    }

    /// `key` with this deployment's prefix.
    pub fn key(&self, key: &str) -> String {
        format!("{}{key}", self.key_prefix)
    }

    /// Runs `command` on the shared connection, bounded by the timeout; while Redis is known to be
    /// down, fails at once with `RedisUnavailable`. An error in the command itself (a script that
    /// fails, a key of the wrong type) is `Unexpected`, and Redis stays in use.
    pub async fn run<T, F, Fut>(&self, command: F) -> Result<T, crate::Error>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let down_until = self.down_until_ms.load(Ordering::Relaxed);
        if down_until == 0 {
            return self.attempt(command).await;
        }
        let now = self.started.elapsed().as_millis() as u64;
        if now < down_until || self.probing.swap(true, Ordering::Acquire) {
            return Err(crate::Error::RedisUnavailable("Redis failed moments ago".to_owned()));
        }
        let _probe = Probing(&self.probing);
        self.attempt(command).await
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

    async fn attempt<T, F, Fut>(&self, command: F) -> Result<T, crate::Error>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = Result<T, RedisError>>,
    {
        let started = Instant::now();
        let outcome = tokio::time::timeout(self.timeout, async {
            let connection = self.shared().await?;
            command(connection).await
        })
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
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(channel).await?;
            Ok::<_, RedisError>(pubsub)
        };
        match tokio::time::timeout(self.timeout, subscribing).await {
            Ok(Ok(pubsub)) => Ok(pubsub),
            Ok(Err(err)) => Err(crate::Error::RedisUnavailable(err.to_string())),
            Err(_) => Err(crate::Error::RedisUnavailable(format!("no answer within {:?}", self.timeout))),
        }
    }

    async fn shared(&self) -> Result<ConnectionManager, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(0);
        self.shared
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
    }

    /// `PING` on a pooled connection, bounded by the timeout.
    pub async fn probe(&self) -> Probe {
        Probe::run(self.timeout, async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(|e| e.to_string())
        })
        .await
    }
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
