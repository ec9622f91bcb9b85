//! Driver errors folded once into the few cases callers act on (STYLE R4).

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

/// PostgreSQL acquire timeouts, counted where sqlx's error is folded: sqlx offers no per-pool
/// hook, and this conversion does not know its pool. A process normally serves one pool, so
/// the process-wide count is that pool's; tests read it as "at least".
static POOL_TIMEOUTS: AtomicU64 = AtomicU64::new(0);

/// How many times, in this process, a request gave up waiting for a pooled PostgreSQL
/// connection (sqlx's `PoolTimedOut`).
pub fn pool_timeouts() -> u64 {
    POOL_TIMEOUTS.load(Ordering::Relaxed)
}

/// What went wrong talking to the database. Cheap to clone: one commit failure is reported to
/// every request of its group.
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The database cannot be reached or is overloaded: 503, retry later.
    #[error("database unavailable: {0}")]
    Unavailable(Arc<str>),
    /// A unique or primary-key constraint refused the write: usually 409.
    #[error("unique constraint violated")]
    UniqueViolation,
    /// A foreign-key constraint refused the write.
    #[error("foreign key constraint violated")]
    ForeignKeyViolation,
    /// Anything else: a bug or a corrupt row; 500 and logged.
    #[error("database error: {0}")]
    Other(Arc<str>),
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        use sqlx::Error as E;
        if matches!(error, E::PoolTimedOut) {
            POOL_TIMEOUTS.fetch_add(1, Ordering::Relaxed);
        }
        match &error {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::Protocol(_) | E::WorkerCrashed => {
                Error::Unavailable(error.to_string().into())
            }
            E::Database(db) if db.is_unique_violation() => Error::UniqueViolation,
            E::Database(db) if db.is_foreign_key_violation() => Error::ForeignKeyViolation,
            // Class 08 is "connection exception", 57P0x "operator intervention" (shutdown,
            // restart), 53xxx "insufficient resources": all mean "try again later".
            E::Database(db)
                if db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c.starts_with("53")) =>
            {
                Error::Unavailable(error.to_string().into())
            }
            _ => Error::Other(error.to_string().into()),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(error: rusqlite::Error) -> Self {
        use rusqlite::ffi;
        match &error {
            rusqlite::Error::SqliteFailure(failure, _) => match failure.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => Error::UniqueViolation,
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Error::ForeignKeyViolation,
                _ => match failure.code {
                    rusqlite::ErrorCode::DatabaseBusy
                    | rusqlite::ErrorCode::DatabaseLocked
                    | rusqlite::ErrorCode::CannotOpen
                    | rusqlite::ErrorCode::DiskFull
                    | rusqlite::ErrorCode::SystemIoFailure => Error::Unavailable(error.to_string().into()),
                    _ => Error::Other(error.to_string().into()),
                },
            },
            _ => Error::Other(error.to_string().into()),
        }
    }
}

impl Error {
    /// True when the request may succeed later (503 rather than 500).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }
}
