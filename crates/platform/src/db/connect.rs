//! Connecting at startup with exponential backoff (SPEC 1.3): 0.5 s first wait, x1.5, at most
//! 60 s between tries, give up after 15 minutes. The caller races it against the stop signal.

use std::{sync::Arc, time::Duration};

use url::Url;

use super::{Db, Error, PgDb, SqliteDb, sqlite::Location};

/// The retry schedule.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// Wait after the first failure.
    pub first: Duration,
    /// Growth factor of the wait.
    pub factor: f64,
    /// Longest wait between two tries.
    pub max_wait: Duration,
    /// Give up when this much time has passed.
    pub give_up_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            first: Duration::from_millis(500),
            factor: 1.5,
            max_wait: Duration::from_secs(60),
            give_up_after: Duration::from_secs(15 * 60),
        }
    }
}

/// Connects once. `acquire_timeout` bounds how long a request waits for a pooled connection,
/// so that requests fail with 503 within the request deadline when the database is gone.
pub async fn connect(url: &Url, max_connections: u32, acquire_timeout: Duration) -> Result<Db, Error> {
    match url.scheme() {
        "sqlite" => {
            let location = Location::from_url(url);
            let db = tokio::task::spawn_blocking(move || SqliteDb::open(&location))
                .await
                .map_err(|e| Error::Other(e.to_string().into()))??;
            Ok(Db::Sqlite(Arc::new(db)))
        }
        _ => Ok(Db::Postgres(PgDb::connect(url, max_connections, acquire_timeout).await?)),
    }
}

/// Connects, retrying on failure by `backoff`; each failure is logged with the next wait.
pub async fn connect_with_backoff(
    url: &Url,
    max_connections: u32,
    acquire_timeout: Duration,
    backoff: Backoff,
) -> Result<Db, Error> {
    let started = tokio::time::Instant::now();
    let mut wait = backoff.first;
    let mut attempt = 1_u32;
    loop {
        match connect(url, max_connections, acquire_timeout).await {
            Ok(db) => return Ok(db),
            Err(error) if started.elapsed() + wait > backoff.give_up_after => {
                tracing::error!(%error, attempt, "giving up connecting to the database");
                return Err(error);
            }
            Err(error) => {
                tracing::warn!(%error, attempt, retry_in_ms = wait.as_millis() as u64, "database not reachable yet");
                tokio::time::sleep(wait).await;
                wait = wait.mul_f64(backoff.factor).min(backoff.max_wait);
                attempt += 1;
            }
        }
    }
}
