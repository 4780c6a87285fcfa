//! Rate limits shared by every instance through Redis: GCRA (the generic cell rate algorithm, a token
//! bucket kept as one timestamp per bucket). One Lua call checks all the buckets of a request and
//! charges them only when every one has room for its cost, so a refused request costs no budget.
//!
//! The per-request budgets (`admit_request`) are decided in this instance's memory in the common
//! case: each instance mirrors the buckets its clients use, and admits on its own while a client has
//! used less than `LOCAL_SHARE` of its burst as far as it knows (the shared bucket as of Redis's last
//! answer, plus what it admitted since). What it admitted is charged to the shared buckets in
//! batches, each admission at most its bucket's `Rate::charge_delay` after it was made. Beyond that
//! share, a request is decided in Redis, together with what the instance still owes, and never before
//! a charge of the instance's own admissions that is on its way to Redis has landed (else Redis would
//! decide without it). So a client that only one instance serves gets exactly its budget; one whose
//! requests reach N instances at once may get up to (N − 1) × `LOCAL_SHARE` × burst more, once:
//! every admission is charged to the shared bucket, which then refuses the client until it has
//! waited it out. The budgets of sensitive operations (`admit`) are always decided in Redis.
//!
//! A charge counts the admissions it carries as made when it lands, so a bucket may look fuller than
//! it is by up to its charge delay (a quarter of its burst at most) until it refills. The delay is
//! what keeps Redis's work small: charged at once, every request would cost a bucket update there;
//! a client sending a few requests a second now costs one for several of them.
//!
//! In a Redis Cluster the buckets are spread over `CLUSTER_SHARDS` slots, and a call charges the
//! buckets of each slot in one script, the slots at once. A request is then all-or-nothing per slot
//! only: when one slot refuses it, the others have charged it, and are refunded by a second call
//! (until then, for a round trip, another request may find them fuller than they are).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use redis::Script;

use crate::redis::RedisStore;

/// How often an instance looks for admissions of its own that are due to be charged.
pub const FLUSH_EVERY: Duration = Duration::from_millis(20);
/// The longest an admission waits to be charged (see `Rate::charge_delay`).
const LONGEST_CHARGE_DELAY: Duration = Duration::from_millis(500);
/// Within this long of being made, an instance's admission is on its way to the shared bucket.
pub const CHARGED_WITHIN: Duration = LONGEST_CHARGE_DELAY.saturating_add(FLUSH_EVERY);
/// The share of a bucket's burst an instance admits on what it knows, without asking Redis.
pub const LOCAL_SHARE: f64 = 0.5;
/// Buckets charged in one call.
const FLUSH_BATCH: usize = 500;
/// The slots of a Redis Cluster the buckets are spread over.
const CLUSTER_SHARDS: u8 = 16;

/// `requests` per `period`, with up to `burst` at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: u32,
    pub period: Duration,
    pub burst: u32,
}

impl Rate {
    /// The time between two requests at the steady rate.
    fn interval(&self) -> Duration {
        self.period / self.requests.max(1)
    }

    /// How far ahead of now a bucket may be and still admit a request: the burst.
    fn tolerance(&self) -> Duration {
        self.interval() * self.burst.max(1)
    }

    /// How long after it was made an admission decided here is charged to the shared bucket: a
    /// quarter of the burst's time, which is how much fuller than it is the bucket may look (see the
    /// module's documentation), and never so long that other instances learn of a client late.
    fn charge_delay(&self) -> Duration {
        (self.tolerance() / 4).min(LONGEST_CHARGE_DELAY)
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
    mirrors: Arc<Mirrors>,
}

/// KEYS the buckets; ARGV[1] the cost, then triples (interval ms, burst tolerance ms, requests owed,
/// negative for a refund), one per bucket. What is owed is charged whatever the answer; the cost only
/// when every bucket has room for it. Returns the milliseconds to wait (0 when admitted), then how far
/// ahead of now each bucket is after the call (ms).
static ADMIT: LazyLock<Script> = LazyLock::new(|| Script::new(ADMIT_LUA));
const ADMIT_LUA: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local cost = tonumber(ARGV[1])
local wait, owed, next = 0, {}, {}
for i, key in ipairs(KEYS) do
  local interval, tolerance = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i])
  owed[i] = math.max(tonumber(redis.call('GET', key) or now), now) + interval * tonumber(ARGV[3 * i + 1])
  next[i] = owed[i] + interval * cost
  wait = math.max(wait, next[i] - tolerance - now)
