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

    /// Replaces code `id`'s rules (its window starts now when `window` gives no start); how often
    /// it was used stays.
    pub async fn update(
        &self,
        id: Uuid,
        draft: DiscountDraft,
        target: DiscountTarget,
        window: Window,
    ) -> Written {
        let update = "UPDATE discount_codes SET code = $2, percent_basis_points = $3, amount_minor = $4, \
            brand_id = $5, category_id = $6, minimum_subtotal_minor = $7, usage_limit = $8, \
            per_customer_limit = $9, starts_at = coalesce($10, now()), ends_at = $11 WHERE id = $1";
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

/// What `code` takes off an order of `lines` by `customer` or `email` now, or why it may not be
/// used. Read without a lock: checkout locks the code's row only at the end of its transaction, as
/// it `claim`s the use.
pub(crate) async fn quote(
    txn: &DatabaseTransaction,
    code: &Code,
    customer: Option<Uuid>,
    email: &str,
    lines: &[LineOf],
) -> Result<Result<(Discount, i64), CodeRefusal>, crate::Error> {
    let Some((discount, now)) = read(txn, "d.code", code.as_str().into()).await? else {
        return Ok(Err(CodeRefusal::UnknownCode));
    };
    let used = uses(txn, &discount, customer, email).await?;
    Ok(discount.amount_for(lines, now, used).map(|amount| (discount, amount)))
}

/// Counts the use of `discount` (quoted for `lines`) by the order its transaction records, as that
/// transaction's last statements: the code's row stays locked from here to the commit, so racing
/// checkouts take turns, briefly, and no more than its usage limits allow get it. Why not, when its
/// last use (or the customer's) went meanwhile, or it closed.
pub(crate) async fn claim(
    txn: &DatabaseTransaction,
    discount: &Discount,
    customer: Option<Uuid>,
    email: &str,
    lines: &[LineOf],
) -> Result<Result<(), CodeRefusal>, crate::Error> {
    let take = "UPDATE discount_codes SET times_used = times_used + 1 WHERE id = $1 AND active \
        AND starts_at <= now() AND (ends_at IS NULL OR now() < ends_at) \
        AND (usage_limit IS NULL OR times_used < usage_limit)";
    if run(txn, take, vec![discount.id.into()]).await? == 0 {
        let Some((now_closed, now)) = read(txn, "d.id", discount.id.into()).await? else {
            return Ok(Err(CodeRefusal::UnknownCode));
        };
        return Ok(Err(now_closed.amount_for(lines, now, 0).err().unwrap_or(CodeRefusal::UsedUp)));
    }
    // The row is locked: this customer's other checkouts with the code wait for this one, whose
    // order is among the uses counted.
    if let Some(limit) = discount.per_customer_limit
        && uses(txn, discount, customer, email).await? > i64::from(limit)
    {
        return Ok(Err(CodeRefusal::UsedUp));
    }
    Ok(Ok(()))
}

/// The code whose `column` (`d.id` or `d.code`) is `value`, and the database's clock in whole
/// seconds since the epoch.
async fn read(
    txn: &DatabaseTransaction,
    column: &str,
    value: Value,
) -> Result<Option<(Discount, i64)>, crate::Error> {
    let select = format!(
        "SELECT {COLUMNS}, floor(extract(epoch FROM now()))::bigint AS now FROM discount_codes d WHERE {column} = $1"
    );
    let Some(row) = txn.query_one_raw(statement(&select, vec![value])).await? else { return Ok(None) };
    Ok(Some((discount_of(&row)?, row.try_get("", "now")?)))
}

/// How many orders of `customer` or `email` used `discount`, when it limits that; 0 otherwise.
async fn uses(
    txn: &DatabaseTransaction,
    discount: &Discount,
    customer: Option<Uuid>,
    email: &str,
) -> Result<i64, crate::Error> {
    if discount.per_customer_limit.is_none() {
        return Ok(0);
    }
    let values = vec![discount.id.into(), customer.into(), email.into()];
    let counted = txn.query_one_raw(statement(USES, values)).await?;
    Ok(counted.map(|row| row.try_get("", "n")).transpose()?.unwrap_or(0))
}

/// Gives back the use of code `id` by an order whose payment failed.
pub(crate) async fn give_back(txn: &DatabaseTransaction, id: Uuid) -> Result<(), crate::Error> {
    let give_back = "UPDATE discount_codes SET times_used = times_used - 1 WHERE id = $1 AND times_used > 0";
    run(txn, give_back, vec![id.into()]).await?;
    Ok(())
}

async fn by_id(txn: &DatabaseTransaction, id: Uuid) -> Result<Discount, crate::Error> {
    let (saved, _) = read(txn, "d.id", id.into())
        .await?
        .ok_or_else(|| anyhow::anyhow!("discount code {id} vanished as it was saved"))?;
    Ok(saved)
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
