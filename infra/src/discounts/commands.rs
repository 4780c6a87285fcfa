//! Staff's writes of discount codes, and a checkout's redemption of one: each a transaction on the
//! primary. Codes are not cached: a write touches `Touch::DiscountCode` only so that its writer's
//! session reads it back at once.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::discount::{Code, CodeRefusal, Discount, DiscountDraft, DiscountValue, LineOf};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, SqlErr, Statement, Value};
use uuid::Uuid;

use super::queries::{COLUMNS, USES, discount_of};
use crate::db::DbRouter;
use crate::write_path::{Committed, Touch, WriteTx, refused};

/// Which lines a code applies to, as staff name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscountTarget {
    Cart,
    /// A brand's slug.
    Brand(String),
    /// A category's slug: the category and every one under it.
    Category(String),
}

/// Why a well-formed write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscountRejection {
    CodeTaken,
    UnknownBrand,
    UnknownCategory,
    UnknownDiscount,
}

pub type Written = Result<Committed<Result<Discount, DiscountRejection>>, crate::Error>;

/// When a code may be used: from `starts_at` (now when not given), until before `ends_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
}

pub struct DiscountCommands {
    db: Arc<DbRouter>,
}

impl DiscountCommands {
    pub fn new(db: Arc<DbRouter>) -> Self {
        Self { db }
    }

    pub async fn create(&self, draft: DiscountDraft, target: DiscountTarget, window: Window) -> Written {
        let create = "INSERT INTO discount_codes (id, code, percent_basis_points, amount_minor, brand_id, \
            category_id, minimum_subtotal_minor, usage_limit, per_customer_limit, starts_at, ends_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, coalesce($10, now()), $11)";
        self.save(create, Uuid::now_v7(), draft, target, window).await
    }

    /// Replaces code `id`'s rules; how often it was used stays.
    pub async fn update(
        &self,
        id: Uuid,
        draft: DiscountDraft,
        target: DiscountTarget,
        window: Window,
    ) -> Written {
        let update = "UPDATE discount_codes SET code = $2, percent_basis_points = $3, amount_minor = $4, \
            brand_id = $5, category_id = $6, minimum_subtotal_minor = $7, usage_limit = $8, \
            per_customer_limit = $9, starts_at = coalesce($10, starts_at), ends_at = $11 WHERE id = $1";
        self.save(update, id, draft, target, window).await
    }

    /// Opens or closes code `id` to shoppers.
    pub async fn set_active(&self, id: Uuid, active: bool) -> Written {
        let mut tx = WriteTx::begin(&self.db).await?;
        let set = "UPDATE discount_codes SET active = $2 WHERE id = $1";
        if run(tx.conn(), set, vec![id.into(), active.into()]).await? == 0 {
            return refused(DiscountRejection::UnknownDiscount);
        }
        let saved = by_id(tx.conn(), id).await?;
        tx.touch(Touch::DiscountCode);
        tx.commit(Ok(saved)).await
    }

    async fn save(
        &self,
        sql: &str,
        id: Uuid,
        draft: DiscountDraft,
        target: DiscountTarget,
        window: Window,
    ) -> Written {
        let mut tx = WriteTx::begin(&self.db).await?;
        let (brand, category) = match target {
            DiscountTarget::Cart => (None, None),
            DiscountTarget::Brand(slug) => match id_of(tx.conn(), "brands", &slug).await? {
                Some(brand) => (Some(brand), None),
                None => return refused(DiscountRejection::UnknownBrand),
            },
            DiscountTarget::Category(slug) => match id_of(tx.conn(), "categories", &slug).await? {
                Some(category) => (None, Some(category)),
                None => return refused(DiscountRejection::UnknownCategory),
            },
        };
        let (percent, amount) = match draft.value {
            DiscountValue::Percentage(points) => (Some(points as i32), None),
            DiscountValue::Fixed(minor) => (None, Some(minor)),
        };
        let values = vec![
            id.into(),
            draft.code.as_str().into(),
            percent.into(),
            amount.into(),
            brand.into(),
            category.into(),
            draft.minimum_subtotal_minor.into(),
            draft.usage_limit.into(),
            draft.per_customer_limit.into(),
            window.starts_at.into(),
            window.ends_at.into(),
        ];
        match run(tx.conn(), sql, values).await {
            Ok(0) => return refused(DiscountRejection::UnknownDiscount),
            Ok(_) => {}
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                return refused(DiscountRejection::CodeTaken);
            }
            Err(err) => return Err(err.into()),
        }
        let saved = by_id(tx.conn(), id).await?;
        tx.touch(Touch::DiscountCode);
        tx.commit(Ok(saved)).await
    }
}

/// Redeems `code` for an order of `lines` by `customer` or `email`, in the order's transaction: the
/// code's row stays locked until it ends, so racing checkouts take turns and no more than its usage
/// limit ever get it. What it takes off, or why it may not be used.
pub(crate) async fn redeem(
    txn: &DatabaseTransaction,
    code: &Code,
    customer: Option<Uuid>,
    email: &str,
    lines: &[LineOf],
) -> Result<Result<(Discount, i64), CodeRefusal>, crate::Error> {
    let lock = format!(
        "SELECT {COLUMNS}, floor(extract(epoch FROM now()))::bigint AS now FROM discount_codes d WHERE d.code = $1 FOR UPDATE OF d"
    );
    let row = txn.query_one_raw(statement(&lock, vec![code.as_str().into()])).await?;
    let Some(row) = row else { return Ok(Err(CodeRefusal::UnknownCode)) };
    let (discount, now): (Discount, i64) = (discount_of(&row)?, row.try_get("", "now")?);
    let uses =
        txn.query_one_raw(statement(USES, vec![discount.id.into(), customer.into(), email.into()])).await?;
    let used: i64 = uses.map(|row| row.try_get("", "n")).transpose()?.unwrap_or(0);
    let amount = match discount.amount_for(lines, now, used) {
        Ok(amount) => amount,
        Err(refusal) => return Ok(Err(refusal)),
    };
    run(txn, "UPDATE discount_codes SET times_used = times_used + 1 WHERE id = $1", vec![discount.id.into()])
        .await?;
    Ok(Ok((discount, amount)))
}

/// Gives back the use of code `id` by an order whose payment failed.
pub(crate) async fn give_back(txn: &DatabaseTransaction, id: Uuid) -> Result<(), crate::Error> {
    let give_back = "UPDATE discount_codes SET times_used = times_used - 1 WHERE id = $1 AND times_used > 0";
    run(txn, give_back, vec![id.into()]).await?;
    Ok(())
}

async fn by_id(txn: &DatabaseTransaction, id: Uuid) -> Result<Discount, crate::Error> {
    let select = format!("SELECT {COLUMNS} FROM discount_codes d WHERE d.id = $1");
    let row = txn.query_one_raw(statement(&select, vec![id.into()])).await?;
    Ok(discount_of(&row.ok_or_else(|| anyhow::anyhow!("discount code {id} vanished as it was saved"))?)?)
}

/// The id of the row of `table` (brands or categories) with `slug`.
async fn id_of(txn: &DatabaseTransaction, table: &str, slug: &str) -> Result<Option<Uuid>, crate::Error> {
    let select = format!("SELECT id FROM {table} WHERE slug = $1");
    let row = txn.query_one_raw(statement(&select, vec![slug.into()])).await?;
    Ok(row.map(|row| row.try_get("", "id")).transpose()?)
}

fn statement(sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(DbBackend::Postgres, sql, values)
}

async fn run(txn: &DatabaseTransaction, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
    Ok(txn.execute_raw(statement(sql, values)).await?.rows_affected())
}
