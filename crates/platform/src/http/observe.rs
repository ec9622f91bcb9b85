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
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::{
    body::Body,
    extract::{ConnectInfo, Request},
    http::{HeaderName, HeaderValue, Method, Uri, header},
    response::{IntoResponse, Response},
};
use futures_util::future::BoxFuture;
use http_body_util::BodyExt as _;
use tokio::{task::futures::TaskLocalFuture, time::Instant};
use tower::{Layer, Service};

use super::{
    problem::{InternalError, Problem},
    routes::RouteTemplates,
};
use crate::{
    metrics::{InFlight, Metrics},
    telemetry::{self, AccessRecord},
};

/// The request id header, taken from the client when sound, else generated (SPEC 1.7). A
/// `HeaderName` rather than a `&str`: a name given as text is parsed and checked again at every
/// lookup and insert, about 600 instructions per request on `/health/live` (BENCHMARKS.md).
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps a route in [`Observe`].
#[derive(Clone, Debug)]
pub(crate) struct ObserveLayer {
    metrics: Option<Arc<Metrics>>,
    templates: Arc<RouteTemplates>,
}

impl ObserveLayer {
    pub(crate) fn new(metrics: Option<Arc<Metrics>>, templates: Arc<RouteTemplates>) -> Self {
        Self { metrics, templates }
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe { inner, metrics: self.metrics.clone(), templates: self.templates.clone() }
    }
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct Observe<S> {
    inner: S,
    metrics: Option<Arc<Metrics>>,
    /// Names the route of a request; the services wrap the router, so axum's `MatchedPath`
    /// is not set yet when they see it.
    templates: Arc<RouteTemplates>,
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .filter(|v| is_sound_id(v.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        let observed = Observed {
            started,
            method: request.method().clone(),
            uri: request.uri().clone(),
            client: request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()),
            request_id: request_id.clone(),
            in_flight: self.metrics.as_ref().map(Metrics::start_request),
            templates: self.templates.clone(),
        };
        // The inner future owns what it needs, so the inner service is called here rather than
        // cloned into the future: a clone of the stack below is a clone of every layer's state.
        let handled = telemetry::in_request(request_id, self.inner.call(request));
        ObserveFuture { state: State::Handling { handled }, observed: Some(observed) }
    }
}

/// What the access line and the metrics need once the answer is there.
struct Observed {
    started: Instant,
    method: Method,
    uri: Uri,
    client: Option<IpAddr>,
    request_id: HeaderValue,
    /// Counts the request in flight until the answer is recorded (or the client goes away).
    in_flight: Option<InFlight>,
    templates: Arc<RouteTemplates>,
}

impl Observed {
    /// Records the answer in the metrics and the access log and gives it the request id.
    fn finish(self, response: &mut Response) {
        let elapsed = self.started.elapsed();
        let route = self.templates.find(self.uri.path());
        if let Some(in_flight) = &self.in_flight {
            in_flight.metrics().record_request(&self.method, route, response.status(), elapsed);
        }
        telemetry::log_access(&AccessRecord {
            request_id: self.request_id.to_str().unwrap_or(""),
            method: self.method.as_str(),
            route,
            path: self.uri.path(),
            status: response.status().as_u16(),
            latency: elapsed,
            bytes: http_body::Body::size_hint(response.body()).exact(),
            client: self.client,
            error: response.extensions().get::<InternalError>().map(|InternalError(cause)| &**cause),
        });
        response.headers_mut().insert(REQUEST_ID.clone(), self.request_id);
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Observe`]. A named future rather than a boxed `async` block: one
    /// allocation and one move of the whole request's future less per request.
    pub(crate) struct ObserveFuture<F> {
        #[pin]
        state: State<F>,
        observed: Option<Observed>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProjection]
    enum State<F> {
        /// The route below is answering, inside the request's log scope.
        Handling { #[pin] handled: TaskLocalFuture<HeaderValue, F> },
        /// An error answer without a JSON body is getting a problem body (rare: boxed).
        Rewriting { rewriting: BoxFuture<'static, Response> },
    }
}

impl<F> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let mut response = loop {
            match this.state.as_mut().project() {
                StateProjection::Handling { handled } => {
                    let Ok(response) = ready!(handled.poll(cx));
                    if !lacks_problem_body(&response) {
                        break response;
                    }
                    this.state.set(State::Rewriting { rewriting: Box::pin(with_problem_body(response)) });
                }
                StateProjection::Rewriting { rewriting } => break ready!(rewriting.as_mut().poll(cx)),
            }
        };
        if let Some(observed) = this.observed.take() {
            observed.finish(&mut response);
        }
        Poll::Ready(Ok(response))
    }
}

/// True for an error answer whose body is not JSON (a bare 405 from the router, a text
/// rejection): it gets a problem body.
fn lacks_problem_body(response: &Response) -> bool {
    let status = response.status();
    if !status.is_client_error() && !status.is_server_error() {
        return false;
    }
    let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    !content_type.is_some_and(|ct| ct.contains("json"))
}

/// Gives an error response that has no JSON body a problem body for its status, keeping its
/// headers (`Allow` on a 405, for one).
async fn with_problem_body(response: Response) -> Response {
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
