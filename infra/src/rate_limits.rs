//! Rate limits shared by every instance through Redis: GCRA (the generic cell rate algorithm, a token
//! bucket kept as one timestamp per bucket). One Lua call checks all the buckets of a request and
//! charges them only when every one has room for its cost, so a refused request costs no budget.

use std::net::IpAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use redis::Script;

use crate::redis::RedisStore;

/// `requests` per `period`, with up to `burst` at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: u32,
    pub period: Duration,
    pub burst: u32,
}

impl Rate {
    /// Milliseconds between two requests at the steady rate.
    fn interval_ms(&self) -> f64 {
        self.period.as_secs_f64() * 1000.0 / f64::from(self.requests.max(1))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Try again after this long.
    Limited(Duration),
}

pub struct RateLimiter {
    redis: Arc<RedisStore>,
}

/// KEYS the buckets; ARGV[1] the cost, then pairs of (interval ms, burst tolerance ms), one per
/// bucket. Returns the milliseconds to wait, 0 when admitted (and charged).
static ADMIT: LazyLock<Script> = LazyLock::new(|| Script::new(ADMIT_LUA));
const ADMIT_LUA: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cost = tonumber(ARGV[1])
local wait, next = 0, {}
for i, key in ipairs(KEYS) do
  local interval, tolerance = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tat = math.max(tonumber(redis.call('GET', key) or now), now)
  next[i] = tat + interval * cost
  wait = math.max(wait, next[i] - tolerance - now)
end
if wait > 0 then return math.ceil(wait) end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, next[i], 'PX', math.ceil(next[i] - now) + 1)
end
return 0
";

impl RateLimiter {
    pub fn new(redis: Arc<RedisStore>) -> Self {
        Self { redis }
    }

    /// Charges `cost` requests to each of `buckets` (a name and its rate), if every one has room for
    /// them. A cost above a bucket's burst is never admitted.
    pub async fn admit(&self, buckets: &[(&str, Rate)], cost: u32) -> Result<Admission, crate::Error> {
        let keys: Vec<String> =
            buckets.iter().map(|(name, _)| self.redis.key(&format!("rate:{name}"))).collect();
        let rates = buckets
            .iter()
            .flat_map(|(_, rate)| [rate.interval_ms(), rate.interval_ms() * f64::from(rate.burst.max(1))]);
        let args: Vec<f64> = std::iter::once(f64::from(cost.max(1))).chain(rates).collect();
        let wait_ms: u64 = self.redis.eval(&ADMIT, keys, args).await?;
        Ok(if wait_ms == 0 { Admission::Allowed } else { Admission::Limited(Duration::from_millis(wait_ms)) })
    }
}

/// The budget a client address counts in: an IPv4 address, or the /64 of an IPv6 one, which a client
/// usually has whole.
pub fn address_group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", segments[0], segments[1], segments[2], segments[3])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_counts_for_its_64_and_an_ipv4_one_for_itself() {
        let group = |ip: &str| address_group(ip.parse().unwrap());
        assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
        assert_eq!(group("203.0.113.9"), "203.0.113.9");
        assert_ne!(group("203.0.113.9"), group("203.0.113.10"));
    }
}
