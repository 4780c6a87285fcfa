//! How a mutation gets the answer of a command on the primary: through the write path, which first
//! makes every instance's cache forget what the command touched and lets the writer's session read
//! its own write. `Committed` opens nowhere else, so a mutation cannot skip this.

use std::future::Future;

use async_graphql::{Context, Result};
use domain::session::SessionId;
use infra::write_path::Committed;

use super::context::{services, session};
use super::errors::OrGraphql;

/// The answer of `command`, for the calling session.
pub async fn committed<T>(
    ctx: &Context<'_>,
    command: impl Future<Output = Result<Committed<T>, infra::Error>>,
) -> Result<T> {
    let session = session(ctx)?.map(|session| &session.id);
    committed_for(ctx, session, command).await
}

/// The answer of `command`, for `session` (the new session of a customer who just registered).
pub async fn committed_for<T>(
    ctx: &Context<'_>,
    session: Option<&SessionId>,
    command: impl Future<Output = Result<Committed<T>, infra::Error>>,
) -> Result<T> {
    let committed = command.await.or_graphql()?;
    Ok(services(ctx).write_path.apply(committed, session).await)
}
