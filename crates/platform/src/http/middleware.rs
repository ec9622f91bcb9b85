//! The one place the platform's request handling is assembled (STYLE R7): [`apply`] puts the
//! router behind the [`Edge`], which does, in order, the request id, CORS, the rate limit,
//! compression (only for requests that ask for an encoding) and the guard (body cap, request
//! deadline, panic net, problem bodies for bare errors; under compression, so nothing rewrites
//! an encoded body), then the access log and the request metrics. Config-switched parts cost
//! nothing when off. Costs are measured in BENCHMARKS.md.

use std::{sync::Arc, time::Duration};

use axum::http::HeaderValue;

pub use super::observe::REQUEST_ID;
use super::{
    cors::CorsPolicy,
    edge::{Edge, EdgeSettings},
    limits::RouteLimits,
    problem::Problem,
    rate_limit::RateLimiter,
    routes::Routes,
};
use crate::{config::HttpConfig, metrics::Metrics};

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

/// Gives the router the JSON 404 fallback and puts it behind the platform's [`Edge`]: request
/// id, CORS, rate limit, access log and metrics; compression for requests that ask for an
/// encoding; the guard (body cap, deadline, panic net, problem bodies). Serve it with
/// [`Edge::into_make_service`].
///
/// The edge wraps the router from the outside rather than through `Router::layer`, which
/// wraps each route in a second boxed routing level, cloned and called on every request
/// ([`Routes`] says what that costs and how the route template is found instead).
pub fn apply(routes: Routes, settings: &HttpSettings) -> Edge {
    let Routes { router, mut templates } = routes;
    let limits = RouteLimits { max_body_bytes: settings.max_body_bytes, request_timeout: settings.request_timeout };
    templates.at_least(limits);
    let edge = EdgeSettings {
        templates,
        metrics: settings.metrics.clone(),
        cors: settings.cors.clone().map(CorsPolicy::new),
        limiter: settings.rate_limiter.clone(),
        compress: settings.compress,
        limits,
    };
    Edge::new(router.fallback(not_found), edge)
}

