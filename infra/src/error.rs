use crate::db::is_unreachable;

/// What storage can fail with, sorted by what a caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No database that could serve the call answered: tell the client to retry later.
    #[error("the database is unavailable: {0}")]
    DatabaseUnavailable(#[source] sea_orm::DbErr),
    /// Redis did not answer in time: tell the client to retry later.
    #[error("Redis is unavailable: {0}")]
    RedisUnavailable(String),
    /// A bug or a broken invariant: logged in full, never shown to clients.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Self {
        if is_unreachable(&err) {
            crate::db::SERVER_UNREACHABLE.notify_waiters();
            Self::DatabaseUnavailable(err)
        } else {
            Self::Unexpected(err.into())
        }
    }
}
