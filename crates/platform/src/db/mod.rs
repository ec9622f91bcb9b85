//! The database handle: embedded SQLite (the default) or PostgreSQL (for many replicas on one
//! database), one concrete type so no handler is generic over the backend.
//!
//! - [`sqlite`]: rusqlite with inline point reads and a group-committing writer thread
//! - [`connect`]: connecting with exponential backoff (SPEC 1.3)
//! - [`migrate`]: embedded per-module, per-dialect migrations
//! - [`Error`]: driver errors folded once into what callers act on

mod connect;
mod error;
pub mod migrate;
pub mod sqlite;

use std::sync::Arc;

use sqlx::PgPool;

pub use connect::{Backoff, connect, connect_with_backoff};
pub use error::{Error, pool_timeouts};
pub use sqlite::{SqliteDb, SqliteStats};

/// Which database engine a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (or memory).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// A snapshot of the connections behind a [`Db`], for metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolStats {
    /// Embedded SQLite: its connections, read waits and write queue.
    Sqlite(SqliteStats),
    /// PostgreSQL: the sqlx pool.
    Postgres {
        /// Open connections, idle or in use.
        connections: u32,
        /// Open connections not in use.
        idle: usize,
        /// The most connections the pool opens.
        max_connections: u32,
        /// Requests so far that gave up waiting for a connection (process-wide, see
        /// [`pool_timeouts`]).
        acquire_timeouts: u64,
    },
}

/// A handle to the database; cheap to clone. Stores match on it where the dialects differ.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded SQLite.
    Sqlite(Arc<SqliteDb>),
    /// PostgreSQL pool.
    Postgres(PgPool),
}

impl Db {
    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// The connections behind this handle right now (no I/O).
    pub fn pool_stats(&self) -> PoolStats {
        match self {
            Db::Sqlite(db) => PoolStats::Sqlite(db.stats()),
            Db::Postgres(pool) => PoolStats::Postgres {
                connections: pool.size(),
                idle: pool.num_idle(),
                max_connections: pool.options().get_max_connections(),
                acquire_timeouts: pool_timeouts(),
            },
        }
    }

    /// Answers when the database does (readiness).
    pub async fn ping(&self) -> Result<(), Error> {
        match self {
            Db::Sqlite(db) => db.read_now(|conn| conn.query_row("SELECT 1", [], |_| Ok(()))),
            Db::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop).map_err(Error::from),
        }
    }

    /// Closes the pool (PostgreSQL) or lets the writer finish and close (SQLite).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(db) => db.close().await,
            Db::Postgres(pool) => pool.close().await,
        }
    }
}
