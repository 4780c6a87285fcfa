//! Read-your-writes (BRIEF §4): after a session writes, its reads wait for replicas to replay the write.

use std::sync::Arc;

use async_graphql::Context;

use crate::auth::Caller;
use crate::services::Services;

/// Keeps the primary's WAL position for the calling session, so that its next reads see this write
/// even on a lagging replica. Best effort: without Redis, later reads may be as stale as the lag.
pub async fn remember_write(ctx: &Context<'_>) {
    let Some(session) = &ctx.data_unchecked::<Caller>().session else { return };
    let services = ctx.data_unchecked::<Arc<Services>>();
    let remembered = match services.db.write_position().await {
        Ok(position) => services.sessions.record_write(&session.id, position).await,
        Err(err) => Err(err.into()),
    };
    if let Err(err) = remembered {
        tracing::warn!(error = %err, "could not remember a session's write position");
    }
}
