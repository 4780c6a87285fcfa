//! Where calls go: one Redis server, or a Redis Cluster. A server has its client, a shared multiplexed
//! connection (made at first use, reconnecting by itself) and a small pool for commands that need a
//! connection of their own; a cluster has one cluster connection, which routes each command to the
//! primary of its keys' slot, follows the cluster's changes by itself, and keeps a multiplexed
//! connection per node.

use std::time::Duration;

use deadpool_redis::{Manager, Pool, Runtime};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig, PubSub};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::{
    Client, Cmd, ConnectionAddr, ConnectionInfo, Pipeline, RedisError, RedisFuture, TlsCertificates, Value,
};
use tokio::sync::OnceCell;

// One per Redis (two per sentinel failover), behind an `Arc`: the size of a variant costs nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum Node {
    Server(Server),
    Cluster(Cluster),
}

pub(super) struct Server {
    client: Client,
    pool: Pool,
    shared: OnceCell<ConnectionManager>,
    timeout: Duration,
}

pub(super) struct Cluster {
    client: ClusterClient,
    /// A client of each node it was given, in turn the one to subscribe on: a message published on
    /// any node of a cluster reaches the subscribers of every node.
    seeds: Vec<Client>,
    shared: OnceCell<ClusterConnection>,
}

/// A connection to a server or a cluster, for `redis::cmd(…).query_async`, scripts and pipelines.
pub enum Connection {
    Shared(ConnectionManager),
    Pooled(deadpool_redis::Connection),
    Cluster(ClusterConnection),
}

impl Node {
    /// The connections to the server of `info` (see `client`); nothing connects yet.
    pub fn server(
        info: ConnectionInfo,
        ca: Option<&[u8]>,
        pool_size: usize,
        timeout: Duration,
    ) -> Result<Self, String> {
        let client = client(info, ca).map_err(|e| e.to_string())?;
        // The pool's connections are the client's, over TLS with its certificate authority.
        let manager = Manager::new(client.get_connection_info().clone()).map_err(|e| e.to_string())?;
        let pool = Pool::builder(manager)
            .max_size(pool_size)
            .wait_timeout(Some(timeout))
            .create_timeout(Some(timeout))
            .recycle_timeout(Some(timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self::Server(Server { client, pool, shared: OnceCell::new(), timeout }))
    }

    /// The connection to the cluster whose nodes include those of `seeds` (each reached as `client`
    /// says); nothing connects yet.
    pub fn cluster(seeds: Vec<ConnectionInfo>, ca: Option<&[u8]>, timeout: Duration) -> Result<Self, String> {
        let mut builder =
            ClusterClientBuilder::new(seeds.clone()).connection_timeout(timeout).response_timeout(timeout);
        if let Some(authority) = seeds.first().and_then(|seed| authority(seed, ca)) {
            builder = builder.certs(authority);
        }
        let seeds = seeds.into_iter().map(|seed| client(seed, ca)).collect::<Result<_, _>>();
        let seeds = seeds.map_err(|e| e.to_string())?;
        let client = builder.build().map_err(|e| e.to_string())?;
        Ok(Self::Cluster(Cluster { client, seeds, shared: OnceCell::new() }))
    }

    /// The connection every call shares.
    pub async fn shared(&self) -> Result<Connection, RedisError> {
        match self {
            Self::Server(server) => {
                // No time-out of its own for a command: each is bounded by its caller
                // (`RedisStore::attempt`), and a second timer per command would only cost.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(server.timeout))
                    .set_response_timeout(None)
                    .set_number_of_retries(0);
                let shared = server
                    .shared
                    .get_or_try_init(|| ConnectionManager::new_with_config(server.client.clone(), config))
                    .await?;
                Ok(Connection::Shared(shared.clone()))
            }
            Self::Cluster(cluster) => Ok(Connection::Cluster(cluster.connection().await?)),
        }
    }

    /// A connection for a command that holds its connection until it answers (`WAIT`): a pooled
    /// one of a server's. A cluster's shared connection to the node of the keys serves, as it keeps
    /// one connection per node; such a command then delays the calls queued behind it on that node.
    pub async fn own(&self) -> Result<Connection, RedisError> {
        match self {
            Self::Server(server) => Ok(Connection::Pooled(server.pool.get().await.map_err(pool_error)?)),
            Self::Cluster(cluster) => Ok(Connection::Cluster(cluster.connection().await?)),
        }
    }

    /// A connection of its own for a subscription: to the server, or to the first node of a
    /// cluster that answers.
    pub async fn pubsub(&self) -> Result<PubSub, RedisError> {
        match self {
            Self::Server(server) => server.client.get_async_pubsub().await,
            Self::Cluster(cluster) => {
                let mut failure = None;
                for seed in &cluster.seeds {
                    match seed.get_async_pubsub().await {
                        Ok(pubsub) => return Ok(pubsub),
                        Err(err) => failure = Some(err),
                    }
                }
                Err(failure.expect("a cluster has at least one node"))
            }
        }
    }
}

impl Cluster {
    async fn connection(&self) -> Result<ClusterConnection, RedisError> {
        self.shared.get_or_try_init(|| self.client.get_async_connection()).await.cloned()
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Shared(connection) => connection.req_packed_command(cmd),
            Self::Pooled(connection) => connection.req_packed_command(cmd),
            Self::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Shared(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Pooled(connection) => connection.req_packed_commands(pipeline, offset, count),
            Self::Cluster(connection) => connection.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Shared(connection) => connection.get_db(),
            Self::Pooled(connection) => connection.get_db(),
            Self::Cluster(connection) => connection.get_db(),
        }
    }
}

/// A client of the server of `info`: over TLS when `info` says so, its certificate checked against
/// `ca` when given (else the system's roots); in the clear otherwise, whatever `ca`.
pub(super) fn client(info: ConnectionInfo, ca: Option<&[u8]>) -> Result<Client, RedisError> {
    match authority(&info, ca) {
        Some(authority) => Client::build_with_tls(info, authority),
        None => Client::open(info),
    }
}

/// `ca` as the authority a server's certificate must chain to, for a server reached over TLS.
fn authority(info: &ConnectionInfo, ca: Option<&[u8]>) -> Option<TlsCertificates> {
    let tls = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
    ca.filter(|_| tls).map(|ca| TlsCertificates { client_tls: None, root_cert: Some(ca.to_vec()) })
}

/// A pooled connection that could not be had: Redis's own error, or a time-out.
fn pool_error(err: deadpool_redis::PoolError) -> RedisError {
    match err {
        deadpool_redis::PoolError::Backend(err) => err,
        other => RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use redis::IntoConnectionInfo;

    use super::*;

    #[test]
    fn a_certificate_authority_is_for_tls_servers_only() {
        let plain = "redis://:pw@10.0.0.1:6379/0".into_connection_info().unwrap();
        let client = client(plain, Some(b"never read for a server in the clear")).unwrap();
        assert_eq!(client.get_connection_info().addr(), &ConnectionAddr::Tcp("10.0.0.1".to_owned(), 6379));
    }
}
