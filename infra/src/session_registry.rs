//! What the api remembers of a session beyond its token, in Redis under the session id: the primary's
//! WAL position after its last write (its reads wait for a replica that has replayed it, or use the
//! primary: read-your-writes) and whether it was logged out (its token is refused until it expires).

use std::sync::Arc;
use std::time::Duration;

use domain::session::SessionId;

use crate::db::WalPosition;
use crate::redis::RedisStore;

/// Long past any replica lag worth waiting for; after it, the session reads like any other.
const REMEMBER_WRITES_FOR: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionState {
    pub last_write: Option<WalPosition>,
    pub revoked: bool,
}

pub struct SessionRegistry {
    redis: Arc<RedisStore>,
    /// Tokens live this long, so a revocation is kept this long.
    token_lifetime: Duration,
}

impl SessionRegistry {
    pub fn new(redis: Arc<RedisStore>, token_lifetime: Duration) -> Self {
        Self { redis, token_lifetime }
    }

    pub async fn record_write(&self, session: &SessionId, position: WalPosition) -> Result<(), crate::Error> {
        self.redis.set_expiring(self.key(session, "written"), position.sortable(), REMEMBER_WRITES_FOR).await
    }

    /// Logs the session out: its token is refused from now on.
    pub async fn revoke(&self, session: &SessionId) -> Result<(), crate::Error> {
        self.redis.set_expiring(self.key(session, "revoked"), "1", self.token_lifetime).await
    }

    /// Both facts in one round trip.
    pub async fn state(&self, session: &SessionId) -> Result<SessionState, crate::Error> {
        let keys = [self.key(session, "written"), self.key(session, "revoked")];
        let (last_write, revoked): (Option<String>, Option<String>) = self
            .redis
            .run(|mut c| async move { redis::cmd("MGET").arg(&keys).query_async(&mut c).await })
            .await?;
        let last_write = last_write.as_deref().and_then(WalPosition::from_sortable);
        Ok(SessionState { last_write, revoked: revoked.is_some() })
    }

    fn key(&self, session: &SessionId, fact: &str) -> String {
        self.redis.key(&format!("session:{session}:{fact}"))
    }
}
