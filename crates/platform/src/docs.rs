//! `GET /openapi.json` (SPEC 1.6), no auth.
//!
//! [`mount`] merges the enabled modules' fragments into the platform's frame and serves the
//! result.

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{BuildInfo, http::Problem, openapi};

#[derive(OpenApi)]
#[openapi(tags((name = "docs", description = "This document. No authentication.")))]
struct DocsApi;

#[derive(Clone)]
struct DocsState {
    /// The serialised document; `None` if serialising failed (logged at startup).
    document: Option<Bytes>,
}

/// Serves `api` with the platform's frame: the router with `/openapi.json` added.
pub fn mount(api: OpenApiRouter, build: BuildInfo) -> Router {
    let (router, fragments) = api.split_for_parts();
    let (docs, docs_paths) =
        OpenApiRouter::<DocsState>::with_openapi(DocsApi::openapi()).routes(routes!(serve_openapi)).split_for_parts();
    let mut doc = openapi::base(build);
    doc.merge(fragments);
    doc.merge(docs_paths);
    let document = match serde_json::to_vec(&doc) {
        Ok(json) => Some(Bytes::from(json)),
        Err(error) => {
            tracing::error!(%error, "cannot serialise the OpenAPI document");
            None
        }
    };
    router.merge(docs.with_state(DocsState { document }))
}

/// The OpenAPI 3.1 document of this server, generated from the code.
///
/// It covers exactly the routes this process mounts, with the modules it was started with.
#[utoipa::path(
    get, path = "/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI 3.1 document.", body = serde_json::Value))
)]
async fn serve_openapi(State(state): State<DocsState>) -> Response {
    match state.document {
        Some(json) => ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response(),
        None => Problem::internal("the OpenAPI document could not be serialised").into_response(),
    }
}
