//! The database: embedded SQLite (the default) or PostgreSQL (for many replicas on one
//! database), behind one concrete handle, [`Db`], so no handler is generic over the backend and
//! no module depends on a driver.
//!
//! A module's store writes each statement once, with `$1`, `$2`... placeholders, binds its
//! values once and maps its rows once ([`FromRow`]); [`Db`] runs it on either database:
//!
//! ```ignore
//! const FIND: &str = "SELECT id, name, created_at FROM things WHERE id = $1";
//!
//! impl FromRow for Thing {
//!     fn from_row(row: &Row<'_>) -> Result<Self, db::Error> {
//!         Ok(Thing { id: row.get(0)?, name: row.get(1)?, created_at: row.get(2)? })
//!     }
//! }
//!
//! let thing: Option<Thing> = db.fetch_optional(query(FIND).bind(id)).await?;
//! ```
//!
//! Statements that must commit together are one [`Db::transaction`]. Where the two SQL
//! dialects differ, [`dialect`] names each difference once.
//!
//! - [`query`](mod@query): statements, their execution, transactions
//! - [`row`]: rows and the mapping of model types from them
//! - [`value`]: the values bound to placeholders
//! - [`dialect`]: the differences between SQLite's and PostgreSQL's SQL, one place each
//! - [`sqlite`]: rusqlite with inline point reads and a group-committing writer thread
//! - [`postgres`]: tokio-postgres with a pool and cached prepared statements; `tls`: `sslmode`
//! - [`connect`]: connecting with exponential backoff (SPEC 1.3)
//! - [`migrate`]: embedded per-module, per-dialect migrations
//! - [`Error`]: driver errors folded once into what callers act on

mod connect;
pub mod dialect;
mod error;
pub mod migrate;
pub mod postgres;
pub mod query;
pub mod row;
pub mod sqlite;
mod tls;
pub mod value;

use std::sync::Arc;

pub use connect::{Backoff, connect, connect_with_backoff};
pub use error::Error;
pub use postgres::{PgDb, pool_timeouts};
pub use query::{Isolation, Query, Tx, TxFuture, query};
pub use row::{Column, FromRow, Row};
pub use sqlite::{SqliteDb, SqliteStats};
pub use value::Value;

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
    /// PostgreSQL: the pool.
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

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    /// Embedded SQLite.
    Sqlite(Arc<SqliteDb>),
    /// PostgreSQL pool.
    Postgres(PgDb),
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
            Db::Postgres(pg) => {
                let status = pg.status();
                PoolStats::Postgres {
                    connections: u32::try_from(status.size).unwrap_or(u32::MAX),
                    idle: status.available,
                    max_connections: u32::try_from(status.max_size).unwrap_or(u32::MAX),
                    acquire_timeouts: pool_timeouts(),
                }
            }
        }
    }

    /// Answers when the database does (readiness).
    pub async fn ping(&self) -> Result<(), Error> {
        self.fetch_one::<i64>(query("SELECT 1")).await.map(drop)
    }

    /// Closes the pool (PostgreSQL) or lets the writer finish and close (SQLite).
    pub async fn close(&self) {
        match self {
            Db::Sqlite(db) => db.close().await,
            Db::Postgres(pg) => pg.pool.close(),
        }
    }
}
