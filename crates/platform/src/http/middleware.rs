//! The one place the layer stack is assembled (STYLE R7). From the outside in: compression
//! (outermost, so nothing below it rewrites an encoded body), `observe` (request id, span,
//! access log, request metrics, problem bodies for bare errors), CORS, rate limit, catch-panic,
//! request timeout, body limit.
//! Config-switched layers cost nothing when off. Costs are measured in BENCHMARKS.md.

use std::{any::Any, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, Method, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use http_body_util::BodyExt as _;
use tokio::time::Instant;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    cors::{AllowOrigin, CorsLayer},
    limit::RequestBodyLimitLayer,
};
use tracing::Instrument;

use super::{
    problem::{InternalError, Problem},
    rate_limit::{self, RateLimiter},
};
use crate::{config::HttpConfig, metrics::Metrics};

/// The request id header, taken from the client when sound, else generated (SPEC 1.7).
pub const REQUEST_ID: &str = "x-request-id";

/// The request's id, available to handlers as an extension.
#[derive(Clone, Debug)]
pub struct RequestId(pub HeaderValue);

/// What the stack needs to know.
#[derive(Clone, Debug)]
pub struct HttpSettings {
    /// Whole-request deadline.
    pub request_timeout: Duration,
    /// Request body cap.
    pub max_body_bytes: usize,
    /// gzip, br or zstd responses when the client asks.
    pub compress: bool,
    /// Origins allowed by CORS; CORS is off when `None`.
    pub cors: Option<CorsOrigins>,
    /// Per-client limits; off when `None`.
    pub rate_limiter: Option<Arc<RateLimiter>>,
    /// Where request metrics go; none are recorded when `None`.
    pub metrics: Option<Arc<Metrics>>,
}

impl HttpSettings {
    /// A deadline and a body cap, compression on, CORS, rate limits and metrics off.
    pub fn new(request_timeout: Duration, max_body_bytes: usize) -> Self {
        Self { request_timeout, max_body_bytes, compress: true, cors: None, rate_limiter: None, metrics: None }
    }
}

impl From<&HttpConfig> for HttpSettings {
    fn from(config: &HttpConfig) -> Self {
        let cors = match config.cors_origins.as_slice() {
            [] => None,
            origins if origins.iter().any(|o| o == "*") => Some(CorsOrigins::Any),
            origins => Some(CorsOrigins::List(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect())),
        };
        Self {
            request_timeout: config.request_timeout,
            max_body_bytes: config.max_body_bytes,
            compress: config.compress,
            cors,
            rate_limiter: None,
            metrics: None,
        }
    }
}

/// Which origins may call the API from a browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// `*`: any origin (tokens travel in a header, never in cookies, so this is safe to offer).
    Any,
    /// Exactly these origins.
    List(Vec<HeaderValue>),
}

/// Gives `router` the JSON 404 fallback and wraps it in the platform's layers.
pub fn apply(router: Router, settings: &HttpSettings) -> Router {
    let mut router = router
        .fallback(not_found)
        // Checks Content-Length before reading and caps chunked bodies while they are read;
        // axum's own 2 MB default is then switched off so the configured cap is the only one.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(settings.max_body_bytes))
        .layer(middleware::from_fn_with_state(settings.request_timeout, deadline))
        .layer(CatchPanicLayer::custom(panic_response));
    // Inside CORS, so preflight requests are answered without counting against anyone.
    if let Some(limiter) = &settings.rate_limiter {
        router = router.layer(middleware::from_fn_with_state(limiter.clone(), rate_limit::limit));
    }
    if let Some(origins) = &settings.cors {
        router = router.layer(cors_layer(origins));
    }
    // Metrics are recorded here rather than in a layer of their own: `observe` already has the
    // method, route template, status and start time, and every `from_fn` layer costs a boxed
    // future and a clone per request (BENCHMARKS.md).
    router = router.layer(middleware::from_fn_with_state(settings.metrics.clone(), observe));
    if settings.compress {
        router = router.layer(CompressionLayer::new());
    }
    router
}

/// CORS for every route (SPEC 1.7): preflight answered before auth, only the configured
/// origins, `Authorization` and `Content-Type` (and our conditional headers) allowed, `Link`
/// and `Location` (and friends) exposed to scripts.
fn cors_layer(origins: &CorsOrigins) -> CorsLayer {
    let allow_origin = match origins {
        CorsOrigins::Any => AllowOrigin::any(),
        CorsOrigins::List(list) => AllowOrigin::list(list.iter().cloned()),
    };
    CorsLayer::new()
        .allow_origin(allow_origin)
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::IF_MATCH,
            HeaderName::from_static("idempotency-key"),
            HeaderName::from_static(REQUEST_ID),
        ])
        .expose_headers([
            header::LINK,
            header::LOCATION,
            header::ETAG,
            header::RETRY_AFTER,
            HeaderName::from_static(REQUEST_ID),
        ])
        .max_age(Duration::from_secs(3600))
}