end
local charged = next
if wait > 0 then charged = owed end
local answer = {math.ceil(wait)}
for i, key in ipairs(KEYS) do
  if charged[i] > now then
    redis.call('SET', key, charged[i], 'PX', math.ceil(charged[i] - now) + 1)
  else
    redis.call('DEL', key)
  end
  answer[i + 1] = math.ceil(charged[i] - now)
end
return answer
";

impl RateLimiter {
    pub fn new(redis: Arc<RedisStore>) -> Self {
        Self { redis, mirrors: Arc::default() }
    }

    /// Starts charging, every `FLUSH_EVERY`, what this instance admitted on its own, until the
    /// limiter is dropped.
    pub fn start_flushing(&self) {
        let (redis, mirrors) = (self.redis.clone(), Arc::downgrade(&self.mirrors));
        tokio::spawn(flush_every_while(redis, mirrors));
    }

    /// Charges `cost` requests to each of `buckets` (a name and its rate), if every one has room for
    /// them, deciding in Redis. A cost above a bucket's burst is never admitted.
    pub async fn admit(&self, buckets: &[(&str, Rate)], cost: u32) -> Result<Admission, crate::Error> {
        let owed = vec![0; buckets.len()];
        self.decide_in_redis(buckets, &owed, cost).await.map(|(admission, _)| admission)
    }

    /// Like `admit`, but decided in this instance's memory while every bucket is within its local
    /// share (see the module's documentation).
    pub async fn admit_request(
        &self,
        buckets: &[(&str, Rate)],
        cost: u32,
    ) -> Result<Admission, crate::Error> {
        if self.mirrors.admit(buckets, cost, Instant::now()) {
            return Ok(Admission::Allowed);
        }
        let owed = self.mirrors.take_owed_once_charged(buckets).await;
        let landing = Landing { mirrors: &self.mirrors, buckets, owed: &owed };
        let decided = self.decide_in_redis(buckets, &owed, cost).await;
        drop(landing);
        let (admission, ahead) = decided?;
        let learned = buckets.iter().zip(ahead).map(|((name, rate), ahead)| (*name, *rate, ahead));
        self.mirrors.learn(learned, Instant::now());
        Ok(admission)
    }

    async fn decide_in_redis(
        &self,
        buckets: &[(&str, Rate)],
        owed: &[u32],
        cost: u32,
    ) -> Result<(Admission, Vec<i64>), crate::Error> {
        let charges = buckets.iter().zip(owed).map(|((name, rate), owed)| (*name, *rate, *owed));
        let (wait_ms, ahead) = charge(&self.redis, charges, cost.max(1)).await?;
        let admission = if wait_ms == 0 {
            Admission::Allowed
        } else {
            Admission::Limited(Duration::from_millis(wait_ms))
        };
        Ok((admission, ahead))
    }
}

