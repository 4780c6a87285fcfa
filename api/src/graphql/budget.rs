//! Budgets of costly or sensitive operations, on top of the per-request rate limits: each operation
//! is charged to its buckets in Redis (shared by every instance); over budget it fails with
//! `RATE_LIMITED` and `Retry-After`.

use async_graphql::{Context, Result};
use infra::rate_limits::{Admission, Rate, address_group};

use super::context::{caller, services};
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

/// Charges an operation to the caller's address and to `subject` (what the operation is about: an
/// email, an account), each on its own bucket of `kind`, so that neither many subjects from one
/// address nor one subject from many addresses get past the rate. The subject is hashed: key material
/// stays bounded and what clients type does not become Redis keys.
pub async fn charge_address_and_subject(
    ctx: &Context<'_>,
    kind: &str,
    subject: &str,
    rate: Rate,
) -> Result<()> {
    let subject = infra::digest::sha256_hex(subject.as_bytes(), 16);
    let by_subject = format!("{kind}:subject:{subject}");
    let by_address = caller(ctx).ip.map(|ip| format!("{kind}:ip:{}", address_group(ip)));
    let buckets: Vec<(&str, Rate)> =
        std::iter::once(by_subject.as_str()).chain(by_address.as_deref()).map(|key| (key, rate)).collect();
    charge(ctx, &buckets).await
}
