//! What the payment provider tells of payments on its own (Stripe's webhooks): an event about a
//! payment settles the order waiting for it at once, rather than at the reconciler's next round.
//! The event is not trusted for the outcome: the provider is asked where the payment stands, as the
//! reconciler would. Each event is handled once by its id, however often it is delivered.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use super::settlement::{settle, status_within};
use crate::carts::CartStore;
use crate::db::{Consistency, DbRouter};
use crate::payments::{PaymentFailure, PaymentProvider, PaymentStatus};
use crate::write_path::{Committed, write_untouched};

pub struct PaymentEvents {
    db: Arc<DbRouter>,
    payments: Arc<dyn PaymentProvider>,
    /// The carts an order placed here was ordered from.
    carts: Arc<CartStore>,
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
    pub fn new(
        db: Arc<DbRouter>,
        payments: Arc<dyn PaymentProvider>,
        carts: Arc<CartStore>,
        payment_timeout: Duration,
    ) -> Self {
        Self { db, payments, carts, payment_timeout }
    }

    /// Handles `event` unless it was before; whether it was new.
    pub async fn handle(&self, event: &PaymentEvent<'_>) -> Result<Committed<bool>, crate::Error> {
        let Some(waiting) = self.unseen(event).await? else { return Ok(Committed::nothing(false)) };
        let settled = match (waiting, event.payment) {
            (Some(order), Some(reference)) => self.settle_decided(order, reference).await?,
            _ => Committed::nothing(()),
        };
        let record = "INSERT INTO payment_events (id, type) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
        let values = [event.id.into(), event.kind.into()];
        write_untouched(&self.db, Statement::from_sql_and_values(DbBackend::Postgres, record, values))
            .await?;
        Ok(settled.map(|()| true))
    }

    /// None when `event` was handled before; else the order waiting for the payment it is about, if
    /// any. One statement on the primary.
    async fn unseen(&self, event: &PaymentEvent<'_>) -> Result<Option<Option<Uuid>>, crate::Error> {
        let query = "SELECT EXISTS (SELECT 1 FROM payment_events WHERE id = $1) AS seen, \
            (SELECT id FROM orders WHERE payment_reference = $2 AND status = 'pending_payment') AS waiting";
        let statement = Statement::from_sql_and_values(
            DbBackend::Postgres,
            query,
            [event.id.into(), event.payment.map(str::to_owned).into()],
        );
        let row = self
            .db
            .read_at(&Consistency::Primary, |db| {
                let statement = statement.clone();
                async move { db.query_one_raw(statement).await }
            })
            .await?;
        let row = row.ok_or_else(|| anyhow::anyhow!("a SELECT without FROM answers one row"))?;
        Ok((!row.try_get::<bool>("", "seen")?).then(|| row.try_get("", "waiting")).transpose()?)
    }

    /// Settles `order`, waiting for the payment `reference`, if the provider has decided it:
    /// authorised, or failed. One still open (waiting for the shopper, say) waits on.
    async fn settle_decided(&self, order: Uuid, reference: &str) -> Result<Committed<()>, crate::Error> {
        let answer = match status_within(self.payments.as_ref(), reference, self.payment_timeout).await {
            Some(PaymentStatus::Authorized) => Ok(reference.to_owned()),
            Some(PaymentStatus::Failed) => Err(PaymentFailure::Declined),
            Some(PaymentStatus::Open | PaymentStatus::AwaitingCustomer(_)) | None => {
                return Ok(Committed::nothing(()));
            }
        };
        Ok(settle(&self.db, &self.carts, order, answer).await?.map(drop))
    }
}
