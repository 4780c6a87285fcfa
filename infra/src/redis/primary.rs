//! Where the Redis primary is: one fixed server, or the one Redis Sentinel names, which a failover
//! changes. With sentinels the primary is asked for at first use and again after an outage: a failover
//! looks like one (the old primary stops answering, or answers READONLY once it is demoted), and the
//! breaker lets one call a second through, which asks the sentinels anew. The sentinels are reached
//! as the primary is: over TLS, with the same certificate authority, when its URL says `rediss://`.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::{Client, ConnectionAddr, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError};
use tokio::sync::Mutex;

use super::node::{self, Node};

/// Redis Sentinel's view of the primary: its sentinels and the name they monitor it under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelSettings {
    /// `host:port` of each sentinel, asked in turn.
    pub addresses: Vec<String>,
    pub master_name: String,
}

pub(super) enum Primary {
    Fixed(Arc<Node>),
    Sentinel(Box<Sentinels>),
}

pub(super) struct Sentinels {
    sentinels: Vec<Client>,
    master_name: String,
    /// The primary's connection settings but its address: password, database, TLS.
    template: ConnectionInfo,
    ca: Option<Vec<u8>>,
    pool_size: usize,
    timeout: Duration,
    current: RwLock<Option<Arc<Node>>>,
    /// Held while the sentinels are asked, so that calls at once ask them once.
    asking: Mutex<()>,
}

impl Primary {
    pub fn sentinel(
        settings: &SentinelSettings,
        template: ConnectionInfo,
        ca: Option<Vec<u8>>,
        pool_size: usize,
        timeout: Duration,
    ) -> Result<Self, RedisError> {
        let sentinels = settings
            .addresses
            .iter()
            .map(|address| sentinel_client(&template, ca.as_deref(), address))
            .collect::<Result<_, _>>()?;
        Ok(Self::Sentinel(Box::new(Sentinels {
            sentinels,
            master_name: settings.master_name.clone(),
            template,
            ca,
            pool_size,
            timeout,
            current: RwLock::new(None),
            asking: Mutex::new(()),
        })))
    }

    pub async fn node(&self) -> Result<Arc<Node>, RedisError> {
        match self {
            Self::Fixed(node) => Ok(node.clone()),
            Self::Sentinel(sentinels) => sentinels.node().await,
        }
    }

    /// `node` failed to answer as a primary: with sentinels, the next call asks them where it is.
    pub fn forget(&self, node: &Arc<Node>) {
        if let Self::Sentinel(sentinels) = self {
            let mut current = sentinels.current.write().expect("the primary's lock is never poisoned");
            if current.as_ref().is_some_and(|known| Arc::ptr_eq(known, node)) {
                *current = None;
            }
        }
    }
}

impl Sentinels {
    fn current(&self) -> Option<Arc<Node>> {
        self.current.read().expect("the primary's lock is never poisoned").clone()
    }

    async fn node(&self) -> Result<Arc<Node>, RedisError> {
        if let Some(node) = self.current() {
            return Ok(node);
        }
        let _asking = self.asking.lock().await;
        if let Some(node) = self.current() {
            return Ok(node);
        }
        let address = self.ask().await?;
        tracing::info!(primary = %address, "Redis Sentinel names the primary");
        let info = self.template.clone().set_addr(address);
        let node = Node::server(info, self.ca.as_deref(), self.pool_size, self.timeout)
            .map_err(|e| RedisError::from((ErrorKind::InvalidClientConfig, "invalid Redis settings", e)))?;
        let node = Arc::new(node);
        *self.current.write().expect("the primary's lock is never poisoned") = Some(node.clone());
        Ok(node)
    }

    /// The primary's address, from the first sentinel that names it.
    async fn ask(&self) -> Result<ConnectionAddr, RedisError> {
        let mut failure =
            RedisError::from((ErrorKind::MasterNameNotFoundBySentinel, "no sentinel names the primary"));
        for sentinel in &self.sentinels {
            let asking = async {
                let mut connection = sentinel.get_multiplexed_async_connection().await?;
                redis::cmd("SENTINEL")
                    .arg("get-master-addr-by-name")
                    .arg(&self.master_name)
                    .query_async::<Option<(String, u16)>>(&mut connection)
                    .await
            };
            match tokio::time::timeout(self.timeout, asking).await {
                Ok(Ok(Some((host, port)))) => return Ok(reached_as(&self.template, host, port)),
                Ok(Ok(None)) => {}
                Ok(Err(err)) => failure = err,
                Err(_) => failure = RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)),
            }
        }
        Err(failure)
    }
}

/// A client of the sentinel at `address` (`host:port`, `[host]:port` for IPv6), reached as the primary
/// of `template` is: over TLS, checked against `ca` when given, when the primary is.
fn sentinel_client(
    template: &ConnectionInfo,
    ca: Option<&[u8]>,
    address: &str,
) -> Result<Client, RedisError> {
    let (host, port) = host_and_port(address)?;
    node::client(reached_as(template, host, port).into_connection_info()?, ca)
}

/// `address` (`host:port`, `[host]:port` for IPv6) as its host and port.
pub(super) fn host_and_port(address: &str) -> Result<(String, u16), RedisError> {
    let invalid = || RedisError::from((ErrorKind::InvalidClientConfig, "an address is not host:port"));
    let (host, port) = address.rsplit_once(':').ok_or_else(invalid)?;
    let host = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    Ok((host, port.parse().map_err(|_| invalid())?))
}

/// `host:port` reached as `template` says: over TLS when it does.
pub(super) fn reached_as(template: &ConnectionInfo, host: String, port: u16) -> ConnectionAddr {
    match template.addr() {
        ConnectionAddr::TcpTls { insecure, .. } => {
            ConnectionAddr::TcpTls { host, port, insecure: *insecure, tls_params: None }
        }
        _ => ConnectionAddr::Tcp(host, port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(url: &str) -> ConnectionInfo {
        url.into_connection_info().expect("a valid Redis URL")
    }

    #[test]
    fn a_sentinel_is_reached_as_the_primary_is_without_its_password() {
        let over_tls =
            sentinel_client(&template("rediss://:pw@10.0.0.1:6379/0"), None, "[::1]:26379").unwrap();
        let tls_addr = over_tls.get_connection_info().addr();
        assert!(
            matches!(tls_addr, ConnectionAddr::TcpTls { host, port: 26379, .. } if host == "::1"),
            "{tls_addr:?}"
        );
        let in_clear = sentinel_client(&template("redis://:pw@10.0.0.1:6379/0"), None, "s1:26379").unwrap();
        assert_eq!(in_clear.get_connection_info().addr(), &ConnectionAddr::Tcp("s1".to_owned(), 26379));
        assert_eq!(in_clear.get_connection_info().redis_settings().password(), None);
    }

    #[test]
    fn a_sentinel_without_a_port_is_refused() {
        for address in ["s1", "s1:port", "s1:70000"] {
            assert!(sentinel_client(&template("redis://10.0.0.1"), None, address).is_err(), "{address}");
        }
    }
}
