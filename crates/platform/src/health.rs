//! `/health`, `/health/live` and `/health/ready` (SPEC 1.6), no auth.
//!
//! Live answers whenever the process serves; ready and health ask the database. While the
//! server is still connecting at startup, [`starting_routes`] answers in their place.

use std::time::Duration;

use axum::{
    extract::State,
    http::{HeaderValue, StatusCode, header},
    response::IntoResponse,
    routing::{any, get},
};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    BuildInfo, Db,
    http::{Json, Problem, Routes},
};

/// How long a readiness probe waits for the database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The original Ferrum's health report.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "up", "message": "OK", "version": "0.1.0", "build_date": "2026-01-02",
    "checks": {"database": "up"}}))]
struct Health {
    /// `up`, or `down` when the database does not answer.
    status: &'static str,
    /// `OK`, or `Error`.
    message: &'static str,
    /// The server's version (`git describe`, else the crate version).
    version: &'static str,
    /// The date the binary was built.
    build_date: &'static str,
    /// What was checked.
    checks: Checks,
}

/// The checks behind a health report.
#[derive(Serialize, ToSchema)]
struct Checks {
    /// `up` or `down`.
    database: &'static str,
}

/// A probe's answer.
#[derive(Serialize, ToSchema)]
struct Status {
    /// `up` (live), `ready`, `unavailable` or `starting`.
    status: &'static str,
}

#[derive(OpenApi)]
#[openapi(tags((name = "operations",
    description = "Health and readiness probes for load balancers and orchestrators. No authentication.")))]
struct HealthApi;

/// The health routes of a serving process, with their part of the OpenAPI document.
pub fn routes(db: Db, build: BuildInfo) -> OpenApiRouter {
    OpenApiRouter::with_openapi(HealthApi::openapi())
        .routes(routes!(health))
        .routes(routes!(live))
        .routes(routes!(ready))
        .with_state((db, build))
}

/// The routes while the database is not connected yet: live, not ready, and 503 for the rest.
pub fn starting_routes(build: BuildInfo) -> Routes {
    Routes::from_pairs([
        ("/health", get(move || async move { report(build, false) })),
        ("/health/live", get(live)),
        ("/health/ready", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, Json(Status { status: "starting" })) })),
        ("/", any(starting)),
        ("/{*rest}", any(starting)),
    ])
}

async fn starting() -> Problem {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the server is starting: the database is not reachable yet")
        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"))
}

/// Liveness: 200 whenever the process serves, database or not.
#[utoipa::path(get, path = "/health/live", tag = "operations",
    responses((status = 200, description = "The process serves.", body = Status, example = json!({"status": "up"}))))]
async fn live() -> Json<Status> {
    Json(Status { status: "up" })
}

async fn database_up(db: &Db) -> bool {
    matches!(tokio::time::timeout(PROBE_TIMEOUT, db.ping()).await, Ok(Ok(())))
}

/// Readiness: 200 only when the database answers and migrations are applied.
#[utoipa::path(get, path = "/health/ready", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve.", body = Status, example = json!({"status": "ready"})),
        (status = 503, description = "The database does not answer, or the server is still starting.", body = Status,
            example = json!({"status": "unavailable"})),
    ))]
async fn ready(State((db, _)): State<(Db, BuildInfo)>) -> impl IntoResponse {
    if database_up(&db).await {
        (StatusCode::OK, Json(Status { status: "ready" }))
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(Status { status: "unavailable" }))
    }
}

/// The original Ferrum's health report, with the version and the database check.
///
/// 503, not the original's 500, when the database is down: that is what load balancers expect.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "Up.", body = Health),
        (status = 503, description = "The database does not answer.", body = Health,
            example = json!({"status": "down", "message": "Error", "version": "0.1.0", "build_date": "2026-01-02",
                "checks": {"database": "down"}})),
    ))]
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