/// The JSON 404 every router ends with.
async fn not_found() -> Problem {
    Problem::not_found("no such route")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{
        body::{Body, Bytes},
        extract::Request,
        http::{StatusCode, header},
        response::Response,
        routing::{get, post},
    };
    use http_body_util::BodyExt as _;
    use tower::ServiceExt;

    fn routes() -> Routes {
        Routes::from_pairs([
            ("/ok", get(|| async { "ok" })),
            ("/panic", get(boom)),
            (
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    "late"
                }),
            ),
            (
                // Busy before its first pause for most of the 100 ms deadline, then waits.
                "/busy-then-slow",
                get(|| async {
                    std::thread::sleep(Duration::from_millis(80));
                    tokio::time::sleep(Duration::from_millis(60)).await;
                    "late"
                }),
            ),
            ("/echo", post(|body: Bytes| async move { body })),
            ("/big", get(|| async { "many words ".repeat(200) })),
        ])
    }

    fn app() -> Edge {
        apply(routes(), &HttpSettings::new(Duration::from_millis(100), 16))
    }

    async fn boom() -> &'static str {
        panic!("boom")
    }

    async fn call(method: &str, uri: &str, id: Option<&str>) -> Response {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(id) = id {
            request = request.header(&REQUEST_ID, id);
        }
        app().oneshot(request.body(Body::empty()).unwrap()).await.unwrap()
    }

    async fn send(app: Edge, request: axum::http::request::Builder, body: Body) -> Response {
        app.oneshot(request.body(body).unwrap()).await.unwrap()
    }

    async fn json(response: Response) -> serde_json::Value {
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap()
    }

    #[tokio::test]
    async fn keeps_a_sound_request_id_and_replaces_a_bad_one() {
        let kept = call("GET", "/ok", Some("abc-123")).await;
        assert_eq!(kept.headers()[&REQUEST_ID], "abc-123");
        let replaced = call("GET", "/ok", Some("has space")).await;
        assert_eq!(replaced.headers()[&REQUEST_ID].len(), 36);
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

    #[tokio::test]
    async fn the_deadline_counts_from_the_request_s_arrival() {
        // 80 ms busy and 60 ms waiting: over the 100 ms deadline, though the wait alone is not.
        assert_eq!(call("GET", "/busy-then-slow", None).await.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn grpc_calls_are_left_to_their_own_deadline() {
        // A gRPC call always carries its message frames.
        let grpc = Request::get("/slow").header(header::CONTENT_TYPE, "application/grpc");
        let response = send(app(), grpc, Body::from("frame")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let json = Request::get("/slow").header(header::CONTENT_TYPE, "application/json");
        assert_eq!(send(app(), json, Body::empty()).await.status(), StatusCode::GATEWAY_TIMEOUT);
    }

    #[tokio::test]
    async fn bodies_over_the_cap_are_413_declared_or_streamed() {
        let declared = Request::post("/echo").header(header::CONTENT_LENGTH, "17");
        let response = send(app(), declared, Body::from("x".repeat(17))).await;
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(json(response).await["status"], 413);
        // No length declared: the cap bites while the body is read.
        let chunks = futures_util::stream::iter(["0123456789", "0123456789"].map(Ok::<_, std::io::Error>));
        let streamed = send(app(), Request::post("/echo"), Body::from_stream(chunks)).await;
        assert_eq!(streamed.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let small = send(app(), Request::post("/echo"), Body::from("0123456789abcdef")).await;
        assert_eq!(small.status(), StatusCode::OK);
        assert_eq!(small.into_body().collect().await.unwrap().to_bytes(), "0123456789abcdef");
    }

    #[tokio::test]
    async fn a_cap_above_axums_default_is_the_one_that_counts() {
        let app = apply(routes(), &HttpSettings::new(Duration::from_secs(5), 3 * 1024 * 1024));
        let body = "x".repeat(2 * 1024 * 1024 + 1);
        let response = send(app.clone(), Request::post("/echo"), Body::from(body.clone())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.into_body().collect().await.unwrap().to_bytes().len(), body.len());
        let over = send(app, Request::post("/echo"), Body::from("x".repeat(3 * 1024 * 1024 + 1))).await;
        assert_eq!(over.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn every_switch_on_or_off_serves_the_same_answers() {
        let keys = Arc::new(crate::auth::test_keys("k1"));
        let limit = super::super::rate_limit::parse_rate_limit("1-M").unwrap();
        let limiter = Arc::new(RateLimiter::local(limit, keys, None));
        let mut settings = HttpSettings::new(Duration::from_millis(100), 16);
        settings.compress = false;
        settings.cors = Some(CorsOrigins::List(vec![HeaderValue::from_static("https://app.example")]));
        settings.rate_limiter = Some(limiter);
        let app = apply(routes(), &settings);
        let first =
            send(app.clone(), Request::get("/ok").header(header::ORIGIN, "https://app.example"), Body::empty()).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(first.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(first.headers()["x-ratelimit-limit"], "1");
        let preflight = Request::options("/ok")
            .header(header::ORIGIN, "https://app.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET");
        assert_eq!(send(app.clone(), preflight, Body::empty()).await.status(), StatusCode::OK);
        let second = send(app, Request::get("/ok"), Body::empty()).await;
        assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(second.headers().contains_key(header::RETRY_AFTER));
        assert_eq!(json(second).await["status"], 429);
    }

    #[tokio::test]
    async fn compresses_only_when_asked() {
        let asked = send(app(), Request::get("/big").header(header::ACCEPT_ENCODING, "gzip"), Body::empty()).await;
        assert_eq!(asked.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(asked.headers().contains_key(&REQUEST_ID));
        let zipped = asked.into_body().collect().await.unwrap().to_bytes();
        assert!(zipped.len() < 200, "{} bytes", zipped.len());
        let plain = send(app(), Request::get("/big"), Body::empty()).await;
        assert!(!plain.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(plain.into_body().collect().await.unwrap().to_bytes().len(), 2200);
        let identity =
            send(app(), Request::get("/big").header(header::ACCEPT_ENCODING, "identity"), Body::empty()).await;
        assert!(!identity.headers().contains_key(header::CONTENT_ENCODING));
    }
}
