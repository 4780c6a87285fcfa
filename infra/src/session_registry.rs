//! What the api remembers of a session beyond its token, in Redis under the session id: its last write
//! (its reads wait for a replica that has replayed it, or use the primary: read-your-writes) and
//! whether it was logged out (its token is refused until it expires). And, per account, its session
//! generation: a token names the generation it was issued in, and starting a new one (a password
//! change, a removed staff account) ends every older session of the account at once.
//!
//! In a Redis Cluster a session's revocation shares the slot of the cart it shows (its cart owner's),
//! and an account's generation the slot of the account, which is the same for a customer: a cart
//! change checks in its own script that the session has not ended. A staff member's session shows a
//! guest cart of its own, in another slot than the account's generation, which is then read apart,
//! just before the change.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use domain::cart::CartOwner;
use domain::session::{Session, SessionId};
use redis::Script;

use crate::cache::ReadPolicy;
use crate::db::{Consistency, WalPosition};
use crate::redis::RedisStore;

/// Long past any replica lag worth waiting for; after it, the session reads like any other.
const REMEMBER_WRITES_FOR: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    pub last_write: Option<LastWrite>,
    /// Logged out, or of an account whose sessions were all ended since it began.
    pub revoked: bool,
}

/// A session's last write on the primary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LastWrite {
    /// Where its commit ends.
    pub position: WalPosition,
    /// Whether the cache forgot what the write touched before it was answered.
    pub cache_told: bool,
    /// The number of its invalidation on the channel the near caches follow (0 when it published
    /// none there), when known.
    pub published: Option<u64>,
}

impl SessionState {
    /// How the session reads: at least as far as its last write, through the cache unless the cache
    /// could not be told of that write, and from memory once the near cache has applied it.
    pub fn read_policy(&self) -> ReadPolicy {
        match self.last_write {
            None => ReadPolicy::EVENTUAL,
            Some(write) => ReadPolicy {
                consistency: Consistency::AtLeast(write.position),
                through_cache: write.cache_told,
                from_memory_after: write.published.filter(|_| write.cache_told),
            },
        }
    }
}

/// A session's last write is kept as its position, then `UNTOLD` when the cache was not told of it,
/// then `PUBLISHED` and the largest number of the session's writes' invalidations (`RECORD`).
const UNTOLD: &str = "untold";
const PUBLISHED: &str = "published:";

impl LastWrite {
    /// The write kept as `value`.
    fn parse(value: &str) -> Option<Self> {
        let mut words = value.split(' ');
        let mut write =
            Self { position: WalPosition::from_sortable(words.next()?)?, cache_told: true, published: None };
        for flag in words {
            match flag.strip_prefix(PUBLISHED) {
                Some(number) => write.published = number.parse().ok(),
                None => write.cache_told &= flag != UNTOLD,
            }
        }
        Some(write)
    }
}

/// KEYS[1] the session's last write; ARGV[1] a write's position (sortable), ARGV[2] ' untold' when
/// the cache was not told of it (else ''), ARGV[3] the number of its invalidation, ARGV[4] how long
/// it is kept (ms). Concurrent writes of a session may be recorded in either order: the one with the
/// later position stays, and the larger number, so that the session reads from memory only once
/// every write it made is applied there.
static RECORD_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RECORD));
const RECORD: &str = r"
local current = redis.call('GET', KEYS[1]) or ''
local number = math.max(tonumber(ARGV[3]), tonumber(string.match(current, ' published:(%d+)') or '0'))
local position, untold = ARGV[1], ARGV[2]
if string.sub(current, 1, 16) > position then
  position, untold = string.sub(current, 1, 16), string.find(current, ' untold', 1, true) and ' untold' or ''
end
redis.call('SET', KEYS[1], position .. untold .. ' published:' .. string.format('%d', number), 'PX', ARGV[4])
return 1
";

/// What a Lua script needs to tell whether a session has ended (`SESSION_ENDED`), so that a change
/// made for the session and that check take one round trip.
#[derive(Debug, Clone)]
pub struct Liveness {
    /// The session's revocation, then its account's generation when it is signed in and that is in
    /// the same slot.
    pub(crate) keys: Vec<String>,
    /// Its account's generation when that is in another slot, to be read apart.
    pub(crate) generation_apart: Option<String>,
    /// The generation its token began in.
    pub(crate) generation: u64,
}

/// Lua: `session_ended()`, whether the session whose revocation is KEYS[2], whose account's
/// generation is KEYS[3] (when signed in), and whose token began in generation ARGV[1], has ended. A
/// script put after it keeps its own keys before those (KEYS[1]) and its arguments after ARGV[1].
pub(crate) const SESSION_ENDED: &str = r"
local function session_ended()
  if redis.call('EXISTS', KEYS[2]) == 1 then return true end
  return KEYS[3] ~= nil and tonumber(redis.call('GET', KEYS[3]) or '0') > tonumber(ARGV[1])
end
";

pub struct SessionRegistry {
    redis: Arc<RedisStore>,
    /// Tokens live this long, so a revocation is kept this long.
    token_lifetime: Duration,
}

impl SessionRegistry {
    pub fn new(redis: Arc<RedisStore>, token_lifetime: Duration) -> Self {
        Self { redis, token_lifetime }
    }

