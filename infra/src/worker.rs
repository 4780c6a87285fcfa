//! The worker tier. Each worker relays outbox rows to a Redis stream (rows locked with SKIP LOCKED, so
//! several workers relay disjoint batches), reads the stream in one consumer group, and acknowledges
//! an event once it is handled. Events a crashed worker read but never acknowledged are claimed by
//! another worker once they have been pending for `claim_after`. Delivery is at least once; the
//! handlers make a repeat harmless.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use redis::Value;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::db::DbRouter;
use crate::order_events::OrderEvents;
use crate::redis::RedisStore;
use crate::write_path::WriteTx;

const GROUP: &str = "workers";
const BATCH: usize = 50;
/// How long an idle worker waits before looking for work again.
const IDLE_PAUSE: Duration = Duration::from_millis(100);
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(1);

pub struct WorkerSettings {
    /// This worker's consumer name in the group; unique among running workers.
    pub name: String,
    /// An event pending this long with another consumer is taken over.
    pub claim_after: Duration,
}

/// One entry read from the stream: an event, unless it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub stream_id: String,
    pub event: Option<Event>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub event_type: String,
    pub payload: serde_json::Value,
}

pub struct Worker {
    db: Arc<DbRouter>,
    redis: Arc<RedisStore>,
    events: OrderEvents,
    settings: WorkerSettings,
}

impl Worker {
    pub fn new(
        db: Arc<DbRouter>,
        redis: Arc<RedisStore>,
        events: OrderEvents,
        settings: WorkerSettings,
    ) -> Self {
        Self { db, redis, events, settings }
    }

    /// Works until `stop` completes. An event cut off mid-way is rolled back and stays pending, to be
    /// handled again.
    pub async fn run_until(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let worked = tokio::select! {
                worked = self.work_once() => worked,
                () = &mut stop => return,
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

    /// Relays, then handles what is pending too long elsewhere and what is new. Returns how many
    /// rows and events it dealt with.
    pub async fn work_once(&self) -> Result<usize, crate::Error> {
        self.ensure_group().await?;
        let relayed = self.relay().await?;
        let mut deliveries = self.claim_stale().await?;
        deliveries.extend(self.read_new().await?);
        let handled = deliveries.len();
        for delivery in deliveries {
            match &delivery.event {
                Some(event) => self.events.handle(&event.event_type, &event.payload).await?,
                None => tracing::error!(id = %delivery.stream_id, "an unreadable stream entry is dropped"),
            }
            self.acknowledge(&delivery.stream_id).await?;
        }
        Ok(relayed + handled)
    }

    /// Moves a batch of outbox rows into the stream, marking them relayed. A crash between the two
    /// relays them again, which the handlers tolerate.
    pub async fn relay(&self) -> Result<usize, crate::Error> {
        let tx = WriteTx::begin(&self.db).await?;
        let pick = "SELECT id, event_type, payload::text AS payload FROM outbox WHERE relayed_at IS NULL \
            ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED";
        let rows = tx
            .conn()
            .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, pick, [(BATCH as i64).into()]))
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut events = Vec::with_capacity(rows.len());
        for row in &rows {
            let (id, event_type, payload): (i64, String, String) =
                (row.try_get("", "id")?, row.try_get("", "event_type")?, row.try_get("", "payload")?);
            events.push((id, event_type, payload));
        }
        let stream = self.stream_key();
        let batch = events.clone();
        self.redis
            .run(|mut c| async move {
                let mut pipe = redis::pipe();
                for (id, event_type, payload) in &batch {
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
            .await?;
        let ids: Vec<i64> = events.iter().map(|(id, _, _)| *id).collect();
        let mark = "UPDATE outbox SET relayed_at = now() WHERE id = ANY($1)";
        tx.conn()
            .execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, mark, [ids.into()]))
            .await?;
        Ok(tx.commit(events.len()).await?.into_unobserved())
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

    async fn acknowledge(&self, stream_id: &str) -> Result<(), crate::Error> {
        let (stream, id) = (self.stream_key(), stream_id.to_owned());
        self.redis
            .run(|mut c| async move {
                redis::cmd("XACK").arg(stream).arg(GROUP).arg(id).query_async::<()>(&mut c).await
            })
            .await
    }

    pub fn stream_key(&self) -> String {
        self.redis.key("events")
    }
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
    let payload = field("payload").and_then(|p| serde_json::from_str(&p).ok());
    let event = payload.zip(field("type")).map(|(payload, event_type)| Event { event_type, payload });
    Some(Delivery { stream_id, event })
}
