//! A fresh, migrated database per test, removed when the test ends.

use std::time::Duration;

use ferrum_platform::{
    Db,
    db::{self, migrate::MigrationSet},
};
use url::Url;

/// The database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A new database on the server named by `FERRUM_TEST_DATABASE_URL`.
    Postgres,
}

const POSTGRES_URL_VAR: &str = "FERRUM_TEST_DATABASE_URL";

/// True when PostgreSQL tests should run. Outside CI, a missing URL skips them with a note;
/// under CI it is a failure.
pub fn postgres_enabled() -> bool {
    if std::env::var_os(POSTGRES_URL_VAR).is_some() {
        return true;
    }
    assert!(std::env::var_os("CI").is_none(), "{POSTGRES_URL_VAR} is not set: CI must run the PostgreSQL suite");
    eprintln!("note: {POSTGRES_URL_VAR} is not set, skipping a PostgreSQL test");
    false
}

const REDIS_URL_VAR: &str = "FERRUM_TEST_REDIS_URL";

/// The Redis to test against, from `FERRUM_TEST_REDIS_URL`. Outside CI, a missing URL skips
/// the test with a note; under CI it is a failure.
pub fn redis_url() -> Option<String> {
    if let Ok(url) = std::env::var(REDIS_URL_VAR) {
        return Some(url);
    }
    assert!(std::env::var_os("CI").is_none(), "{REDIS_URL_VAR} is not set: CI must run the Redis tests");
    eprintln!("note: {REDIS_URL_VAR} is not set, skipping a Redis test");
    None
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDb {
    /// The handle the app uses.
    pub db: Db,
    /// Its URL (for a second server on the same database).
    pub url: Url,
    _dir: Option<tempfile::TempDir>,
    drop_postgres: Option<(Url, String)>,
}

impl TestDb {
    /// Creates and migrates a fresh database.
    pub async fn new(backend: Backend, migrations: &[&'static MigrationSet]) -> Self {
        let (url, dir, drop_postgres) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = Url::parse(&format!("sqlite://{}", dir.path().join("test.db").display())).expect("url");
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let admin = std::env::var(POSTGRES_URL_VAR).expect("FERRUM_TEST_DATABASE_URL");
                let admin = Url::parse(&admin).expect("FERRUM_TEST_DATABASE_URL is a URL");
                let name = format!("ferrum_test_{}", uuid::Uuid::new_v4().simple());
                let server = connect_admin(&admin).await;
                server.execute(db::query(format!("CREATE DATABASE {name}"))).await.expect("create test database");
                server.close().await;
                let mut url = admin.clone();
                url.set_path(&name);
                (url, None, Some((admin, name)))
            }
        };
        let db = db::connect(&url, 8, Duration::from_secs(5)).await.expect("connect to the test database");
        db::migrate::run(&db, migrations).await.expect("migrate the test database");
        Self { db, url, _dir: dir, drop_postgres }
    }
}

async fn connect_admin(url: &Url) -> Db {
    db::connect(url, 1, Duration::from_secs(10))
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {POSTGRES_URL_VAR} is unreachable: {e}"))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.drop_postgres.take() else { return };
        // Drop runs outside any runtime we may block: use a thread with its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                let server = connect_admin(&admin).await;
                let _ = server.execute(db::query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
                server.close().await;
            });
        });
        let _ = dropped.join();
    }
}