/// Runs `ADMIT` on buckets (a name, its rate and what is owed to it) for a request of `cost` (0 to
/// charge only what is owed): the milliseconds to wait, 0 when admitted, and how far ahead of now
/// each bucket is after the call: in one call on a single Redis, in one per slot in a cluster (see
/// the module's documentation).
async fn charge<'a>(
    redis: &RedisStore,
    buckets: impl Iterator<Item = (&'a str, Rate, u32)>,
    cost: u32,
) -> Result<(u64, Vec<i64>), crate::Error> {
    let charges: Vec<Charge> =
        buckets.map(|(name, rate, owed)| Charge::new(redis, name, rate, owed)).collect();
    let mut shards: Vec<(u8, Vec<usize>)> = Vec::new();
    for (i, charge) in charges.iter().enumerate() {
        match shards.iter_mut().find(|(shard, _)| *shard == charge.shard) {
            Some((_, members)) => members.push(i),
            None => shards.push((charge.shard, vec![i])),
        }
    }
    let calls = shards.iter().map(|(_, members)| {
        admit_in_one_call(redis, members.iter().map(|&i| (&charges[i], charges[i].owed)), cost)
    });
    let answers = futures::future::try_join_all(calls).await?;
    let wait_ms = answers.iter().map(|(wait, _)| *wait).max().unwrap_or(0);
    let mut ahead = vec![0; charges.len()];
    for ((_, members), (wait, shard_ahead)) in shards.iter().zip(&answers) {
        for (&i, ahead_ms) in members.iter().zip(shard_ahead) {
            ahead[i] = *ahead_ms;
        }
        if wait_ms > 0 && *wait == 0 && cost > 0 {
            let refunds = members.iter().map(|&i| (&charges[i], -f64::from(cost)));
            admit_in_one_call(redis, refunds, 0).await?;
        }
    }
    Ok((wait_ms, ahead))
}

/// What one call charges to one bucket.
struct Charge {
    key: String,
    /// Which of the cluster's `CLUSTER_SHARDS` slots the bucket is in; 0 for every bucket of a
    /// single Redis, so that one call charges them all.
    shard: u8,
    rate: Rate,
    owed: f64,
}

impl Charge {
    fn new(redis: &RedisStore, name: &str, rate: Rate, owed: u32) -> Self {
        // FNV-1a: the same shard for a bucket in every instance and version.
        let fnv = || {
            name.bytes()
                .fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
        };
        let shard = if redis.is_cluster() { (fnv() % u32::from(CLUSTER_SHARDS)) as u8 } else { 0 };
        let key = redis.key_in_slot(format_args!("rate-{shard}"), &format!("rate:{name}"));
        Self { key, shard, rate, owed: f64::from(owed) }
    }
}

/// `ADMIT` on buckets of one slot, each with what it owes (negative for a refund).
async fn admit_in_one_call<'c>(
    redis: &RedisStore,
    charges: impl Iterator<Item = (&'c Charge, f64)>,
    cost: u32,
) -> Result<(u64, Vec<i64>), crate::Error> {
    let (mut keys, mut args) = (Vec::new(), vec![f64::from(cost)]);
    for (charge, owed) in charges {
        keys.push(charge.key.clone());
        let interval_ms = charge.rate.interval().as_secs_f64() * 1000.0;
        args.extend([interval_ms, charge.rate.tolerance().as_secs_f64() * 1000.0, owed]);
    }
    let mut answer: Vec<i64> = redis.eval(&ADMIT, keys, args).await?;
    let wait_ms = u64::try_from(answer.remove(0)).unwrap_or(0);
    Ok((wait_ms, answer))
}

/// Charges what was admitted locally once it is due, looking every `FLUSH_EVERY`, until the mirrors
/// are dropped.
async fn flush_every_while(redis: Arc<RedisStore>, mirrors: Weak<Mirrors>) {
    let mut ticks = tokio::time::interval(FLUSH_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(mirrors) = mirrors.upgrade() else { return };
        let owed = mirrors.take_all_due(Instant::now());
        for batch in owed.chunks(FLUSH_BATCH) {
            let charges = batch.iter().map(|(name, rate, owed)| (name.as_str(), *rate, *owed));
            // What is not charged while Redis is down is forgotten: without Redis nothing is limited.
            let charged = charge(&redis, charges, 0).await;
            mirrors.charged(batch.iter().map(|(name, _, owed)| (name.as_str(), *owed)));
            match charged {
                Ok((_, ahead)) => {
                    let learned =
                        batch.iter().zip(ahead).map(|((name, rate, _), ahead)| (name.as_str(), *rate, ahead));
                    mirrors.learn(learned, Instant::now());
                }
                Err(err) => tracing::debug!(error = %err, "admissions not charged to the shared rate limits"),
            }
        }
    }
}

