//! What a resolver takes from its context: the services (the query side or the command side), the
//! caller, and how the request reads.

use std::sync::Arc;

use async_graphql::Context;
use infra::cache::Reads;

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

/// The consistency of the request's reads, and what its answer shows.
pub fn reads<'a>(ctx: &Context<'a>) -> &'a Reads {
    ctx.data_unchecked::<Reads>()
}
