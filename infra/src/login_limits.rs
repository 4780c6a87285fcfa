//! Limits on failed logins, shared by every instance through Redis: after too many failures for one
//! account, or from one IP address, within a window, further attempts are refused until it passes.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::Script;

use crate::redis::RedisStore;

pub struct LoginLimits {
    redis: Arc<RedisStore>,
}

/// Failures allowed per account, and per IP address, in one window.
const PER_ACCOUNT: u32 = 5;
const PER_IP: u32 = 50;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// KEYS the account's and the IP's counters; ARGV the window (ms). Counts one failure on each.
static FAILED_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(FAILED));
const FAILED: &str = r"
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 1
";

impl LoginLimits {
    pub fn new(redis: Arc<RedisStore>) -> Self {
        Self { redis }
    }

    /// Whether another attempt for `account` from `ip` is allowed now.
    pub async fn allowed(&self, account: &str, ip: Option<IpAddr>) -> Result<bool, crate::Error> {
        let keys = self.keys(account, ip);
        let counts: Vec<Option<u32>> = self
            .redis
            .run(|mut c| async move { redis::cmd("MGET").arg(&keys).query_async(&mut c).await })
            .await?;
        let limits = [PER_ACCOUNT, PER_IP];
        Ok(counts.iter().zip(limits).all(|(count, limit)| count.unwrap_or(0) < limit))
    }

    pub async fn failed(&self, account: &str, ip: Option<IpAddr>) -> Result<(), crate::Error> {
        let keys = self.keys(account, ip);
        let window = WINDOW.as_millis() as u64;
        self.redis.eval::<i64>(&FAILED_SCRIPT, keys, window).await.map(drop)
    }

    /// A successful login forgets the account's failures.
    pub async fn succeeded(&self, account: &str) -> Result<(), crate::Error> {
        let key = self.account_key(account);
        self.redis
            .run(|mut c| async move { redis::cmd("DEL").arg(key).query_async::<()>(&mut c).await })
            .await
    }

    fn keys(&self, account: &str, ip: Option<IpAddr>) -> Vec<String> {
        let ip = ip.map(|ip| ip.to_string()).unwrap_or_else(|| "unknown".to_owned());
        vec![self.account_key(account), self.redis.key(&format!("login:failures:ip:{ip}"))]
    }

    fn account_key(&self, account: &str) -> String {
        self.redis.key(&format!("login:failures:account:{account}"))
    }
}
