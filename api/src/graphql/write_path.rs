//! How a mutation gets the answer of a command on the primary: through the write path, which first
//! makes every instance's cache forget what the command touched and lets the writer's session read
//! its own write. `Committed` opens nowhere else, so a mutation cannot skip this.

use std::future::Future;
use std::pin::Pin;

use async_graphql::{Context, Result};
use domain::session::SessionId;
use infra::write_path::Committed;

use super::context::{services, session};
use super::errors::OrGraphql;

/// The answer of `command`, for the calling session.
pub fn committed<'a, T>(
    ctx: &'a Context<'_>,
    command: impl Future<Output = Result<Committed<T>, infra::Error>> + 'a,
) -> Pin<Box<impl Future<Output = Result<T>>>> {
    Box::pin(async move {
        let session = session(ctx)?.map(|session| &session.id);
        answer(ctx, session, command).await
    })
}

/// The answer of `command`, for `session` (the new session of a customer who just registered).
pub fn committed_for<'a, T>(
    ctx: &'a Context<'_>,
    session: Option<&'a SessionId>,
    command: impl Future<Output = Result<Committed<T>, infra::Error>> + 'a,
) -> Pin<Box<impl Future<Output = Result<T>>>> {
    Box::pin(answer(ctx, session, command))
}

/// Both of the above box it, command and all: a mutation's future holds the futures of the fields
/// it may resolve, so the largest command's (a checkout's: kilobytes) would otherwise size every
/// mutation's, a cart change's too, and each mutation's future is moved and allocated whole.
async fn answer<T>(
    ctx: &Context<'_>,
    session: Option<&SessionId>,
    command: impl Future<Output = Result<Committed<T>, infra::Error>>,
) -> Result<T> {
    let committed = command.await.or_graphql()?;
    Ok(services(ctx).write_path.apply(committed, session).await)
}

#[cfg(test)]
mod tests {
    use async_graphql::ContainerType;

    use super::*;
    use crate::graphql::Mutation;

    /// The size of the future `resolve` makes (none is made: only its type is looked at).
    fn future_size<Fut>(_resolve: impl FnOnce(&'static Mutation, &'static Context<'static>) -> Fut) -> usize {
        std::mem::size_of::<Fut>()
    }

    /// Every mutation, a cart change too, resolves through one future sized for the largest field:
    /// with a checkout's command held inline it was 25 KiB, moved and allocated whole each time.
    #[test]
    fn a_mutation_s_future_is_not_sized_by_the_largest_command() {
        let size = future_size(<Mutation as ContainerType>::resolve_field);
        assert!(size <= 8 * 1024, "a mutation's future takes {size} bytes");
    }
}
