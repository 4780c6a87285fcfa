//! The worker tier. Each worker relays outbox rows to a Redis stream (rows locked with SKIP LOCKED, so
//! several workers relay disjoint batches), reads the stream in one consumer group, and acknowledges
//! each event once it is dealt with. Events a crashed worker read but never acknowledged are claimed
//! by another worker once they have been pending for `claim_after`.
//!
//! The outbox, not the stream, is the record of what is left to do: a row goes only once its event
//! is handled, and a row relayed `redeliver_after` ago and still there is relayed again, so an event
//! Redis lost (it acknowledges a write before its fsync) is not lost. An event whose handling fails
//! waits in the outbox for a growing pause and is relayed again; after `max_attempts` it is dead: kept
//! in the outbox, copied to the dead-letter stream, logged, and counted on `/metrics`. One bad event
//! never holds up the others. Delivery is at least once; the handlers make a repeat harmless.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use sea_orm::{DbBackend, Statement};

use crate::account_events::AccountEvents;
use crate::db::DbRouter;
use crate::order_events::OrderEvents;
use crate::redis::RedisStore;
use crate::write_path::{write_untouched, write_untouched_returning};

const GROUP: &str = "workers";
const BATCH: usize = 50;
/// Dead letters kept in the stream for a look; the outbox keeps them all.
const DEAD_LETTERS_KEPT: usize = 10_000;
/// How long an idle worker waits before looking for work again.
const IDLE_PAUSE: Duration = Duration::from_millis(100);
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);
/// How long a worker told to stop may take to finish the round under way.
const FINISH_ROUND_WITHIN: Duration = Duration::from_secs(10);

pub struct WorkerSettings {
    /// This worker's consumer name in the group; unique among running workers.
    pub name: String,
    /// An event pending this long with another consumer is taken over.
    pub claim_after: Duration,
    /// An event relayed this long ago and not handled yet is relayed again.
    pub redeliver_after: Duration,
    /// Handlings of an event that may fail before it is dead.
    pub max_attempts: u32,
    /// The pause after an event's first failure; it doubles with each further one, up to
    /// `redeliver_after`.
    pub retry_backoff: Duration,
}

/// One entry read from the stream: an event of an outbox row, unless it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub stream_id: String,
    pub outbox_id: Option<i64>,
    pub event: Option<Event>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_type: String,
    pub payload: serde_json::Value,
}

/// How the handling of an event went: done, or failed with this error, to be tried again (and dead
/// after `max_attempts`).
pub type Outcome = Result<(), String>;

/// What `handled` means for the events it was about; errs when a store was unavailable, which the
/// worker waits out rather than count against them.
pub(crate) fn outcome_of<T>(handled: Result<T, crate::Error>) -> Result<Result<T, String>, crate::Error> {
    match handled {
        Ok(value) => Ok(Ok(value)),
        Err(crate::Error::Unexpected(err)) => Ok(Err(format!("{err:#}"))),
        Err(unavailable) => Err(unavailable),
    }
}

const ORDER_PLACED: &str = "order.placed";

/// What the worker does with each kind of event.
pub struct Handlers {
    pub orders: OrderEvents,
    pub accounts: AccountEvents,
}

impl Handlers {
    /// Handles the events of `deliveries`, read together: an outcome for each, in order. The orders
    /// placed are handled together, in one transaction; every other event on its own, and events of
    /// no concern to the worker not at all.
    async fn handle_all(&self, deliveries: &[Delivery]) -> Result<Vec<Outcome>, crate::Error> {
        let is_placed = |event: &&Event| event.event_type == ORDER_PLACED;
        let placed: Vec<&serde_json::Value> = deliveries
            .iter()
            .filter_map(|d| d.event.as_ref())
            .filter(is_placed)
            .map(|e| &e.payload)
            .collect();
        let mut placed = self.orders.orders_placed(&placed).await?.into_iter();
        let mut outcomes = Vec::with_capacity(deliveries.len());
        for delivery in deliveries {
            outcomes.push(match &delivery.event {
                None => Err("the stream entry is not an event".to_owned()),
                Some(event) if is_placed(&event) => placed.next().expect("an outcome for each order placed"),
                Some(event) if AccountEvents::handles(&event.event_type) => {
                    outcome_of(self.accounts.handle(&event.event_type, &event.payload).await)?
                }
                Some(_) => Ok(()),
            });
        }
        Ok(outcomes)
    }
}

pub struct Worker {
    db: Arc<DbRouter>,
    redis: Arc<RedisStore>,
    events: Handlers,
    settings: WorkerSettings,
}

