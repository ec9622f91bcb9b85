//! The outermost platform service after compression: request id, a span carrying it, one
//! access-log line and the request metrics per request, and problem bodies for error answers
//! that arrive without one (405 from the router, for one).
//!
//! Written as a tower service rather than `axum::middleware::from_fn`: `from_fn` boxes the
//! inner service and its future again on every request, which was a measurable share of the
//! cost of `/health/live` (BENCHMARKS.md).

use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, MatchedPath, Request},
    http::{HeaderValue, header},
    response::{IntoResponse, Response},
};
use futures_util::future::BoxFuture;
use http_body_util::BodyExt as _;
use tokio::time::Instant;
use tower::{Layer, Service};
use tracing::Instrument;

use super::problem::{InternalError, Problem};
use crate::metrics::Metrics;

/// The request id header, taken from the client when sound, else generated (SPEC 1.7).
pub const REQUEST_ID: &str = "x-request-id";

/// Wraps a route in [`Observe`].
#[derive(Clone, Debug)]
pub(crate) struct ObserveLayer {
    metrics: Option<Arc<Metrics>>,
}

impl ObserveLayer {
    pub(crate) fn new(metrics: Option<Arc<Metrics>>) -> Self {
        Self { metrics }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner, metrics: self.metrics.clone() }
    }
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct Observe<S> {
    inner: S,
    metrics: Option<Arc<Metrics>>,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = request
            .headers()
            .get(REQUEST_ID)
            .filter(|v| is_sound_id(v.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        let method = request.method().clone();
        let route = request.extensions().get::<MatchedPath>().cloned();
        let uri = request.uri().clone();
        let client = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
        let span = tracing::info_span!("request", request_id = request_id.to_str().unwrap_or(""));
        // The inner future owns what it needs, so the inner service is called here rather than
        // cloned into the future: a clone of the stack below is a clone of every layer's state.
        let handled = self.inner.call(request).instrument(span);
        let metrics = self.metrics.clone();

        Box::pin(async move {
            let _in_flight = metrics.as_deref().map(Metrics::start_request);
            let id = request_id.to_str().unwrap_or("");
            let Ok(mut response) = handled.await;
            if response.status().is_client_error() || response.status().is_server_error() {
                response = with_problem_body(response).await;
            }
            response.headers_mut().insert(REQUEST_ID, request_id.clone());

            let elapsed = started.elapsed();
            let route = route.as_ref().map(MatchedPath::as_str);
            if let Some(metrics) = &metrics {
                metrics.record_request(&method, route, response.status(), elapsed);
            }
            let status = response.status().as_u16();
            // Whole microseconds: a short, exact-looking number in the log.
            let latency_ms = elapsed.as_micros() as f64 / 1000.0;
            let bytes = http_body::Body::size_hint(response.body()).exact();
            let route = route.unwrap_or("-");
            let path = uri.path();
            let client = tracing::field::display(client.map_or(Loggable::Unknown, Loggable::Ip));
            // The access line carries the request id itself: it is logged outside the span.
            match response.extensions().get::<InternalError>() {
                Some(InternalError(cause)) => tracing::error!(
                    target: "ferrum::access", request_id = id, method = method.as_str(), route, path, status, latency_ms, bytes, client,
                    error = &**cause, "request failed"
                ),
                None => tracing::info!(
                    target: "ferrum::access", request_id = id, method = method.as_str(), route, path, status, latency_ms, bytes, client,
                    "request"
                ),
            }
            Ok(response)
        })
    }
}

/// The client's address for the access line, formatted only if the line is written.
enum Loggable {
    Ip(std::net::IpAddr),
    Unknown,
}

impl std::fmt::Display for Loggable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Ip(ip) => ip.fmt(f),
            Self::Unknown => f.write_str("-"),
        }
    }
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
