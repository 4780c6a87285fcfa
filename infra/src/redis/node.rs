//! One Redis server's connections: its client, the shared multiplexed connection (made at first use,
//! reconnecting by itself) and a small pool for commands that need a connection of their own.

use std::time::Duration;

use deadpool_redis::{Manager, Pool, Runtime};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ConnectionAddr, ConnectionInfo, RedisError, TlsCertificates};
use tokio::sync::OnceCell;

pub(super) struct Node {
    pub client: Client,
    pub pool: Pool,
    shared: OnceCell<ConnectionManager>,
    timeout: Duration,
}

impl Node {
    /// The connections to the server of `info` (see `client`); nothing connects yet.
    pub fn open(
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
        Ok(Self { client, pool, shared: OnceCell::new(), timeout })
    }

    pub async fn shared(&self) -> Result<ConnectionManager, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(0);
        self.shared
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
    }
}

/// A client of the server of `info`: over TLS when `info` says so, its certificate checked against
/// `ca` when given (else the system's roots); in the clear otherwise, whatever `ca`.
pub(super) fn client(info: ConnectionInfo, ca: Option<&[u8]>) -> Result<Client, RedisError> {
    match (ca, info.addr()) {
        (Some(ca), ConnectionAddr::TcpTls { .. }) => {
            Client::build_with_tls(info, TlsCertificates { client_tls: None, root_cert: Some(ca.to_vec()) })
        }
        _ => Client::open(info),
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
