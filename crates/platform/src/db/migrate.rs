//! Embedded migrations, per module and per dialect, applied at startup and by `ferrum migrate`.
//!
//! Each module exports a [`MigrationSet`]; applied versions are recorded per module in
//! `ferrum_migrations`, so module version numbers never collide. On PostgreSQL an advisory lock
//! makes replicas that start together apply each migration exactly once.

use super::{Backend, Db, Error, Isolation, Tx, query};

/// One schema change, written once per dialect.
#[derive(Debug)]
pub struct Migration {
    /// Order within the module, from 1.
    pub version: i64,
    /// Short description, recorded when applied.
    pub name: &'static str,
    /// The SQLite script.
    pub sqlite: &'static str,
    /// The PostgreSQL script.
    pub postgres: &'static str,
}

/// A module's migrations, in version order.
#[derive(Debug)]
pub struct MigrationSet {
    /// The module that owns these tables.
    pub module: &'static str,
    /// Its migrations, ascending.
    pub migrations: &'static [Migration],
}

const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS ferrum_migrations (
    module TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (module, version)
)";
const APPLIED: &str = "SELECT version FROM ferrum_migrations WHERE module = $1";
const RECORD: &str = "INSERT INTO ferrum_migrations (module, version, name, applied_at) VALUES ($1, $2, $3, $4)";
/// Any fixed number: the key of the advisory lock that serialises migrating replicas.
const PG_LOCK_KEY: i64 = 0x6665_7272_756d;

/// Applies every migration not yet applied, each set in one transaction; returns how many ran.
pub async fn run(db: &Db, sets: &[&'static MigrationSet]) -> Result<usize, Error> {
    let mut applied = 0;
    let backend = db.backend();
    for &set in sets {
        applied += db.transaction(Isolation::ReadCommitted, move |tx| Box::pin(apply(tx, backend, set))).await?;
    }
    Ok(applied)
}

async fn apply(tx: &mut Tx<'_>, backend: Backend, set: &'static MigrationSet) -> Result<usize, Error> {
    if backend == Backend::Postgres {
        // Held to the end of the transaction: replicas that start together wait here in turn.
        tx.execute(query("SELECT pg_advisory_xact_lock($1)").bind(PG_LOCK_KEY)).await?;
    }
    tx.execute_script(CREATE_LEDGER).await?;
    let done: Vec<i64> = tx.fetch_all(query(APPLIED).bind(set.module)).await?;
    let mut count = 0;
    for migration in set.migrations.iter().filter(|m| !done.contains(&m.version)) {
        let script = match backend {
            Backend::Sqlite => migration.sqlite,
            Backend::Postgres => migration.postgres,
        };
        tx.execute_script(script).await?;
        let at = crate::time::to_rfc3339(&crate::time::now());
        tx.execute(query(RECORD).bind(set.module).bind(migration.version).bind(migration.name).bind(at)).await?;
        tracing::info!(module = set.module, version = migration.version, name = migration.name, "migration applied");
        count += 1;
    }
    Ok(count)
}
