//! The outermost platform service after compression: request id (carried by every line logged
//! inside the request, [`telemetry::in_request`]), one access-log line and the request metrics
//! per request, and problem bodies for error answers that arrive without one (405 from the
//! router, for one).
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

use super::problem::{InternalError, Problem};
use crate::{
    metrics::Metrics,
    telemetry::{self, AccessRecord},
};

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
        // The inner future owns what it needs, so the inner service is called here rather than
        // cloned into the future: a clone of the stack below is a clone of every layer's state.
        let handled = telemetry::in_request(request_id.clone(), self.inner.call(request));
        let metrics = self.metrics.clone();

        Box::pin(async move {
            let _in_flight = metrics.as_deref().map(Metrics::start_request);
            let Ok(mut response) = handled.await;
            if response.status().is_client_error() || response.status().is_server_error() {
                response = with_problem_body(response).await;
            }
            let elapsed = started.elapsed();
            let route = route.as_ref().map(MatchedPath::as_str);
            if let Some(metrics) = &metrics {
                metrics.record_request(&method, route, response.status(), elapsed);
            }
            telemetry::log_access(&AccessRecord {
                request_id: request_id.to_str().unwrap_or(""),
                method: method.as_str(),
                route,
                path: uri.path(),
                status: response.status().as_u16(),
                latency: elapsed,
                bytes: http_body::Body::size_hint(response.body()).exact(),
                client,
                error: response.extensions().get::<InternalError>().map(|InternalError(cause)| &**cause),
            });
            response.headers_mut().insert(REQUEST_ID, request_id);
            Ok(response)
        })
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
