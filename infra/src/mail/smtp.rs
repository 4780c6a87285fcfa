//! Delivers the mail sink's messages to an SMTP server. A sender claims a batch of due messages for a
//! few minutes (so that senders in several workers share the work), sends each, and records each
//! outcome: sent, tried again later with a growing pause, or given up when the server refuses it for
//! good. A sender that dies mid-batch leaves its claim to lapse, and a message it sent but had not
//! recorded is sent again: delivery is at least once. Messages older than a day are left unsent: too
//! late to be of use (a reset link lasts an hour), and not to be flooded when sending is first
//! switched on.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::db::DbRouter;
use crate::write_path::{WriteTx, write_untouched};

const BATCH: u64 = 20;
const IDLE_PAUSE: Duration = Duration::from_secs(1);
/// How long one SMTP exchange may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Claims the due messages: unsent, not claimed or paused, at most a day old.
const CLAIM: &str = "UPDATE mail SET attempts = attempts + 1, next_attempt_at = now() + interval '5 minutes'
    WHERE key IN (SELECT key FROM mail
        WHERE sent_at IS NULL AND next_attempt_at <= now() AND created_at > now() - interval '1 day'
        ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING key, recipient, subject, body, attempts";
const SENT: &str = "UPDATE mail SET sent_at = now(), last_error = NULL WHERE key = $1";
/// The pause doubles from 30 s with each failed attempt, up to an hour.
const RETRY: &str = "UPDATE mail SET last_error = $2,
    next_attempt_at = now() + least(interval '1 hour', interval '30 seconds' * power(2, $3 - 1))
    WHERE key = $1";
const GIVE_UP: &str = "UPDATE mail SET last_error = $2, next_attempt_at = 'infinity' WHERE key = $1";

#[derive(Debug, thiserror::Error)]
pub enum SmtpSettingsError {
    /// Without the URL's own words: it may hold a password.
    #[error(
        "is not an SMTP URL such as smtp://host:25, smtp://user:password@host:587?tls=required or smtps://host:465"
    )]
    Url,
    #[error("is not a sender address such as MyClothes <shop@example.com> ({0})")]
    From(lettre::address::AddressError),
}

/// Where and as whom messages are sent.
pub struct SmtpSettings {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSettings {
    /// The server at `url` (`smtp://` in the clear, `?tls=required` for STARTTLS, `smtps://` for
    /// TLS; credentials as the URL's user and password), sending from `from`.
    pub fn parse(url: &str, from: &str) -> Result<Self, SmtpSettingsError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|_| SmtpSettingsError::Url)?
            .timeout(Some(TIMEOUT))
            .build();
        let from = from.parse().map_err(SmtpSettingsError::From)?;
        Ok(Self { transport, from })
    }
}

/// The URL may hold a password: only the sender is shown.
impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings").field("from", &self.from.to_string()).finish_non_exhaustive()
    }
}

pub struct SmtpSender {
    db: Arc<DbRouter>,
    settings: SmtpSettings,
}

struct Claimed {
    key: String,
    recipient: String,
    subject: String,
    body: String,
    attempts: i32,
}

impl SmtpSender {
    pub fn new(db: Arc<DbRouter>, settings: SmtpSettings) -> Self {
        Self { db, settings }
    }

    /// Sends until `stop` completes; a message cut off mid-way is sent again once its claim lapses.
    pub async fn run_until(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let sent = tokio::select! {
                sent = self.send_due() => sent,
                () = &mut stop => return,
            };
            match sent {
                Ok(0) => {}
                Ok(_) => continue,
                Err(err) => tracing::warn!(error = %err, "the mail sender will retry"),
            }
            tokio::select! {
                () = tokio::time::sleep(IDLE_PAUSE) => {}
                () = &mut stop => return,
            }
        }
    }

    /// Sends a batch of due messages; how many it tried.
    pub async fn send_due(&self) -> Result<usize, crate::Error> {
        let claimed = self.claim().await?;
        for message in &claimed {
            let outcome = self.send(message).await;
            self.record(message, outcome).await?;
        }
        Ok(claimed.len())
    }

    async fn claim(&self) -> Result<Vec<Claimed>, crate::Error> {
        let tx = WriteTx::begin(&self.db).await?;
        let rows = tx
            .conn()
            .query_all_raw(Statement::from_sql_and_values(DbBackend::Postgres, CLAIM, [BATCH.into()]))
            .await?;
        let claimed = rows
            .iter()
            .map(|row| {
                Ok(Claimed {
                    key: row.try_get("", "key")?,
                    recipient: row.try_get("", "recipient")?,
                    subject: row.try_get("", "subject")?,
                    body: row.try_get("", "body")?,
                    attempts: row.try_get("", "attempts")?,
                })
            })
            .collect::<Result<Vec<_>, sea_orm::DbErr>>()?;
        // Only the mail sink changed, which no reader caches.
        tx.commit(()).await?.into_unobserved();
        Ok(claimed)
    }

    async fn send(&self, message: &Claimed) -> Result<(), Failure> {
        let to: Mailbox = message.recipient.parse().map_err(|e| Failure::Permanent(format!("{e}")))?;
        let email = lettre::Message::builder()
            .from(self.settings.from.clone())
            .to(to)
            .subject(&message.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(message.body.clone())
            .map_err(|e| Failure::Permanent(e.to_string()))?;
        match self.settings.transport.send(email).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(Failure::Permanent(err.to_string())),
            Err(err) => Err(Failure::Transient(err.to_string())),
        }
    }

    async fn record(&self, message: &Claimed, outcome: Result<(), Failure>) -> Result<(), crate::Error> {
        let key = message.key.clone().into();
        let statement = match outcome {
            Ok(()) => Statement::from_sql_and_values(DbBackend::Postgres, SENT, [key]),
            Err(Failure::Transient(error)) => {
                tracing::warn!(key = %message.key, %error, "a message could not be sent; it will be tried again");
                let values = [key, error.into(), message.attempts.into()];
                Statement::from_sql_and_values(DbBackend::Postgres, RETRY, values)
            }
            Err(Failure::Permanent(error)) => {
                tracing::error!(key = %message.key, %error, "a message was refused for good; it is given up");
                Statement::from_sql_and_values(DbBackend::Postgres, GIVE_UP, [key, error.into()])
            }
        };
        write_untouched(&self.db, statement).await.map(drop)
    }
}

enum Failure {
    /// Worth trying again later: the server was unreachable or answered a temporary refusal.
    Transient(String),
    /// The server refused the message for good, or it cannot be written (a malformed address).
    Permanent(String),
}
