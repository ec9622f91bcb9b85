//! Around the router: the request body cap, the request deadline, the panic net and problem
//! bodies, in one call and one named future, so that a request pays for no wrapper service and
//! no boxed future instead of three of each (tower-http's `RequestBodyLimit` and `CatchPanic`
//! plus a `from_fn` deadline).
//!
//! The cap and the deadline are the platform's, or those the request's route raises for itself
//! ([`super::limits`]), as the edge found them.
//!
//! - Body cap: a declared `Content-Length` over the cap is refused before the body is read; any
//!   other non-empty body is read through `http_body_util::Limited`, which the extractors turn
//!   into 413 once the cap is crossed. Empty bodies (most GETs) are passed through untouched.
//!   After a 413, the rest of the body is read, within bounds, so that the client reads the
//!   answer ([`super::linger`]).
//! - Deadline: 504 when the handler is not done in time. CPU profiles run as long as they were
//!   asked to (their handler bounds them), and gRPC calls are left to their own deadline, so a
//!   gRPC client gets `DEADLINE_EXCEEDED` rather than a bare HTTP 504. The deadline counts from
//!   the request's arrival, but its timer is set only the first time the handler is not ready,
//!   so a handler that answers at once (`/health/live`) never sets one: setting and dropping a
//!   timer cost about 180 instructions per request (BENCHMARKS.md).
//! - Panics: a handler that panics answers 500, with the message kept out of the body.
//! - Problem bodies: an error answer that arrives without a JSON body (405 from the router, for
//!   one) gets a problem body for its status. Here, under compression, so that the body read
//!   is never an encoded one.

use std::{
    any::Any,
    convert::Infallible,
    future::Future,
    panic::AssertUnwindSafe,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::{DefaultBodyLimit, Request},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::future::RouteFuture,
};
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt as _, Limited};
use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

use super::{
    limits::RouteLimits,
    linger::{self, Lingering},
    problem::Problem,
};

/// Calls `router` with `request`, which arrived at `arrived`, under the guard (see the module
/// documentation), with the limits of its route.
/// Always inlined: see `edge::handle`.
#[inline(always)]
pub(crate) fn call(
    limits: RouteLimits,
    arrived: Instant,
    router: &mut Router,
    request: Request,
) -> GuardFuture<RouteFuture<Infallible>> {
    let RouteLimits { request_timeout: timeout, max_body_bytes } = limits;
    let has_body = !http_body::Body::is_end_stream(request.body());
    if has_body {
        if let Some(declared) = declared_length(&request).filter(|length| *length > max_body_bytes as u64) {
            linger::refuse_declared(request, declared, max_body_bytes);
            return GuardFuture::Answered { response: Some(too_large()) };
        }
    }
    // A gRPC call always has a body (its message frames): a GET needs no content-type look.
    let unbounded = request.uri().path().starts_with(crate::profiling::PREFIX) || (has_body && is_grpc(&request));
    // Only the future is guarded, not this call: calling a `Router` only routes, and the
    // route's service (its layers, the handler) is called at the future's first poll (axum
    // calls it through tower's `Oneshot`). A guard around the call moved the request twice
    // more, about 130 instructions per request.
    let handled = if has_body {
        // The cap is enforced here; axum's own 2 MB default for extractors would be a second
        // one, so it is switched off for this request (only requests with a body pay for that).
        let version = request.version();
        let request =
            request.map(|body| Body::new(Limited::new(Lingering::new(body, max_body_bytes, version), max_body_bytes)));
        DefaultBodyLimit::disable().layer(router).call(request)
    } else {
        router.call(request)
    };
    if unbounded {
        GuardFuture::Unbounded { handled }
    } else {
        GuardFuture::Bounded { handled, timer: None, deadline: arrived + timeout, timeout }
    }
}

/// [`call`] as a tower service, for the compression path, which needs a service to wrap.
#[derive(Clone, Debug)]
pub(crate) struct Guard {
    router: Router,
    limits: RouteLimits,
    arrived: Instant,
}

