//! The payment reconciler, run by the worker tier: it finishes the orders whose checkout never
//! recorded the payment's outcome (the instance crashed, or the provider answered too late), by
//! asking the provider where the order's payment stands. Authorised, the order is placed with that
//! one authorisation and its lines leave the cart; open, the payment is voided (so that a late
//! authorisation cannot hold money) and the order fails with its stock returned, as it does when the
//! payment failed or was never opened. Refunds left pending are finished by asking again with each
//! refund's key.
//!
//! An order is due once its `payment_due_by` has passed, a refund once its `pending_until` has. A
//! reconciler claims a batch of due ones by moving that time on (rows locked with SKIP LOCKED, so
//! several workers take disjoint batches), and one whose provider is unavailable, or silent, is
//! simply due again later.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use super::ledger::{claim_due_refunds, close_refund};
use super::settlement::{decision_time, settle, status_within};
use crate::carts::CartStore;
use crate::db::DbRouter;
use crate::payments::{PaymentFailure, PaymentProvider, PaymentStatus};
use crate::write_path::{WritePath, WriteTx};

/// Orders claimed at a time.
const BATCH: i64 = 20;

pub struct PaymentReconciler {
    db: Arc<DbRouter>,
    payments: Arc<dyn PaymentProvider>,
    /// The carts an order placed here was ordered from.
    carts: Arc<CartStore>,
    write_path: WritePath,
    /// How long the provider may take to answer.
    payment_timeout: Duration,
}

impl PaymentReconciler {
    pub fn new(
        db: Arc<DbRouter>,
        payments: Arc<dyn PaymentProvider>,
        carts: Arc<CartStore>,
        write_path: WritePath,
        payment_timeout: Duration,
    ) -> Self {
        Self { db, payments, carts, write_path, payment_timeout }
    }

    /// Reconciles every `every` until `stop` completes.
    pub async fn run_until(&self, every: Duration, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            tokio::select! {
                reconciled = self.reconcile_once() => {
                    if let Err(err) = reconciled {
                        tracing::warn!(error = %err, "the payment reconciler will retry");
                    }
                }
                () = &mut stop => return,
            }
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                () = &mut stop => return,
            }
        }
    }

    /// Asks the provider about each due order and refund and records its answers. Returns how many
    /// it settled.
    pub async fn reconcile_once(&self) -> Result<usize, crate::Error> {
        Ok(self.settle_orders().await? + self.settle_refunds().await?)
    }

    async fn settle_refunds(&self) -> Result<usize, crate::Error> {
        let mut settled = 0;
        for refund in claim_due_refunds(&self.db, self.payment_timeout).await? {
            match refund.ask(self.payments.as_ref(), self.payment_timeout).await {
                Some(Err(PaymentFailure::Unavailable)) | None => {
                    tracing::warn!(order = %refund.order, "the payment provider cannot make a pending refund yet");
                }
                Some(answer) => {
                    if answer.is_err() {
                        tracing::error!(order = %refund.order, amount_minor = refund.amount_minor, "the payment provider refused a refund; it is removed");
                    }
                    let committed = close_refund(&self.db, &refund, &answer).await?;
                    self.write_path.apply(committed, None).await;
                    settled += 1;
                }
            }
        }
        Ok(settled)
    }

    async fn settle_orders(&self) -> Result<usize, crate::Error> {
        let mut settled = 0;
        for (order, reference) in self.claim_due().await? {
            let Some(answer) = self.outcome(reference).await else {
                tracing::warn!(%order, "the payment provider cannot tell yet what became of a pending order's payment");
                continue;
            };
            let committed = settle(&self.db, &self.carts, order, answer).await?;
            self.write_path.apply(committed, None).await;
            settled += 1;
        }
        Ok(settled)
    }

    /// What became of the payment `reference` of a pending order (none when it was never opened), as
    /// `settle` takes it; none while the provider cannot tell.
    async fn outcome(&self, reference: Option<String>) -> Option<Result<String, PaymentFailure>> {
        let Some(reference) = reference else { return Some(Err(PaymentFailure::Unavailable)) };
        match status_within(self.payments.as_ref(), &reference, self.payment_timeout).await? {
            PaymentStatus::Authorized => Some(Ok(reference)),
            PaymentStatus::Failed => Some(Err(PaymentFailure::Declined)),
            PaymentStatus::Open | PaymentStatus::AwaitingCustomer(_) => {
                self.payments.void(&reference).await;
                Some(Err(PaymentFailure::Unavailable))
            }
        }
    }

    /// The due orders, with their payments' references, given until the provider has answered again.
    async fn claim_due(&self) -> Result<Vec<(Uuid, Option<String>)>, crate::Error> {
        let claim = "UPDATE orders SET payment_due_by = now() + make_interval(secs => $1) \
            WHERE id IN (SELECT id FROM orders WHERE payment_due_by < now() ORDER BY payment_due_by LIMIT $2 \
            FOR UPDATE SKIP LOCKED) RETURNING id, payment_reference";
        let values = [decision_time(self.payment_timeout).as_secs_f64().into(), BATCH.into()];
        let tx = WriteTx::begin(&self.db).await?;
        let rows = tx
            .conn()
            .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, claim, values))
            .await?;
        tx.commit(()).await?.into_unobserved();
        rows.into_iter()
            .map(|row| Ok((row.try_get("", "id")?, row.try_get("", "payment_reference")?)))
            .collect()
    }
}