/// A charge of owed admissions on its way to Redis: landed (or failed) once dropped, even when the
/// request that carries it is given up half-way.
struct Landing<'a> {
    mirrors: &'a Mirrors,
    buckets: &'a [(&'a str, Rate)],
    owed: &'a [u32],
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        self.mirrors.charged(self.buckets.iter().map(|(name, _)| *name).zip(self.owed.iter().copied()));
    }
}

/// This instance's view of the buckets its clients used lately.
#[derive(Default)]
struct Mirrors {
    buckets: Mutex<HashMap<String, Mirror>>,
    /// Told whenever a charge of owed admissions has landed in Redis (or failed to).
    charges_landed: tokio::sync::Notify,
}

struct Mirror {
    rate: Rate,
    /// When the bucket is full again as far as this instance knows.
    full_at: Instant,
    /// Requests admitted here and not yet charged in Redis.
    owed: u32,
    /// When what it owes is due to be charged: its first owed admission's charge delay after it.
    due: Option<Instant>,
    /// Calls to Redis on their way with what this bucket owed.
    charging: u32,
}

impl Mirror {
    /// A bucket full at `now`, owing nothing.
    fn new(rate: Rate, now: Instant) -> Self {
        Self { rate, full_at: now, owed: 0, due: None, charging: 0 }
    }
}

impl Mirrors {
    /// Admits and charges `cost` to every bucket if each stays within its local share.
    fn admit(&self, buckets: &[(&str, Rate)], cost: u32, now: Instant) -> bool {
        let mut mirrors = self.buckets.lock().expect("the mirrors are never poisoned");
        let fits = buckets.iter().all(|(name, rate)| {
            let full_at = mirrors.get(*name).map_or(now, |mirror| mirror.full_at.max(now));
            full_at + rate.interval() * cost <= now + rate.tolerance().mul_f64(LOCAL_SHARE)
        });
        if fits {
            for (name, rate) in buckets {
                let mirror = mirrors.entry((*name).to_owned()).or_insert_with(|| Mirror::new(*rate, now));
                mirror.full_at = mirror.full_at.max(now) + rate.interval() * cost;
                mirror.owed += cost;
                mirror.due.get_or_insert(now + rate.charge_delay());
            }
        }
        fits
    }

    /// What `buckets` owe, which the caller now charges (and then says so with `charged`), once no
    /// earlier charge of theirs is on its way to Redis.
    async fn take_owed_once_charged(&self, buckets: &[(&str, Rate)]) -> Vec<u32> {
        loop {
            let landed = self.charges_landed.notified();
            tokio::pin!(landed);
            landed.as_mut().enable();
            if let Some(owed) = self.take_owed(buckets) {
                return owed;
            }
            landed.await;
        }
    }

    /// What `buckets` owe, taken, unless a charge of one of them is on its way.
    fn take_owed(&self, buckets: &[(&str, Rate)]) -> Option<Vec<u32>> {
        let mut mirrors = self.buckets.lock().expect("the mirrors are never poisoned");
        if buckets.iter().any(|(name, _)| mirrors.get(*name).is_some_and(|mirror| mirror.charging > 0)) {
            return None;
        }
        let mut owed = |name: &str| {
            mirrors.get_mut(name).map_or(0, |mirror| {
                mirror.charging += u32::from(mirror.owed > 0);
                mirror.due = None;
                std::mem::take(&mut mirror.owed)
            })
        };
        Some(buckets.iter().map(|(name, _)| owed(name)).collect())
    }

