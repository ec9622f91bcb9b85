//! The server's own admin routes, mounted with the modules' under `/admin` by
//! [`ferrum_platform::admin::mount`] (so behind scope `admin`) when `--admin` is on.

use axum::extract::State;
use ferrum_platform::http::Json;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{Config, settings::ConfigReport};

/// `GET /admin/config`, with its part of the OpenAPI document.
pub fn routes(config: &Config) -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(effective_config)).with_state(ConfigReport::of(config))
}

/// The effective configuration, secrets masked.
///
/// Exactly what `ferrum config` prints for this server, as JSON: every setting by its
/// environment variable, its value as given (the JWT key and database password as `********`,
/// URL passwords masked) and where it came from (`flag`, `environment`, `default` or `unset`),
/// then the database URL in use.
#[utoipa::path(get, path = "/config", tag = "admin",
    responses((status = 200, description = "The effective configuration.", body = ConfigReport)))]
async fn effective_config(State(report): State<ConfigReport>) -> Json<ConfigReport> {
    Json(report)
}
