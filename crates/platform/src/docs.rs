//! `GET /openapi.json` and `GET /docs` (SPEC 1.6), no auth.
//!
//! [`mount`] merges the enabled modules' fragments into the platform's frame and serves the
//! result. `/docs` is Swagger UI served from the binary: its files come from a crates.io package
//! (`utoipa-swagger-ui` with its `vendored` feature) and are embedded at build time, so neither
//! the build nor the browser fetches anything from the internet.

use std::{borrow::Cow, sync::Arc};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use utoipa::{
    IntoParams, OpenApi,
    openapi::{
        ObjectBuilder, Type,
        path::{Parameter, ParameterBuilder, ParameterIn},
    },
};
use utoipa_axum::{router::OpenApiRouter, routes};
use utoipa_swagger_ui::Config;

use crate::{
    BuildInfo,
    http::{Path, Problem, RouteTemplates, Routes},
    openapi::{self, NotFound},
};

/// The page at `/docs`; it loads its files from `/docs/{file}`.
const PAGE: &str = include_str!("../assets/docs.html");
/// Starts Swagger UI on this server's document.
const STARTER: &str = include_str!("../assets/ferrum-docs.js");
/// The starter's name under `/docs/`.
const STARTER_NAME: &str = "ferrum-docs.js";
/// The Swagger UI files the page loads; nothing else of the package is served.
const SWAGGER_FILES: [&str; 3] = ["swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png"];

#[derive(OpenApi)]
#[openapi(tags((name = "docs", description = "This document and its browsable reference. No authentication.")))]
struct DocsApi;

#[derive(Clone)]
struct DocsState {
    /// The serialised document; `None` if serialising failed (logged at startup).
    document: Option<Bytes>,
    swagger: Arc<Config<'static>>,
}

/// Serves `api` with the platform's frame: the router with `/openapi.json` and `/docs` added,
/// and the templates of every route the document lists.
pub fn mount(api: OpenApiRouter, build: BuildInfo) -> Routes {
    let (router, fragments) = api.split_for_parts();
    let (docs, docs_paths) = OpenApiRouter::<DocsState>::with_openapi(DocsApi::openapi())
        .routes(routes!(serve_openapi))
        .routes(routes!(serve_docs))
        .routes(routes!(serve_docs_file))
        .split_for_parts();
    let mut doc = openapi::base(build);
    doc.merge(fragments);
    doc.merge(docs_paths);
    openapi::add_rate_limit_responses(&mut doc);
    let document = match serde_json::to_vec(&doc) {
        Ok(json) => Some(Bytes::from(json)),
        Err(error) => {
            tracing::error!(%error, "cannot serialise the OpenAPI document");
            None
        }
    };
    let router = router.merge(docs.with_state(DocsState { document, swagger: Arc::new(Config::default()) }));
    Routes { router, templates: RouteTemplates::of_document(&doc) }
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

/// The browsable API reference (Swagger UI), served entirely by this server.
#[utoipa::path(
    get, path = "/docs", tag = "docs",
    responses((status = 200, description = "An HTML page rendering `/openapi.json`.", content_type = "text/html", body = String))
)]
async fn serve_docs() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"))], PAGE).into_response()
}

/// The `{file}` of `/docs/{file}`: in the document, an enum of exactly the files served, built
/// from the same lists the handler serves from.
struct DocsFile;

impl IntoParams for DocsFile {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let files = std::iter::once(STARTER_NAME).chain(SWAGGER_FILES);
        let schema = ObjectBuilder::new().schema_type(Type::String).enum_values(Some(files)).build();
        let parameter = ParameterBuilder::new()
            .name("file")
            .parameter_in(ParameterIn::Path)
            .required(utoipa::openapi::Required::True)
            .description(Some("One of the page's files; any other name is 404."))
            .schema(Some(schema));
        vec![parameter.build()]
    }
}

/// A script, stylesheet or icon of the reference page.
#[utoipa::path(
    get, path = "/docs/{file}", tag = "docs",
    params(DocsFile),
    responses(
        (status = 200, description = "The file, with its content type.",
            content((String = "text/javascript"), (String = "text/css"), (String = "image/png"))),
        (status = 404, response = NotFound),
    )
)]
async fn serve_docs_file(State(state): State<DocsState>, Path(file): Path<String>) -> Response {
    if file == STARTER_NAME {
        let javascript = HeaderValue::from_static("text/javascript; charset=utf-8");
        return ([(header::CONTENT_TYPE, javascript)], STARTER).into_response();
    }
    let embedded = SWAGGER_FILES
        .contains(&file.as_str())
        .then(|| utoipa_swagger_ui::serve(&file, state.swagger.clone()).ok().flatten())
        .flatten();
    match embedded.and_then(|f| HeaderValue::from_str(&f.content_type).ok().map(|ct| (ct, f.bytes))) {
        Some((content_type, bytes)) => {
            // The files are embedded in the binary: serve them without copying.
            let bytes = match bytes {
                Cow::Borrowed(bytes) => Bytes::from_static(bytes),
                Cow::Owned(bytes) => Bytes::from(bytes),
            };
            ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => Problem::not_found(format!("no file {file} in the docs")).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::{
        body::Body,
        http::{Request, StatusCode},
    };
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    async fn get(router: &axum::Router, path: &str) -> Response {
        router.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap()
    }

    /// Every file the document lists for `/docs/{file}` is served, with a content type it lists
    /// (the parameter was a free string, which sent clients to 404s).
    #[tokio::test]
    async fn every_documented_file_is_served_as_documented() {
        let Routes { router, templates } =
            mount(OpenApiRouter::new(), BuildInfo { version: "test", build_date: "today" });
        assert_eq!(templates.iter().collect::<Vec<_>>(), ["/docs", "/docs/{file}", "/openapi.json"]);
        let body = get(&router, "/openapi.json").await.into_body().collect().await.unwrap().to_bytes();
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let operation = &doc["paths"]["/docs/{file}"]["get"];
        let files = operation["parameters"][0]["schema"]["enum"].as_array().unwrap();
        assert_eq!(files.len(), SWAGGER_FILES.len() + 1);
        let types: Vec<&String> = operation["responses"]["200"]["content"].as_object().unwrap().keys().collect();
        for file in files.iter().map(|f| f.as_str().unwrap()) {
            let response = get(&router, &format!("/docs/{file}")).await;
            assert_eq!(response.status(), StatusCode::OK, "{file}");
            let content_type = response.headers()[header::CONTENT_TYPE].to_str().unwrap();
            let essence = content_type.split(';').next().unwrap();
            assert!(types.iter().any(|t| *t == essence), "{file} is served as {content_type}, not one of {types:?}");
        }
        assert_eq!(get(&router, "/docs/index.html").await.status(), StatusCode::NOT_FOUND);
    }
}
