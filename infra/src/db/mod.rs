//! PostgreSQL: connection settings, the primary/replica router, WAL positions, and the error
//! classification the router fails over on.

mod candidates;
mod position;
mod router;

pub use position::WalPosition;
pub use router::{Consistency, DbRouter, DbSettings, TargetRole, TargetStats};

/// Woken whenever a statement finds its server unreachable, so that the primary watchers look for
/// the writable server at once instead of at their next round.
pub(crate) static SERVER_UNREACHABLE: tokio::sync::Notify = tokio::sync::Notify::const_new();

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};

/// Whether `err` says the server could not be reached or is going away, rather than that the
/// statement was wrong: the first kind is worth retrying on another server.
pub fn is_unreachable(err: &DbErr) -> bool {
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            match e.as_ref() {
                sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::Protocol(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                // Class 08: connection exception; 57P0x: the server is shutting down or starting up.
                sqlx::Error::Database(db) => {
                    db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P"))
                }
                _ => false,
            }
        }
        _ => false,
    }
}
