//! What happened to an order's money at the payment provider (the `payments` table): its
//! authorisation, the capture, a void, and each refund.
//!
//! A refund is recorded pending, in the transaction that decides it, before the provider is asked:
//! refunds at once can then never return more than was captured, and one whose asker crashed is
//! finished by the reconciler, which asks again with the refund's key. The provider's answer confirms
//! it, with the provider's reference, or removes it.

use std::time::Duration;

use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DatabaseTransaction, DbBackend, Statement,
};
use uuid::Uuid;

use super::settlement::decision_time;
use crate::db::DbRouter;
use crate::entities::payment::{self, Kind};
use crate::payments::{PaymentFailure, PaymentProvider};
use crate::write_path::{Committed, Touch, WriteTx};

/// A refund recorded and not yet confirmed by the provider.
pub(super) struct PendingRefund {
    pub id: i64,
    pub order: Uuid,
    pub authorization: String,
    pub amount_minor: i64,
}

impl PendingRefund {
    /// The key the provider dedupes this refund on.
    fn key(&self) -> String {
        format!("refund-{}", self.id)
    }

    /// The provider's answer, or none when it gave none within `timeout` (it may still have refunded).
    pub async fn ask(
        &self,
        provider: &dyn PaymentProvider,
        timeout: Duration,
    ) -> Option<Result<String, PaymentFailure>> {
        let key = self.key();
        let refunding = provider.refund(&self.authorization, self.amount_minor, &key);
        tokio::time::timeout(timeout, refunding).await.ok()
    }
}

/// Records what the provider did with an order's money; the entry.
pub(crate) async fn record(
    txn: &DatabaseTransaction,
    order: Uuid,
    kind: Kind,
    amount_minor: i64,
    reference: &str,
) -> Result<payment::Model, crate::Error> {
    let entry = payment::ActiveModel {
        order_id: Set(order),
        kind: Set(kind),
        amount_minor: Set(amount_minor),
        reference: Set(Some(reference.to_owned())),
        ..Default::default()
    };
    Ok(entry.insert(txn).await?)
}

/// What of `payments` may still be refunded: what was captured, less every refund, pending or not.
pub(super) fn refundable(payments: &[payment::Model]) -> i64 {
    let sum = |kind| payments.iter().filter(|p| p.kind == kind).map(|p| p.amount_minor).sum::<i64>();
    sum(Kind::Capture) - sum(Kind::Refund)
}

/// Records a refund of `amount_minor` of order `order`, pending until the provider has answered (the
/// refund and its entry); its asker has `decision_time(timeout)` to record the answer before the
/// reconciler takes over.
pub(super) async fn open_refund(
    txn: &DatabaseTransaction,
    order: Uuid,
    authorization: &str,
    amount_minor: i64,
    timeout: Duration,
) -> Result<(PendingRefund, payment::Model), crate::Error> {
    let due = chrono::Utc::now() + decision_time(timeout);
    let entry = payment::ActiveModel {
        order_id: Set(order),
        kind: Set(Kind::Refund),
        amount_minor: Set(amount_minor),
        pending_until: Set(Some(due.fixed_offset())),
        ..Default::default()
    };
    let entry = entry.insert(txn).await?;
    let refund = PendingRefund { id: entry.id, order, authorization: authorization.to_owned(), amount_minor };
    Ok((refund, entry))
}

/// Records the provider's answer to a pending refund: confirmed with its reference, or removed. A
/// refund confirmed or removed already is left as it is.
pub(super) async fn close_refund(
    db: &DbRouter,
    refund: &PendingRefund,
    answer: &Result<String, PaymentFailure>,
) -> Result<Committed<()>, crate::Error> {
    let mut tx = WriteTx::begin(db).await?;
    let statement = match answer {
        Ok(reference) => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "UPDATE payments SET reference = $2, pending_until = NULL WHERE id = $1 AND pending_until IS NOT NULL",
            [refund.id.into(), reference.clone().into()],
        ),
        Err(_) => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "DELETE FROM payments WHERE id = $1 AND pending_until IS NOT NULL",
            [refund.id.into()],
        ),
    };
    tx.conn().execute_raw(statement).await?;
    tx.touch(Touch::Order(refund.order));
    tx.commit(()).await
}

/// The pending refunds whose askers' time is up, each given again until the provider has answered.
pub(super) async fn claim_due_refunds(
    db: &DbRouter,
    timeout: Duration,
) -> Result<Vec<PendingRefund>, crate::Error> {
    let claim = "UPDATE payments p SET pending_until = now() + make_interval(secs => $1) FROM orders o \
        WHERE o.id = p.order_id AND p.id IN (SELECT id FROM payments WHERE pending_until < now() \
        ORDER BY pending_until LIMIT 20 FOR UPDATE SKIP LOCKED) \
        RETURNING p.id, p.order_id, p.amount_minor, o.payment_reference";
    let tx = WriteTx::begin(db).await?;
    let values = [decision_time(timeout).as_secs_f64().into()];
    let rows =
        tx.conn().query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, claim, values)).await?;
    tx.commit(()).await?.into_unobserved();
    rows.into_iter()
        .map(|row| {
            Ok(PendingRefund {
                id: row.try_get("", "id")?,
                order: row.try_get("", "order_id")?,
                amount_minor: row.try_get("", "amount_minor")?,
                authorization: row.try_get("", "payment_reference")?,
            })
        })
        .collect()
}
