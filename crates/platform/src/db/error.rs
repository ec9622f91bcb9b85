//! Driver errors folded once into the few cases callers act on (STYLE R4): rusqlite's here,
//! tokio-postgres's and the pool's in `postgres.rs`, by SQLSTATE and error kind, never by text.

use std::sync::Arc;

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