impl Worker {
    pub fn new(
        db: Arc<DbRouter>,
        redis: Arc<RedisStore>,
        events: Handlers,
        settings: WorkerSettings,
    ) -> Self {
        Self { db, redis, events, settings }
    }

    /// Works until `stop` completes, finishing the round under way (for `FINISH_ROUND_WITHIN` at
    /// most): a relay cut off between marking its rows and writing them to the stream would leave
    /// them for `redeliver_after`. An event cut off mid-way even so is rolled back and stays pending,
    /// to be handled again.
    pub async fn run_until(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let round = self.work_once();
            tokio::pin!(round);
            let worked = tokio::select! {
                worked = &mut round => worked,
                () = &mut stop => {
                    if tokio::time::timeout(FINISH_ROUND_WITHIN, round).await.is_err() {
                        tracing::warn!("the worker stopped before its round was over");
                    }
                    return;
                }
            };
            let pause = match worked {
                Ok(0) => IDLE_PAUSE,
                Ok(_) => continue,
                Err(err) => {
                    tracing::warn!(error = %err, "the worker will retry");
                    PAUSE_AFTER_FAILURE
                }
            };
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = &mut stop => return,
            }
        }
    }

    /// Relays, then handles what is pending too long elsewhere and what is new, and trims the stream.
    /// Returns how many rows and events it dealt with.
    pub async fn work_once(&self) -> Result<usize, crate::Error> {
        self.ensure_group().await?;
        let relayed = self.relay().await?;
        let mut deliveries = self.claim_stale().await?;
        deliveries.extend(self.read_new().await?);
        let mut handled = Vec::new();
        for (delivery, outcome) in deliveries.iter().zip(self.events.handle_all(&deliveries).await?) {
            match outcome {
                Ok(()) => handled.extend(delivery.outbox_id),
                Err(error) => self.failed(delivery, &error).await?,
            }
        }
        self.forget(&handled).await?;
        self.acknowledge(&deliveries).await?;
        if !deliveries.is_empty() {
            self.trim_stream().await?;
        }
        Ok(relayed + deliveries.len())
    }

    /// Records a failed handling of `delivery`: its event is relayed again after a pause, or is dead
    /// after `max_attempts`.
    async fn failed(&self, delivery: &Delivery, error: &str) -> Result<(), crate::Error> {
        let attempts = match delivery.outbox_id {
            Some(id) => self.record_failure(id, error).await?,
            // Not an event of an outbox row that is still there: nothing would ever relay it again.
            None => None,
        };
        match attempts {
            Some(attempts) if attempts < self.settings.max_attempts => {
                tracing::warn!(id = %delivery.stream_id, attempts, %error, "an event failed; it will be retried");
                Ok(())
            }
            attempts => self.dead_letter(delivery, attempts.unwrap_or(1), error).await,
        }
    }

    /// Counts a failure of outbox row `id` and schedules its next relay, or marks it dead; the
    /// attempts so far, or none when the row is gone (handled through another copy, or never there).
    async fn record_failure(&self, id: i64, error: &str) -> Result<Option<u32>, crate::Error> {
        // The pause doubles with each failure (`attempts` is the count before this one).
        let record = "UPDATE outbox SET attempts = attempts + 1, last_error = $2, \
            relay_after = now() + make_interval(secs => least($3::float8 * power(2, least(attempts, 30)), $4::float8)), \
            dead_at = CASE WHEN attempts + 1 >= $5 THEN now() END \
            WHERE id = $1 AND dead_at IS NULL RETURNING attempts";
        let settings = &self.settings;
        let values = [
            id.into(),
            error.into(),
            settings.retry_backoff.as_secs_f64().into(),
            settings.redeliver_after.as_secs_f64().into(),
            (settings.max_attempts as i32).into(),
        ];
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, record, values);
        let rows = write_untouched_returning(&self.db, statement).await?;
        let attempts = rows.first().map(|row| row.try_get::<i32>("", "attempts")).transpose()?;
        Ok(attempts.map(|n| n as u32))
    }

    /// Copies `delivery` to the dead-letter stream, where an operator finds it with its last error.
    async fn dead_letter(&self, delivery: &Delivery, attempts: u32, error: &str) -> Result<(), crate::Error> {
        tracing::error!(id = %delivery.stream_id, outbox_id = ?delivery.outbox_id, attempts, %error,
            "an event is dead: it is kept in the outbox and the dead-letter stream");
        let (stream, delivery, error) = (self.dead_letter_key(), delivery.clone(), error.to_owned());
        self.redis
            .run(|mut c| async move {
                let (event_type, payload) = match &delivery.event {
                    Some(event) => (event.event_type.clone(), event.payload.to_string()),
                    None => (String::new(), String::new()),
                };
                redis::cmd("XADD")
                    .arg(&stream)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(DEAD_LETTERS_KEPT)
                    .arg("*")
                    .arg("stream_id")
                    .arg(&delivery.stream_id)
                    .arg("outbox_id")
                    .arg(delivery.outbox_id.map(|id| id.to_string()).unwrap_or_default())
                    .arg("type")
                    .arg(event_type)
                    .arg("payload")
                    .arg(payload)
                    .arg("attempts")
                    .arg(attempts)
                    .arg("error")
                    .arg(&error)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await
    }

    /// Deletes the outbox rows whose events were handled.
    async fn forget(&self, handled: &[i64]) -> Result<(), crate::Error> {
        if handled.is_empty() {
            return Ok(());
        }
        let delete = "DELETE FROM outbox WHERE id = ANY($1)";
        let values = [handled.to_vec().into()];
        write_untouched(&self.db, Statement::from_sql_and_values(DbBackend::Postgres, delete, values))
            .await?;
        Ok(())
    }

    /// Moves a batch of due outbox rows (new ones, ones to retry, and ones relayed `redeliver_after`
    /// ago and still there) into the stream, after one statement has set when each is due again (rows
    /// another worker's statement holds are skipped). A crash before they reach the stream leaves them
    /// to be relayed once `redeliver_after` has passed; rows the stream refuses are due again at once.
    pub async fn relay(&self) -> Result<usize, crate::Error> {
        let mark = "UPDATE outbox SET relayed_at = now(), relay_after = now() + make_interval(secs => $2::float8) \
            WHERE id IN (SELECT id FROM outbox WHERE dead_at IS NULL AND relay_after <= now() \
            ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING id, event_type, payload::text AS payload";
        let values = [(BATCH as i64).into(), self.settings.redeliver_after.as_secs_f64().into()];
        let rows = write_untouched_returning(
            &self.db,
            Statement::from_sql_and_values(DbBackend::Postgres, mark, values),
        )
        .await?;
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let (id, event_type, payload): (i64, String, String) =
                (row.try_get("", "id")?, row.try_get("", "event_type")?, row.try_get("", "payload")?);
            events.push((id, event_type, payload));
        }
        events.sort_unstable_by_key(|(id, _, _)| *id);
        if let Err(err) = self.add_to_stream(&events).await {
            self.due_now(&events).await;
            return Err(err);
        }
        Ok(events.len())
    }

    async fn add_to_stream(&self, events: &[(i64, String, String)]) -> Result<(), crate::Error> {
        if events.is_empty() {
            return Ok(());
        }
        let stream = self.stream_key();
        self.redis
            .run(|mut c| async move {
                let mut pipe = redis::pipe();
                for (id, event_type, payload) in events {
                    pipe.cmd("XADD")
                        .arg(&stream)
                        .arg("*")
                        .arg("outbox_id")
                        .arg(id)
                        .arg("type")
                        .arg(event_type)
                        .arg("payload")
                        .arg(payload)
                        .ignore();
                }
                pipe.query_async::<()>(&mut c).await
            })
            .await
    }

    /// Has `events`, which did not reach the stream, relayed again at the next chance rather than
    /// after `redeliver_after`; should this fail too, they wait for that.
    async fn due_now(&self, events: &[(i64, String, String)]) {
        let ids: Vec<i64> = events.iter().map(|(id, _, _)| *id).collect();
        let again = "UPDATE outbox SET relay_after = now() WHERE id = ANY($1)";
        let statement = Statement::from_sql_and_values(DbBackend::Postgres, again, [ids.into()]);
        if let Err(err) = write_untouched(&self.db, statement).await {
            tracing::warn!(error = %err, "events the stream refused wait for their next relay");
        }
    }

    async fn ensure_group(&self) -> Result<(), crate::Error> {
        let stream = self.stream_key();
        self.redis
            .run(|mut c| async move {
                redis::cmd("XGROUP")
                    .arg("CREATE")
                    .arg(stream)
                    .arg(GROUP)
                    .arg("0")
                    .arg("MKSTREAM")
                    .query_async::<()>(&mut c)
                    .await
                    .or_else(|err| if err.code() == Some("BUSYGROUP") { Ok(()) } else { Err(err) })
            })
            .await
    }

    async fn read_new(&self) -> Result<Vec<Delivery>, crate::Error> {
        let (stream, name) = (self.stream_key(), self.settings.name.clone());
        let reply: Value = self
            .redis
            .run(|mut c| async move {
                redis::cmd("XREADGROUP")
                    .arg("GROUP")
                    .arg(GROUP)
                    .arg(name)
                    .arg("COUNT")
                    .arg(BATCH)
                    .arg("STREAMS")
                    .arg(stream)
                    .arg(">")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        // [[stream, [entry…]]], or nil when there is nothing new.
        let entries = match reply {
            Value::Array(streams) => streams.into_iter().next().and_then(|s| array(s).into_iter().nth(1)),
            _ => None,
        };
        Ok(entries.map(array).unwrap_or_default().into_iter().filter_map(delivery).collect())
    }

    async fn claim_stale(&self) -> Result<Vec<Delivery>, crate::Error> {
        let (stream, name) = (self.stream_key(), self.settings.name.clone());
        let idle = self.settings.claim_after.as_millis() as u64;
        let reply: Value = self
            .redis
            .run(|mut c| async move {
                redis::cmd("XAUTOCLAIM")
                    .arg(stream)
                    .arg(GROUP)
                    .arg(name)
                    .arg(idle)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(BATCH)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        // [next start, [entry…], [deleted ids…]]
        let entries = array(reply).into_iter().nth(1).map(array).unwrap_or_default();
        Ok(entries.into_iter().filter_map(delivery).collect())
    }

    async fn acknowledge(&self, deliveries: &[Delivery]) -> Result<(), crate::Error> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let stream = self.stream_key();
        let ids: Vec<String> = deliveries.iter().map(|d| d.stream_id.clone()).collect();
        self.redis
            .run(|mut c| async move {
                redis::cmd("XACK").arg(stream).arg(GROUP).arg(ids).query_async::<()>(&mut c).await
            })
            .await
    }

    /// Drops the entries every consumer is done with: those older than the oldest one still pending,
    /// or than the last one delivered when none is. (The stream has this one group only.)
    async fn trim_stream(&self) -> Result<(), crate::Error> {
        let stream = self.stream_key();
        self.redis
            .run(|mut c| async move {
                // [count, smallest id, greatest id, consumers]
                let pending: (u64, Option<String>, Option<String>, Value) =
                    redis::cmd("XPENDING").arg(&stream).arg(GROUP).query_async(&mut c).await?;
                let oldest_kept = match pending.1 {
                    Some(oldest_pending) => Some(oldest_pending),
                    None => last_delivered(&mut c, &stream).await?,
                };
                match oldest_kept {
                    Some(id) => {
                        redis::cmd("XTRIM").arg(&stream).arg("MINID").arg(id).query_async::<()>(&mut c).await
                    }
                    None => Ok(()),
                }
            })
            .await
    }

    pub fn stream_key(&self) -> String {
        self.redis.key("events")
    }

    /// Where dead events are copied: the stream's name with `:dead`.
    pub fn dead_letter_key(&self) -> String {
        self.redis.key("events:dead")
    }
}

/// The id of the last entry delivered to the group, if any was.
async fn last_delivered(
    connection: &mut impl redis::aio::ConnectionLike,
    stream: &str,
) -> Result<Option<String>, redis::RedisError> {
    let groups: Vec<std::collections::HashMap<String, Value>> =
        redis::cmd("XINFO").arg("GROUPS").arg(stream).query_async(connection).await?;
    let group = groups.into_iter().find(|group| group.get("name").and_then(text).as_deref() == Some(GROUP));
    Ok(group.and_then(|group| group.get("last-delivered-id").and_then(text)).filter(|id| id != "0-0"))
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::BulkString(bytes) => String::from_utf8(bytes.clone()).ok(),
        Value::SimpleString(text) => Some(text.clone()),
        _ => None,
    }
}

/// An entry `[id, [field, value, …]]`; entries deleted from the stream come as nil and are skipped.
fn delivery(entry: Value) -> Option<Delivery> {
    let mut parts = array(entry).into_iter();
    let stream_id = text(&parts.next()?)?;
    let fields = array(parts.next()?);
    let field = |name: &str| {
        fields
            .chunks(2)
            .find(|pair| text(&pair[0]).as_deref() == Some(name))
            .and_then(|pair| pair.get(1))
            .and_then(text)
    };
    let outbox_id = field("outbox_id").and_then(|id| id.parse().ok());
    let payload = field("payload").and_then(|p| serde_json::from_str(&p).ok());
    let event = payload.zip(field("type")).map(|(payload, event_type)| Event { event_type, payload });
    Some(Delivery { stream_id, outbox_id, event })
}
