//! `/health`, `/health/live` and `/health/ready` (SPEC 1.6), no auth.
//!
//! Live answers whenever the process serves; ready and health ask the database. While the
//! server is still connecting at startup, [`starting_routes`] answers in their place.

use std::time::Duration;

use axum::{
    Json, Router,
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::{any, get},
};
use serde::Serialize;

use crate::{BuildInfo, Db, http::Problem};

/// How long a readiness probe waits for the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct Health {
    status: &'static str,
    message: &'static str,
    version: &'static str,
    build_date: &'static str,
    checks: Checks,
}

#[derive(Serialize)]
struct Checks {
    database: &'static str,
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

/// The health routes of a serving process.
pub fn routes(db: Db, build: BuildInfo) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/health/live", get(live))
        .route("/health/ready", get(ready))
        .with_state((db, build))
}

/// The routes while the database is not connected yet: live, not ready, and 503 for the rest.
pub fn starting_routes(build: BuildInfo) -> Router {
    Router::new()
        .route("/health", get(move || async move { report(build, false) }))
        .route("/health/live", get(live))
        .route(
            "/health/ready",
            get(|| async { (StatusCode::SERVICE_UNAVAILABLE, Json(Status { status: "starting" })) }),
        )
        .route("/", any(starting))
        .route("/{*rest}", any(starting))
}

async fn starting() -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the server is starting: the database is not reachable yet")
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

async fn live() -> Json<Status> {
    Json(Status { status: "up" })
}

async fn database_up(db: &Db) -> bool {
    matches!(tokio::time::timeout(PROBE_TIMEOUT, db.ping()).await, Ok(Ok(())))
}

async fn ready(State((db, _)): State<(Db, BuildInfo)>) -> impl IntoResponse {
    if database_up(&db).await {
        (StatusCode::OK, Json(Status { status: "ready" }))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Status { status: "unavailable" }))
    }
}

async fn health(State((db, build)): State<(Db, BuildInfo)>) -> impl IntoResponse {
    report(build, database_up(&db).await)
}

fn report(build: BuildInfo, database_up: bool) -> impl IntoResponse {
    let (code, status, message, database) = if database_up {
        (StatusCode::OK, "up", "OK", "up")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down", "Error", "down")
    };
    let body =
        Health { status, message, version: build.version, build_date: build.build_date, checks: Checks { database } };
    (code, Json(body))
}