impl Guard {
    /// The guard for one request, which arrived at `arrived`.
    pub(crate) fn new(router: Router, limits: RouteLimits, arrived: Instant) -> Self {
        Self { router, limits, arrived }
    }
}

impl Service<Request> for Guard {
    type Response = Response;
    type Error = Infallible;
    type Future = GuardFuture<RouteFuture<Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        call(self.limits, self.arrived, &mut self.router, request)
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Guard`]: one decided before the handler ran, or the handler's, caught if
    /// it panics and cut off at the deadline unless the request is exempt; an error answer
    /// without a JSON body is then given a problem body. A named future rather than a boxed
    /// `async` block: one allocation less per request. Panics are caught around each poll of
    /// `handled` ([`poll_caught`]) rather than by a `CatchUnwind` wrapped around it, which moved
    /// the router's whole future once more.
    #[project = GuardProjection]
    pub(crate) enum GuardFuture<F> {
        Answered { response: Option<Response> },
        Unbounded { #[pin] handled: F },
        /// `timer` is set the first time the handler is not ready: see the module documentation.
        Bounded {
            #[pin] handled: F,
            #[pin] timer: Option<Sleep>,
            deadline: Instant,
            timeout: Duration,
        },
        /// An answer in a box: a bare error's problem body being read (rare), or a compressed
        /// answer (only requests that ask for an encoding; the edge's `handle`). One variant
        /// here rather than an `Either` around this future: one move and one poll less.
        Boxed { answer: BoxFuture<'static, Response> },
    }
}

impl<F> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let response = match self.as_mut().project() {
            // A future is not polled again once it is ready.
            GuardProjection::Answered { response } => response.take().unwrap_or_default(),
            GuardProjection::Unbounded { handled } => match ready!(poll_caught(handled, cx)) {
                Ok(Ok(response)) => response,
                Err(panic) => panicked(panic),
            },
            GuardProjection::Bounded { handled, mut timer, deadline, timeout } => match poll_caught(handled, cx) {
                Poll::Ready(Ok(Ok(response))) => response,
                Poll::Ready(Err(panic)) => panicked(panic),
                Poll::Pending => {
                    if timer.is_none() {
                        timer.set(Some(tokio::time::sleep_until(*deadline)));
                    }
                    match timer.as_pin_mut() {
                        Some(timer) => ready!(timer.poll(cx)),
                        None => return Poll::Pending,
                    }
                    timed_out(*timeout)
                }
            },
            GuardProjection::Boxed { answer } => return answer.as_mut().poll(cx).map(Ok),
        };
        if !lacks_problem_body(&response) {
            return Poll::Ready(Ok(response));
        }
        let mut answer: BoxFuture<'static, Response> = Box::pin(with_problem_body(response));
        let polled = answer.as_mut().poll(cx).map(Ok);
        self.set(GuardFuture::Boxed { answer });
        polled
    }
}

/// Polls `handled`, catching a panic of the handler as the answer's error.
fn poll_caught<F: Future>(handled: Pin<&mut F>, cx: &mut Context<'_>) -> Poll<Result<F::Output, Box<dyn Any + Send>>> {
    match std::panic::catch_unwind(AssertUnwindSafe(|| handled.poll(cx))) {
        Ok(polled) => polled.map(Ok),
        Err(panic) => Poll::Ready(Err(panic)),
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

fn declared_length(request: &Request) -> Option<u64> {
    request.headers().get(header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

fn is_grpc(request: &Request) -> bool {
    request.headers().get(header::CONTENT_TYPE).is_some_and(|ct| ct.as_bytes().starts_with(b"application/grpc"))
}

fn too_large() -> Response {
    Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "the request body is larger than the configured limit").into_response()
}

fn timed_out(timeout: Duration) -> Response {
    Problem::new(
        StatusCode::GATEWAY_TIMEOUT,
        format!("the request did not finish within {}", humantime::format_duration(timeout)),
    )
    .into_response()
}

fn panicked(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into());
    Problem::internal(format!("handler panicked: {message}")).into_response()
}
