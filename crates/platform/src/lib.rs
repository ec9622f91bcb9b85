//! The Ferrum platform: everything the domain modules share and nothing about any domain.
//!
//! - [`admin`]: `/admin/*`, the operators' routes behind scope `admin` (SPEC 1.1 `--admin`)
//! - [`config`]: the platform's configuration sections (SPEC 1.1) and their value parsers
//! - [`telemetry`]: structured logs
//! - [`db`]: the database handle over SQLite or PostgreSQL, connection with backoff, migrations
//! - [`auth`]: JWT verification, scopes and token minting (SPEC 1.5)
//! - [`http`]: problem+json errors, extractors, the middleware stack, the app wrapper
//! - [`health`]: `/health`, `/health/live`, `/health/ready` (SPEC 1.6)
//! - [`metrics`]: Prometheus `/metrics` and the per-request series (SPEC 1.6)
//! - [`openapi`]: the shared parts of the OpenAPI document (frame, bearer scheme, problem responses)
//! - [`docs`]: `/openapi.json` and the `/docs` reference, served from the binary
//! - [`profiling`]: `/debug/pprof/profile`, CPU profiles on demand
//! - [`shutdown`]: the stop signal (SIGINT or SIGTERM)

pub mod admin;
pub mod auth;
pub mod config;
pub mod db;
pub mod docs;
pub mod health;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod profiling;
pub mod shutdown;
pub mod telemetry;
pub mod time;

use std::sync::Arc;

pub use config::BuildInfo;
pub use db::Db;

/// The shared context every module derives its own state from; cheap to clone.
#[derive(Clone, Debug)]
pub struct Platform {
    /// The database handle (SQLite or PostgreSQL).
    pub db: Db,
    /// JWT keys and token settings.
    pub auth: Arc<auth::AuthKeys>,
    /// Base of absolute links (`Location`, `Link`), never taken from the Host header.
    pub external_url: Arc<str>,
    /// Version and build date of the running binary.
    pub build: BuildInfo,
}
