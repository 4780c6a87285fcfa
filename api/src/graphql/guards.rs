//! Who may call what.

use async_graphql::{Context, Guard, Result};

use super::context::session;
use super::errors::{ErrorCode, error};

/// Only a session with the admin role: no session is `UNAUTHENTICATED`, another role `FORBIDDEN`.
pub struct AdminOnly;

impl Guard for AdminOnly {
    async fn check(&self, ctx: &Context<'_>) -> Result<()> {
        match session(ctx)? {
            None => Err(error(ErrorCode::Unauthenticated, "sign in as staff to do this")),
            Some(session) if !session.is_admin() => {
                Err(error(ErrorCode::Forbidden, "this needs the admin role"))
            }
            Some(_) => Ok(()),
        }
    }
}
