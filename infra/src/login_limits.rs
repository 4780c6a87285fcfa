//! Limits on failed logins, shared by every instance through Redis. An attempt is counted as it
//! starts, in one atomic step with the check, so guesses sent at once get no more tries than guesses
//! sent one by one; a success gives it back. Failures count per account and address (an account is
//! locked out only for the address that failed, so nobody can lock its owner out from elsewhere) and
//! per address (for every account). An IPv6 client counts for its whole /64, which it usually has to
//! itself.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::Script;

use crate::rate_limits::address_group;
use crate::redis::RedisStore;

pub struct LoginLimits {
    redis: Arc<RedisStore>,
}

/// Failures allowed per account from one address, and per address, in one window.
const PER_ACCOUNT_AND_ADDRESS: u32 = 5;
const PER_ADDRESS: u32 = 50;
const WINDOW: Duration = Duration::from_secs(15 * 60);

/// KEYS[1] the account's failures from the address, KEYS[2] the address's; ARGV[1] and ARGV[2] their
/// limits, ARGV[3] the window (ms). Counts the attempt on both unless either is at its limit; 1 when
/// counted, 0 when refused.
static ATTEMPT_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(ATTEMPT));
const ATTEMPT: &str = r"
for i = 1, 2 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[i]) then return 0 end
end
for i = 1, 2 do
  if redis.call('INCR', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 1
";

/// KEYS as for `ATTEMPT`: forgets the account's failures from the address and gives the address its
/// attempt back.
static SUCCEEDED_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SUCCEEDED));
const SUCCEEDED: &str = r"
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
return 1
";

impl LoginLimits {
    pub fn new(redis: Arc<RedisStore>) -> Self {
        Self { redis }
    }

    /// Counts an attempt for `account` from `ip` as a failure until `succeeded` says otherwise, unless
    /// too many failed lately: then `false`, and it must not be made.
    pub async fn attempt(&self, account: &str, ip: Option<IpAddr>) -> Result<bool, crate::Error> {
        let limits = (PER_ACCOUNT_AND_ADDRESS, PER_ADDRESS, WINDOW.as_millis() as u64);
        let counted: i64 = self.redis.eval(&ATTEMPT_SCRIPT, self.keys(account, ip), limits).await?;
        Ok(counted == 1)
    }

    /// The attempt for `account` from `ip` succeeded: it was no failure.
    pub async fn succeeded(&self, account: &str, ip: Option<IpAddr>) -> Result<(), crate::Error> {
        self.redis
            .eval::<i64>(&SUCCEEDED_SCRIPT, self.keys(account, ip), Vec::<String>::new())
            .await
            .map(drop)
    }

    /// The counters of `account` from `ip` and of `ip`, in the address's slot; an account's name is
    /// hashed, so that what clients type does not become Redis keys.
    fn keys(&self, account: &str, ip: Option<IpAddr>) -> Vec<String> {
        let address = ip.map_or_else(|| "unknown".to_owned(), address_group);
        let account = crate::digest::sha256_hex(account.as_bytes(), 16);
        vec![
            self.redis.key_in_slot(&address, &format!("login:failures:{account}:{address}")),
            self.redis.key_in_slot(&address, &format!("login:failures:{address}")),
        ]
    }
}