    pub async fn record_write(&self, session: &SessionId, write: LastWrite) -> Result<(), crate::Error> {
        let untold = if write.cache_told { String::new() } else { format!(" {UNTOLD}") };
        let published = write.published.unwrap_or(0);
        let args = (write.position.sortable(), untold, published, REMEMBER_WRITES_FOR.as_millis() as u64);
        self.redis.eval::<i64>(&RECORD_SCRIPT, vec![self.written_key(session)], args).await.map(drop)
    }

    /// Logs the session out: its token is refused from now on.
    pub async fn revoke(&self, session: &Session) -> Result<(), crate::Error> {
        self.redis.set_expiring(self.revoked_key(session), "1", self.token_lifetime).await
    }

    /// The generation a session of `subject` begins in.
    pub async fn generation(&self, subject: &str) -> Result<u64, crate::Error> {
        let key = self.generation_key(subject);
        let current: Option<u64> = self
            .redis
            .run(|mut c| async move { redis::cmd("GET").arg(&key).query_async(&mut c).await })
            .await?;
        Ok(current.unwrap_or(0))
    }

    /// Ends every session of `subject` begun so far; the new generation is the answer. It is kept as
    /// long as a token lives: by the time it expires, so has every token of an older generation.
    pub async fn end_all(&self, subject: &str) -> Result<u64, crate::Error> {
        let key = self.generation_key(subject);
        let lifetime = self.token_lifetime.as_millis() as i64;
        self.redis
            .run(|mut c| async move {
                redis::pipe()
                    .atomic()
                    .incr(&key, 1)
                    .pexpire(&key, lifetime)
                    .ignore()
                    .query_async::<(u64,)>(&mut c)
                    .await
                    .map(|(generation,)| generation)
            })
            .await
    }

    /// What a script needs to check, in the round trip of a change, that `session` has not ended.
    pub fn liveness(&self, session: &Session) -> Liveness {
        let mut keys = vec![self.revoked_key(session)];
        let mut generation_apart = None;
        if let Some(subject) = session.subject.as_deref() {
            let generation = self.generation_key(subject);
            if self.redis.is_cluster() && *subject != CartOwner::of(session).to_string() {
                generation_apart = Some(generation);
            } else {
                keys.push(generation);
            }
        }
        Liveness { keys, generation_apart, generation: session.generation }
    }

    /// What is known of `session`, in one round trip.
    pub async fn state(&self, session: &Session) -> Result<SessionState, crate::Error> {
        let mut keys = vec![self.written_key(&session.id), self.revoked_key(session)];
        keys.extend(session.subject.as_deref().map(|subject| self.generation_key(subject)));
        let values: Vec<Option<String>> = self
            .redis
            .run(|mut c| async move { redis::cmd("MGET").arg(&keys).query_async(&mut c).await })
            .await?;
        let [last_write, revoked, generation] = [0, 1, 2].map(|i| values.get(i).cloned().flatten());
        let current_generation = generation.and_then(|g| g.parse::<u64>().ok()).unwrap_or(0);
        let revoked = revoked.is_some() || session.generation < current_generation;
        let last_write = last_write.as_deref().and_then(LastWrite::parse);
        Ok(SessionState { last_write, revoked })
    }

    /// Read by cart scripts, so in the slot of the session's cart.
    fn revoked_key(&self, session: &Session) -> String {
        self.redis.key_in_slot(CartOwner::of(session), &format!("session:{}:revoked", session.id))
    }

    /// Never used with other keys by a script: recorded before a new customer's session (and so its
    /// cart owner) is known.
    fn written_key(&self, session: &SessionId) -> String {
        self.redis.key(&format!("session:{session}:written"))
    }

    fn generation_key(&self, subject: &str) -> String {
        self.redis.key_in_slot(subject, &format!("account:{subject}:generation"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_write_reads_back_and_so_do_those_kept_before_the_numbers() {
        let read =
            |kept: &str| LastWrite::parse(kept).map(|w| (w.position.sortable(), w.cache_told, w.published));
        let position = "00000001000000A0".to_owned();
        assert_eq!(read("00000001000000A0 published:42"), Some((position.clone(), true, Some(42))));
        assert_eq!(read("00000001000000A0 untold published:0"), Some((position.clone(), false, Some(0))));
        assert_eq!(read("00000001000000A0"), Some((position.clone(), true, None)));
        assert_eq!(read("00000001000000A0 untold"), Some((position, false, None)));
        assert_eq!(read("A0 published:42"), None);
    }

    #[test]
    fn a_session_reads_from_memory_after_its_write_only_when_the_cache_was_told_of_it() {
        let position = WalPosition::from_sortable("00000001000000A0").expect("a position");
        let policy = |cache_told, published| {
            let state = SessionState {
                last_write: Some(LastWrite { position, cache_told, published }),
                revoked: false,
            };
            state.read_policy().from_memory_after
        };
        assert_eq!(policy(true, Some(42)), Some(42));
        assert_eq!(policy(true, None), None, "a write kept before its number was");
        assert_eq!(policy(false, Some(42)), None);
        assert_eq!(SessionState::default().read_policy(), ReadPolicy::EVENTUAL);
    }
}
