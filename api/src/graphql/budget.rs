//! Budgets of costly or sensitive operations, on top of the per-request rate limits: each operation
//! is charged to its buckets in Redis (shared by every instance); over budget it fails with
//! `RATE_LIMITED` and `Retry-After`.

use async_graphql::{Context, Result};
use infra::rate_limits::{Admission, Rate};

use super::context::services;
use super::errors::{OrGraphql, rate_limited, retry_after_seconds};

/// Charges one operation to each of `buckets` (a name and its rate), if every one has room for it.
/// Without Redis the operation is refused rather than let through unbudgeted.
pub async fn charge(ctx: &Context<'_>, buckets: &[(&str, Rate)]) -> Result<()> {
    match services(ctx).rate_limiter.admit(buckets, 1).await {
        Ok(Admission::Limited(wait)) => {
            ctx.append_http_header("retry-after", retry_after_seconds(wait).to_string());
            Err(rate_limited(wait))
        }
        Ok(Admission::Allowed) => Ok(()),
        Err(err) => Err(err).or_graphql(),
    }
}
