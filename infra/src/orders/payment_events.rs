//! What the payment provider tells of payments on its own (Stripe's webhooks): an event about a
//! payment settles the order waiting for it at once, rather than at the reconciler's next round.
//! The event is not trusted for the outcome: the provider is asked where the payment stands, as the
//! reconciler would. Each event is handled once by its id, however often it is delivered.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, Statement};

use super::settlement::settle;
use crate::db::DbRouter;
use crate::entities::order;
use crate::payments::{PaymentFailure, PaymentProvider, PaymentStatus};
use crate::write_path::{Committed, WriteTx};

pub struct PaymentEvents {
    db: Arc<DbRouter>,
    payments: Arc<dyn PaymentProvider>,
    /// How long the provider may take to answer.
    payment_timeout: Duration,
}

/// An event of the provider's.
pub struct PaymentEvent<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    /// The provider's reference of the payment it is about.
    pub payment: Option<&'a str>,
}

impl PaymentEvents {
    pub fn new(db: Arc<DbRouter>, payments: Arc<dyn PaymentProvider>, payment_timeout: Duration) -> Self {
        Self { db, payments, payment_timeout }
    }

    /// Handles `event` unless it was before; whether it was new.
    pub async fn handle(&self, event: &PaymentEvent<'_>) -> Result<Committed<bool>, crate::Error> {
        if self.seen(event.id).await? {
            return Ok(Committed::nothing(false));
        }
        let settled = match event.payment {
            Some(reference) => self.settle_waiting(reference).await?,
            None => Committed::nothing(()),
        };
        let tx = WriteTx::begin(&self.db).await?;
        let record = "INSERT INTO payment_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
        let values = [event.id.into(), event.kind.into()];
        tx.conn().execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, record, values)).await?;
        Ok(settled.followed_by(tx.commit(true).await?))
    }

    async fn seen(&self, id: &str) -> Result<bool, crate::Error> {
        let tx = WriteTx::begin(&self.db).await?;
        let seen = "SELECT 1 AS seen FROM payment_events WHERE id = $1";
        let row = tx
            .conn()
            .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, seen, [id.into()]))
            .await?;
        Ok(row.is_some())
    }

    /// Settles the order waiting for the payment `reference`, if there is one and the provider has
    /// decided it: authorised, or failed. One still open (waiting for the shopper, say) waits on.
    async fn settle_waiting(&self, reference: &str) -> Result<Committed<()>, crate::Error> {
        let tx = WriteTx::begin(&self.db).await?;
        let waiting = order::Entity::find()
            .filter(order::Column::PaymentReference.eq(reference))
            .filter(order::Column::Status.eq(order::Status::PendingPayment))
            .one(tx.conn())
            .await?;
        drop(tx);
        let Some(waiting) = waiting else { return Ok(Committed::nothing(())) };
        let status = tokio::time::timeout(self.payment_timeout, self.payments.status(reference)).await;
        let answer = match status {
            Ok(Ok(PaymentStatus::Authorized)) => Ok(reference.to_owned()),
            Ok(Ok(PaymentStatus::Failed)) => Err(PaymentFailure::Declined),
            _ => return Ok(Committed::nothing(())),
        };
        Ok(settle(&self.db, waiting.id, answer).await?.map(drop))
    }
}
