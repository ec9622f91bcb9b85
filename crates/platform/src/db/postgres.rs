//! PostgreSQL through tokio-postgres, pooled by deadpool, every statement prepared once per
//! connection and cached. Chosen over sqlx by measurement (issue 17, `bench/pg.sh`): plain axum
//! served the same point read about twice as fast through this driver as through sqlx, and
//! Ferrum's own GET went from 0.41x to 0.69x of that reference when it moved (BENCHMARKS.md).

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use tokio_postgres::error::SqlState;
use tokio_postgres_rustls::MakeRustlsConnect;
use url::Url;

use super::{Error, tls};

/// PostgreSQL acquire timeouts in this process (a process normally serves one pool).
static POOL_TIMEOUTS: AtomicU64 = AtomicU64::new(0);

/// How many times, in this process, a request gave up waiting for a pooled PostgreSQL
/// connection.
pub fn pool_timeouts() -> u64 {
    POOL_TIMEOUTS.load(Ordering::Relaxed)
}

/// A pool of PostgreSQL connections.
#[derive(Clone, Debug)]
pub struct PgDb {
    pub(super) pool: Pool,
}

impl PgDb {
    /// Opens a pool of at most `max_connections` and checks that the server answers.
    /// `acquire_timeout` bounds how long a request waits for a connection (or for a new one to
    /// be made), so that requests fail with 503 within the request deadline when the database
    /// is gone.
    pub async fn connect(url: &Url, max_connections: u32, acquire_timeout: Duration) -> Result<Self, Error> {
        let (config, tls) = tls::client_config(url)?;
        // Fast recycling: a connection whose session ended is dropped (its task saw the close);
        // no test query per checkout, which would be one more round trip per request.
        let manager = Manager::from_config(
            config,
            MakeRustlsConnect::new(tls),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(max_connections as usize)
            .wait_timeout(Some(acquire_timeout))
            .create_timeout(Some(acquire_timeout))
            .recycle_timeout(Some(acquire_timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|e| Error::Other(format!("cannot build the PostgreSQL pool: {e}").into()))?;
        drop(pool.get().await?);
        Ok(Self { pool })
    }

    /// Open connections, idle connections and the pool's size.
    pub(super) fn status(&self) -> deadpool_postgres::Status {
        self.pool.status()
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(error: tokio_postgres::Error) -> Self {
        if let Some(code) = error.code() {
            return match code {
                c if *c == SqlState::UNIQUE_VIOLATION => Error::UniqueViolation,
                c if *c == SqlState::FOREIGN_KEY_VIOLATION => Error::ForeignKeyViolation,
                // Class 08 is "connection exception", 57P0x "operator intervention" (shutdown,
                // restart), 53xxx "insufficient resources", 40xxx a serialization failure or
                // deadlock: all mean "try again".
                c if ["08", "57P", "53", "40"].iter().any(|class| c.code().starts_with(class)) => {
                    Error::Unavailable(describe(&error))
                }
                _ => Error::Other(describe(&error)),
            };
        }
        let io = std::error::Error::source(&error).is_some_and(|source| source.is::<std::io::Error>());
        if error.is_closed() || io { Error::Unavailable(describe(&error)) } else { Error::Other(describe(&error)) }
    }
}

/// The error with its causes: tokio-postgres's own message names only the kind ("db error",
/// "error performing TLS handshake"), the reason (the server's message, the certificate's
/// fault) is in its sources, and an operator reading the log needs it.
fn describe(error: &tokio_postgres::Error) -> Arc<str> {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.into()
}

impl From<PoolError> for Error {
    fn from(error: PoolError) -> Self {
        match error {
            PoolError::Backend(error) => error.into(),
            PoolError::Timeout(_) => {
                POOL_TIMEOUTS.fetch_add(1, Ordering::Relaxed);
                Error::Unavailable("timed out waiting for a database connection".into())
            }
            PoolError::Closed => Error::Unavailable("the database pool is closed".into()),
            other => Error::Other(other.to_string().into()),
        }
    }
}
