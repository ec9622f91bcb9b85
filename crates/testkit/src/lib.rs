//! Test support for every Ferrum crate (dev-dependency only): a fresh database per test on
//! SQLite or PostgreSQL, the real router served on a real socket, tokens, and a bare HTTP/1.1
//! client for what a full client hides.
//!
//! PostgreSQL tests run when `FERRUM_TEST_DATABASE_URL` names a server, Redis tests when
//! `FERRUM_TEST_REDIS_URL` does; under CI (`CI` set) a missing URL fails the run instead of
//! skipping, so neither suite can go quiet.
#![expect(clippy::expect_used, reason = "test support fails loudly by design")]

mod app;
mod db;
mod gate;
mod raw;
pub mod routes;

pub use app::{TEST_SIGNING_KEY, TestApp, test_auth_config};
pub use db::{Backend, TestDb, postgres_enabled, redis_url};
pub use gate::Gate;
pub use raw::{RawAnswer, RawConnection};

/// Runs each named `async fn(Backend)` twice: `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::postgres_enabled() {
                        super::$name($crate::Backend::Postgres).await
                    }
                }
            )*
        }
    };
}
