//! What a resolver takes from its context: the services (the query side or the command side), the
//! caller, and how the request reads.

use std::sync::Arc;

use async_graphql::{Context, Result};
use domain::session::Session;
use infra::cache::Reads;

use super::errors::{ErrorCode, error};
use crate::auth::Caller;
use crate::services::{Commands, Queries, Services};

pub fn services<'a>(ctx: &Context<'a>) -> &'a Arc<Services> {
    ctx.data_unchecked::<Arc<Services>>()
}

pub fn queries<'a>(ctx: &Context<'a>) -> &'a Queries {
    &services(ctx).queries
}

pub fn commands<'a>(ctx: &Context<'a>) -> &'a Commands {
    &services(ctx).commands
}

pub fn caller<'a>(ctx: &Context<'a>) -> &'a Caller {
    ctx.data_unchecked::<Caller>()
}

/// The caller's session, for what depends on who is signed in; `SERVICE_UNAVAILABLE` for a signed-in
/// session that could not be checked for having ended.
pub fn session<'a>(ctx: &Context<'a>) -> Result<Option<&'a Session>> {
    caller(ctx).session().map_err(|unchecked| error(ErrorCode::ServiceUnavailable, &unchecked.to_string()))
}

/// The consistency of the request's reads, and what its answer shows.
pub fn reads<'a>(ctx: &Context<'a>) -> &'a Reads {
    ctx.data_unchecked::<Reads>()
}
