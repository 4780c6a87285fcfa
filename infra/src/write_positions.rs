//! Read-your-writes: after a session writes, the primary's WAL position is kept in Redis under the
//! session id, and that session's reads wait for a replica that has replayed it (or use the primary).

use std::sync::Arc;
use std::time::Duration;

use domain::session::SessionId;

use crate::redis::RedisStore;

/// Long past any replica lag worth waiting for; after it, the session reads like any other.
const REMEMBER_FOR: Duration = Duration::from_secs(300);

pub struct WritePositions {
    redis: Arc<RedisStore>,
}

impl WritePositions {
    pub fn new(redis: Arc<RedisStore>) -> Self {
        Self { redis }
    }

    pub async fn record(&self, session: &SessionId, position: String) -> Result<(), crate::Error> {
        self.redis.set_expiring(self.key(session), position, REMEMBER_FOR).await
    }

    /// The position of `session`'s last write, if it wrote lately.
    pub async fn last(&self, session: &SessionId) -> Result<Option<String>, crate::Error> {
        let key = self.key(session);
        self.redis
            .run(
                |mut connection| async move { redis::cmd("GET").arg(key).query_async(&mut connection).await },
            )
            .await
    }

    fn key(&self, session: &SessionId) -> String {
        self.redis.key(&format!("session:{session}:written"))
    }
}
