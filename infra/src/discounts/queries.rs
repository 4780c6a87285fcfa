//! Discount codes as they are read: by code, for a shopper, through the cache (staff's writes drop
//! the cached rules; a checkout's use does not, so a cached code may not know yet that its last use
//! went, which checkout does); and all of them, for staff.

use std::future::Future;
use std::sync::Arc;

use domain::discount::{Code, CodeRefusal, Discount, DiscountScope, DiscountValue, LineOf};
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};
use uuid::Uuid;

use crate::cache::{CacheKey, CachedQuery, ReadCache, Reads, Tag};
use crate::db::{Consistency, DbRouter};

/// A code's columns, its times as seconds since the epoch, and the categories its category scope
/// covers (the category and every one under it).
pub(super) const COLUMNS: &str = "d.id, d.code, d.percent_basis_points, d.amount_minor, d.brand_id, d.category_id, \
    d.minimum_subtotal_minor, floor(extract(epoch FROM d.starts_at))::bigint AS starts_at, \
    floor(extract(epoch FROM d.ends_at))::bigint AS ends_at, d.usage_limit, d.per_customer_limit, d.times_used, d.active, \
    (SELECT array_agg(c.id) FROM categories t JOIN categories c ON c.path = t.path OR c.path LIKE t.path || '/%' \
     WHERE t.id = d.category_id) AS within";

pub struct DiscountQueries {
    db: Arc<DbRouter>,
    cache: Arc<ReadCache>,
}

impl DiscountQueries {
    pub fn new(db: Arc<DbRouter>, cache: Arc<ReadCache>) -> Self {
        Self { db, cache }
    }

    /// The code `code`, whatever its state.
    pub async fn find(&self, code: &Code, reads: &Reads) -> Result<Option<Discount>, crate::Error> {
        self.cache.fetch(&CodeQuery { queries: self, code }, reads).await
    }

    /// Every code, newest first.
    pub async fn list(&self, at: &Consistency) -> Result<Vec<Discount>, crate::Error> {
        let select = format!("SELECT {COLUMNS} FROM discount_codes d ORDER BY d.created_at DESC, d.id");
        let rows = self.rows(select, Vec::new(), at).await?;
        Ok(rows.iter().map(discount_of).collect::<Result<_, _>>()?)
    }

    /// What code `code` takes off `lines` now for `customer` (none for a guest, whose email is known
    /// at checkout only), or why it may not be used. Checkout checks it again as it redeems it.
    pub async fn check(
        &self,
        code: &Code,
        lines: &[LineOf],
        customer: Option<Uuid>,
        reads: &Reads,
    ) -> Result<Result<i64, CodeRefusal>, crate::Error> {
        let Some(discount) = self.find(code, reads).await? else { return Ok(Err(CodeRefusal::UnknownCode)) };
        let used = match (customer, discount.per_customer_limit) {
            (Some(customer), Some(_)) => self.uses_by(discount.id, customer, &reads.consistency()).await?,
            _ => 0,
        };
        Ok(discount.amount_for(lines, chrono::Utc::now().timestamp(), used))
    }

    /// How many orders of `customer` used code `id`; failed payments aside.
    async fn uses_by(&self, id: Uuid, customer: Uuid, at: &Consistency) -> Result<i64, crate::Error> {
        let values = vec![id.into(), Some(customer).into(), Option::<String>::None.into()];
        let rows = self.rows(USES.to_owned(), values, at).await?;
        Ok(rows.first().map(|row| row.try_get("", "n")).transpose()?.unwrap_or(0))
    }

    async fn rows(
        &self,
        sql: String,
        values: Vec<Value>,
        at: &Consistency,
    ) -> Result<Vec<QueryResult>, crate::Error> {
        Ok(self
            .db
            .read_at(at, |db| {
                let statement =
                    Statement::from_sql_and_values(DbBackend::Postgres, sql.clone(), values.clone());
                async move { db.query_all_raw(statement).await }
            })
            .await?)
    }
}

/// Counts the orders of a buyer ($2 the customer, $3 the email) that used code $1.
pub(super) const USES: &str = "SELECT count(*) AS n FROM orders WHERE discount_code_id = $1 \
    AND payment_failure IS NULL AND (customer_id = $2 OR email = $3)";

pub(super) fn discount_of(row: &QueryResult) -> Result<Discount, DbErr> {
    let bad = |what: &str| DbErr::Type(format!("a stored discount code's {what}"));
    let value = match (
        row.try_get::<Option<i32>>("", "percent_basis_points")?,
        row.try_get::<Option<i64>>("", "amount_minor")?,
    ) {
        (Some(points), None) => {
            DiscountValue::Percentage(u32::try_from(points).map_err(|_| bad("percentage"))?)
        }
        (None, Some(amount)) => DiscountValue::Fixed(amount),
        _ => return Err(bad("value")),
    };
    let scope =
        match (row.try_get::<Option<Uuid>>("", "brand_id")?, row.try_get::<Option<Uuid>>("", "category_id")?)
        {
            (Some(brand), None) => DiscountScope::Brand(brand),
            (None, Some(id)) => DiscountScope::Category { id, within: row.try_get("", "within")? },
            (None, None) => DiscountScope::Cart,
            _ => return Err(bad("scope")),
        };
    let code: String = row.try_get("", "code")?;
    Ok(Discount {
        id: row.try_get("", "id")?,
        code: Code::parse(&code).ok_or_else(|| bad("code"))?,
        value,
        scope,
        minimum_subtotal_minor: row.try_get("", "minimum_subtotal_minor")?,
        starts_at: row.try_get("", "starts_at")?,
        ends_at: row.try_get("", "ends_at")?,
        usage_limit: row.try_get("", "usage_limit")?,
        per_customer_limit: row.try_get("", "per_customer_limit")?,
        times_used: row.try_get("", "times_used")?,
        active: row.try_get("", "active")?,
    })
}

struct CodeQuery<'a> {
    queries: &'a DiscountQueries,
    code: &'a Code,
}

impl CachedQuery for CodeQuery<'_> {
    type Value = Option<Discount>;

    fn key(&self) -> CacheKey<'_> {
        CacheKey::DiscountCode(self.code.as_str())
    }

    fn shows(&self) -> Vec<Tag> {
        vec![Tag::Discounts]
    }

    fn load(&self, at: Consistency) -> impl Future<Output = Result<Self::Value, crate::Error>> + Send {
        let select = format!("SELECT {COLUMNS} FROM discount_codes d WHERE d.code = $1");
        let values = vec![self.code.as_str().into()];
        async move {
            let rows = self.queries.rows(select, values, &at).await?;
            Ok(rows.first().map(discount_of).transpose()?)
        }
    }
}