/// The JSON 404 every router ends with.
async fn not_found() -> Problem {
    Problem::not_found("no such route")
}

async fn deadline(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    // A CPU profile runs as long as it was asked to (bounded by its own handler).
    if request.uri().path().starts_with(crate::profiling::PREFIX) {
        return next.run(request).await;
    }
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Problem::new(
            StatusCode::GATEWAY_TIMEOUT,
            format!("the request did not finish within {}", humantime::format_duration(timeout)),
        )
        .into_response(),
    }
}

fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Problem::internal(format!("handler panicked: {message}")).into_response()
}

/// Request id, a span carrying it, one access-log line and the request metrics per request.
/// Error statuses that come from the router or a layer with no body (405, for one) get a
/// problem body here, so every error is JSON without each source having to remember.
async fn observe(State(metrics): State<Option<Arc<Metrics>>>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let _in_flight = metrics.as_deref().map(Metrics::start_request);
    let request_id =
        request.headers().get(REQUEST_ID).filter(|v| is_sound_id(v.as_bytes())).cloned().unwrap_or_else(new_request_id);
    request.extensions_mut().insert(RequestId(request_id.clone()));
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let path = request.uri().path().to_owned();
    let client =
        request.extensions().get::<ConnectInfo<SocketAddr>>().map_or_else(|| "-".to_owned(), |c| c.0.ip().to_string());
    let id = request_id.to_str().unwrap_or("");
    let span = tracing::info_span!("request", request_id = id);

    let mut response = next.run(request).instrument(span).await;
    if response.status().is_client_error() || response.status().is_server_error() {
        response = with_problem_body(response).await;
    }
    response.headers_mut().insert(REQUEST_ID, request_id.clone());

    let elapsed = started.elapsed();
    if let Some(metrics) = &metrics {
        metrics.record_request(&method, route.as_deref(), response.status(), elapsed);
    }
    let status = response.status().as_u16();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let bytes = http_body::Body::size_hint(response.body()).exact();
    let route = route.as_deref().unwrap_or("-");
    // The access line carries the request id itself; logging it outside the span saves
    // serialising the id twice on the hottest log line.
    match response.extensions().get::<InternalError>() {
        Some(InternalError(cause)) => tracing::error!(
            target: "ferrum::access", request_id = id, %method, route, path, status, latency_ms, bytes, client, error = &**cause,
            "request failed"
        ),
        None => tracing::info!(
            target: "ferrum::access", request_id = id, %method, route, path, status, latency_ms, bytes, client, "request"
        ),
    }
    response
}

/// Gives an error response that has no JSON body a problem body for its status, keeping its
/// headers (`Allow` on a 405, for one).
async fn with_problem_body(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.contains("json"));
    if is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let detail = match String::from_utf8_lossy(&text).trim() {
        "" => parts.status.canonical_reason().unwrap_or("error").to_lowercase(),
        text => text.to_owned(),
    };
    let problem = Problem::new(parts.status, detail).into_response();
    let (problem_parts, problem_body) = problem.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.extend(problem_parts.headers);
    Response::from_parts(parts, Body::new(problem_body))
}

fn is_sound_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4();
    let mut buffer = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buffer)).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tower::ServiceExt;

    fn app() -> Router {
        let router = Router::new().route("/ok", get(|| async { "ok" })).route("/panic", get(boom)).route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        );
        apply(router, &HttpSettings::new(Duration::from_millis(100), 16))
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    async fn call(method: &str, uri: &str, id: Option<&str>) -> Response {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(id) = id {
            request = request.header(REQUEST_ID, id);
        }
        app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn json(response: Response) -> serde_json::Value {
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }

    #[tokio::test]
    async fn keeps_a_sound_request_id_and_replaces_a_bad_one() {
        let kept = call("GET", "/ok", Some("abc-123")).await;
        assert_eq!(kept.headers()[REQUEST_ID], "abc-123");
        let replaced = call("GET", "/ok", Some("has space")).await;
        assert_eq!(replaced.headers()[REQUEST_ID].len(), 36);
    }

    #[tokio::test]
    async fn wrong_method_is_a_json_405_with_allow() {
        let response = call("DELETE", "/ok", None).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert!(response.headers()[header::ALLOW].to_str().unwrap().contains("GET"));
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(json(response).await["status"], 405);
    }

    #[tokio::test]
    async fn panics_become_500_and_timeouts_504() {
        let panicked = call("GET", "/panic", None).await;
        assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json(panicked).await["detail"], "internal error");
        let slow = call("GET", "/slow", None).await;
        assert_eq!(slow.status(), StatusCode::GATEWAY_TIMEOUT);
        let unknown = call("GET", "/nope", None).await;
        assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
        assert_eq!(json(unknown).await["title"], "Not Found");
    }
}