    /// The charges of what `buckets` owed (as taken) have landed in Redis, or failed to.
    fn charged<'a>(&self, buckets: impl Iterator<Item = (&'a str, u32)>) {
        let mut mirrors = self.buckets.lock().expect("the mirrors are never poisoned");
        for (name, _) in buckets.filter(|(_, owed)| *owed > 0) {
            if let Some(mirror) = mirrors.get_mut(name) {
                mirror.charging -= 1;
            }
        }
        drop(mirrors);
        self.charges_landed.notify_waiters();
    }

    /// The debts due by `now`, which the caller now charges; buckets full again and owing nothing
    /// are forgotten.
    fn take_all_due(&self, now: Instant) -> Vec<(String, Rate, u32)> {
        let mut mirrors = self.buckets.lock().expect("the mirrors are never poisoned");
        mirrors.retain(|_, mirror| mirror.owed > 0 || mirror.charging > 0 || mirror.full_at > now);
        let due = mirrors
            .iter_mut()
            .filter(|(_, mirror)| mirror.owed > 0 && mirror.due.is_some_and(|due| due <= now));
        due.map(|(name, mirror)| {
            mirror.charging += 1;
            mirror.due = None;
            (name.clone(), mirror.rate, std::mem::take(&mut mirror.owed))
        })
        .collect()
    }

    /// Redis said each bucket is `ahead` ms ahead of now; what was admitted here and not charged yet
    /// still counts. The answer may predate charges of this instance that were on their way (a flush
    /// and a request decided in Redis cross), so it never lowers what this instance knows.
    fn learn<'a>(&self, buckets: impl Iterator<Item = (&'a str, Rate, i64)>, now: Instant) {
        let mut mirrors = self.buckets.lock().expect("the mirrors are never poisoned");
        for (name, rate, ahead) in buckets {
            let ahead = Duration::from_millis(u64::try_from(ahead).unwrap_or(0));
            let mirror = mirrors.entry(name.to_owned()).or_insert_with(|| Mirror::new(rate, now));
            mirror.full_at = mirror.full_at.max(now + ahead + rate.interval() * mirror.owed);
        }
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

    const TEN_PER_MINUTE: Rate = Rate { requests: 10, period: Duration::from_secs(60), burst: 10 };

    #[test]
    fn an_instance_admits_on_its_own_up_to_its_share_of_the_burst() {
        let (mirrors, now) = (Mirrors::default(), Instant::now());
        let buckets = [("ip:a", TEN_PER_MINUTE)];
        let admitted = (0..10).take_while(|_| mirrors.admit(&buckets, 1, now)).count();
        assert_eq!(admitted, 5);
        assert_eq!(mirrors.take_owed(&buckets), Some(vec![5]));
        assert_eq!(mirrors.take_owed(&buckets), None, "not before that charge has landed");
        mirrors.charged([("ip:a", 5)].into_iter());
        assert_eq!(mirrors.take_owed(&buckets), Some(vec![0]), "taken once");
    }

    /// Redis must know what this instance admitted before it decides for it again: a request waits
    /// for a charge on its way (here, a flush's).
    #[tokio::test]
    async fn a_request_decided_in_redis_waits_for_a_charge_on_its_way() {
        let (mirrors, now) = (Arc::new(Mirrors::default()), Instant::now());
        while mirrors.admit(&[("ip:a", TEN_PER_MINUTE)], 1, now) {}
        let flushing = mirrors.take_all_due(now + CHARGED_WITHIN);
        let deciding = tokio::spawn({
            let mirrors = mirrors.clone();
            async move { mirrors.take_owed_once_charged(&[("ip:a", TEN_PER_MINUTE)]).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!deciding.is_finished(), "it waits for the flush");
        mirrors.charged(flushing.iter().map(|(name, _, owed)| (name.as_str(), *owed)));
        assert_eq!(deciding.await.unwrap(), [0], "the flush charged the five");
    }

    /// A bucket's admissions are charged together, a quarter of its burst's time after the first of
    /// them, and never more than half a second after.
    #[test]
    fn admissions_are_charged_once_due() {
        let (mirrors, now) = (Mirrors::default(), Instant::now());
        let brisk = Rate { requests: 100, period: Duration::from_secs(1), burst: 20 };
        assert!(mirrors.admit(&[("ip:brisk", brisk)], 1, now));
        assert!(mirrors.admit(&[("ip:slow", TEN_PER_MINUTE)], 1, now));
        assert!(mirrors.admit(&[("ip:brisk", brisk)], 1, now + Duration::from_millis(40)));
        let due_at = |millis| mirrors.take_all_due(now + Duration::from_millis(millis));

        assert!(due_at(49).is_empty());
        assert_eq!(due_at(50), [("ip:brisk".to_owned(), brisk, 2)], "50 ms: a quarter of 200 ms");
        assert!(due_at(499).is_empty());
        assert_eq!(due_at(500), [("ip:slow".to_owned(), TEN_PER_MINUTE, 1)], "not a quarter of a minute");
    }

    #[test]
    fn what_redis_knows_of_other_instances_counts() {
        let (mirrors, now) = (Mirrors::default(), Instant::now());
        let buckets = [("ip:a", TEN_PER_MINUTE)];
        assert!(mirrors.admit(&buckets, 1, now));
        // Other instances admitted three, which Redis knows of (not yet the one admitted here).
        mirrors.learn([("ip:a", TEN_PER_MINUTE, 3 * 6000)].into_iter(), now);
        let admitted = (0..10).take_while(|_| mirrors.admit(&buckets, 1, now)).count();
        assert_eq!(admitted, 1, "five in all as far as this instance knows, then Redis decides");
    }

    /// A flush takes what is owed; a request decided in Redis meanwhile may be answered before the
    /// flush's charges arrive there.
    #[test]
    fn an_answer_that_misses_charges_on_their_way_does_not_lower_the_view() {
        let (mirrors, now) = (Mirrors::default(), Instant::now());
        let buckets = [("ip:a", TEN_PER_MINUTE)];
        while mirrors.admit(&buckets, 1, now) {}
        assert_eq!(mirrors.take_all_due(now + CHARGED_WITHIN).len(), 1, "the five go to Redis");
        mirrors.learn([("ip:a", TEN_PER_MINUTE, 6000)].into_iter(), now);
        assert!(!mirrors.admit(&buckets, 1, now), "still five admitted here, not one");
    }

    #[test]
    fn a_request_is_admitted_locally_only_when_every_bucket_has_room() {
        let (mirrors, now) = (Mirrors::default(), Instant::now());
        let busy = [("session:s", TEN_PER_MINUTE)];
        while mirrors.admit(&busy, 1, now) {}
        let both = [("ip:a", TEN_PER_MINUTE), ("session:s", TEN_PER_MINUTE)];
        assert!(!mirrors.admit(&both, 1, now));
        assert_eq!(
            mirrors.take_owed(&[("ip:a", TEN_PER_MINUTE)]),
            Some(vec![0]),
            "nothing charged to the other"
        );
    }

    #[test]
    fn buckets_full_again_and_owing_nothing_are_forgotten() {
        let (mirrors, now) = (Mirrors::default(), Instant::now());
        assert!(mirrors.admit(&[("ip:a", TEN_PER_MINUTE)], 1, now));
        assert_eq!(mirrors.take_all_due(now + CHARGED_WITHIN).len(), 1);
        mirrors.charged([("ip:a", 1)].into_iter());
        assert!(mirrors.take_all_due(now + Duration::from_secs(7)).is_empty());
        assert!(mirrors.buckets.lock().unwrap().is_empty());
    }

    #[test]
    fn an_ipv6_client_counts_for_its_64_and_an_ipv4_one_for_itself() {
        let group = |ip: &str| address_group(ip.parse().unwrap());
        assert_eq!(group("2001:db8:1:2::1"), group("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(group("2001:db8:1:2::1"), group("2001:db8:1:3::1"));
        assert_eq!(group("203.0.113.9"), "203.0.113.9");
        assert_ne!(group("203.0.113.9"), group("203.0.113.10"));
    }
}
