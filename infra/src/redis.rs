//! The one place that opens Redis connections.

use std::time::Duration;

use deadpool_redis::{Config, Pool, PoolConfig, Runtime, Timeouts, redis};
use secrecy::{ExposeSecret, SecretString};

use crate::probe::Probe;

pub struct RedisSettings {
    pub url: SecretString,
    pub pool_size: usize,
    /// Bounds connecting, waiting for a pooled connection and every command, so that a Redis outage
    /// fails calls fast instead of hanging them.
    pub timeout: Duration,
    /// Put before every key this instance writes, so that several deployments (or tests) can share
    /// one Redis.
    pub key_prefix: String,
}

pub struct RedisStore {
    pool: Pool,
    timeout: Duration,
    key_prefix: String,
}

impl RedisStore {
    /// Prepares the pool without connecting, so the api starts while Redis is down.
    pub fn connect(settings: &RedisSettings) -> Result<Self, crate::Error> {
        let mut config = Config::from_url(settings.url.expose_secret());
        config.pool = Some(PoolConfig {
            max_size: settings.pool_size,
            timeouts: Timeouts {
                wait: Some(settings.timeout),
                create: Some(settings.timeout),
                recycle: Some(settings.timeout),
            },
            ..PoolConfig::default()
        });
        let pool = config
            .create_pool(Some(Runtime::Tokio1))
            .map_err(|e| crate::Error::Unexpected(anyhow::anyhow!("invalid Redis settings: {e}")))?;
        Ok(Self { pool, timeout: settings.timeout, key_prefix: settings.key_prefix.clone() })
    }

    /// The prefix of every key this instance owns.
    pub fn key_prefix(&self) -> &str {
        &self.key_prefix
    }

    /// `PING`, bounded by the timeout.
    pub async fn probe(&self) -> Probe {
        Probe::run(self.timeout, async {
            let mut conn = self.pool.get().await.map_err(|e| e.to_string())?;
            redis::cmd("PING").query_async::<String>(&mut conn).await.map_err(|e| e.to_string())
        })
        .await
    }
}
