//! Staff's discount codes (admin role only): each validates every field, writes on the primary, and
//! answers with the code as written and `userErrors`.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use domain::discount::{DiscountDraft, DiscountInput};
use infra::discounts::{DiscountRejection, DiscountTarget, Window, Written};

use super::types::DiscountCode;
use crate::graphql::committed;
use crate::graphql::context::{commands, services};
use crate::graphql::errors::OrGraphql;
use crate::graphql::global_id::{NodeKind, uuid_of};
use crate::graphql::guards::AdminOnly;
use crate::graphql::user_error::{UserError, UserErrorCode};

/// Give exactly one of `percent` and `amount`, and at most one of `brand` and `category` (the whole
/// cart without either).
#[derive(InputObject)]
pub struct DiscountCodeInput {
    /// 1 to 40 letters, digits, `-` or `_`; stored upper-cased.
    code: String,
    /// A percentage of the lines it applies to, such as "15" or "12.5".
    percent: Option<String>,
    /// An amount in minor units, at most what the lines it applies to cost.
    amount: Option<i32>,
    /// A brand's slug.
    brand: Option<String>,
    /// A category's slug: its lines and those of every category under it.
    category: Option<String>,
    /// In minor units: the cart's subtotal must reach it.
    #[graphql(default)]
    minimum_subtotal: i32,
    /// Now when not given (also when replacing a code's rules).
    starts_at: Option<DateTime<Utc>>,
    /// It may be used until just before then; forever when not given.
    ends_at: Option<DateTime<Utc>>,
    /// How many orders may use it in all.
    usage_limit: Option<i32>,
    /// How many orders of one customer (or email) may use it.
    per_customer_limit: Option<i32>,
}

#[derive(SimpleObject)]
pub struct DiscountCodePayload {
    discount_code: Option<DiscountCode>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct DiscountMutation;

#[Object]
impl DiscountMutation {
    #[graphql(guard = "AdminOnly")]
    async fn create_discount_code(
        &self,
        ctx: &Context<'_>,
        input: DiscountCodeInput,
    ) -> Result<DiscountCodePayload> {
        match parse(&input) {
            Ok((draft, target, window)) => {
                written(ctx, commands(ctx).discounts.create(draft, target, window)).await
            }
            Err(user_errors) => Ok(DiscountCodePayload { discount_code: None, user_errors }),
        }
    }

    /// Replaces the code's rules; how often it was used stays.
    #[graphql(guard = "AdminOnly")]
    async fn update_discount_code(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: DiscountCodeInput,
    ) -> Result<DiscountCodePayload> {
        let id = uuid_of(&id, NodeKind::DiscountCode)?;
        match parse(&input) {
            Ok((draft, target, window)) => {
                written(ctx, commands(ctx).discounts.update(id, draft, target, window)).await
            }
            Err(user_errors) => Ok(DiscountCodePayload { discount_code: None, user_errors }),
        }
    }

    /// Opens the code to shoppers again, or closes it (`active: false`): carts holding it are told
    /// it is unknown, and checkouts refuse it.
    #[graphql(guard = "AdminOnly")]
    async fn set_discount_code_active(
        &self,
        ctx: &Context<'_>,
        id: ID,
        active: bool,
    ) -> Result<DiscountCodePayload> {
        let id = uuid_of(&id, NodeKind::DiscountCode)?;
        written(ctx, commands(ctx).discounts.set_active(id, active)).await
    }
}

fn parse(input: &DiscountCodeInput) -> Result<(DiscountDraft, DiscountTarget, Window), Vec<UserError>> {
    let draft = DiscountDraft::parse(DiscountInput {
        code: &input.code,
        percent: input.percent.as_deref(),
        amount: input.amount.map(i64::from),
        minimum_subtotal: i64::from(input.minimum_subtotal),
        usage_limit: input.usage_limit,
        per_customer_limit: input.per_customer_limit,
    });
    let mut user_errors =
        draft.as_ref().err().cloned().map(|p| UserError::from_problems("input", p)).unwrap_or_default();
    let target = match (&input.brand, &input.category) {
        (None, None) => Some(DiscountTarget::Cart),
        (Some(brand), None) => Some(DiscountTarget::Brand(brand.trim().to_owned())),
        (None, Some(category)) => Some(DiscountTarget::Category(category.trim().to_owned())),
        (Some(_), Some(_)) => {
            user_errors.push(invalid("input.category", "give at most one of brand and category"));
            None
        }
    };
    let window = Window { starts_at: input.starts_at, ends_at: input.ends_at };
    let starts = window.starts_at.unwrap_or_else(Utc::now);
    if window.ends_at.is_some_and(|end| end <= starts) {
        user_errors.push(invalid("input.endsAt", "must be after startsAt"));
    }
    match (draft, target) {
        (Ok(draft), Some(target)) if user_errors.is_empty() => Ok((draft, target, window)),
        _ => Err(user_errors),
    }
}

fn invalid(field: &str, message: &str) -> UserError {
    UserError::new(Some(field), UserErrorCode::InvalidValue, message)
}

async fn written(ctx: &Context<'_>, write: impl Future<Output = Written>) -> Result<DiscountCodePayload> {
    // Handed over (and boxed) before anything is awaited, so that this future does not hold it.
    let write = committed(ctx, write);
    let currency = services(ctx).shop.currency().await.or_graphql()?;
    Ok(match write.await? {
        Ok(discount) => DiscountCodePayload {
            discount_code: Some(DiscountCode { discount, currency }),
            user_errors: vec![],
        },
        Err(rejection) => {
            let (field, code, message) = match rejection {
                DiscountRejection::CodeTaken => {
                    ("input.code", UserErrorCode::CodeTaken, "another discount code is spelt so")
                }
                DiscountRejection::UnknownBrand => {
                    ("input.brand", UserErrorCode::UnknownBrand, "no brand has this slug")
                }
                DiscountRejection::UnknownCategory => {
                    ("input.category", UserErrorCode::UnknownCategory, "no category has this slug")
                }
                DiscountRejection::UnknownDiscount => {
                    ("id", UserErrorCode::UnknownDiscountCode, "no discount code has this id")
                }
            };
            DiscountCodePayload {
                discount_code: None,
                user_errors: vec![UserError::new(Some(field), code, message)],
            }
        }
    })
}
