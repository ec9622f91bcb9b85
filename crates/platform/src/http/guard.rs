//! The innermost platform service: the request body cap, the request deadline and the panic
//! net, in one tower service so that a request pays for one wrapper and one boxed future instead
//! of three (tower-http's `RequestBodyLimit` and `CatchPanic` plus a `from_fn` deadline).
//!
//! - Body cap: a declared `Content-Length` over the cap is refused before the body is read; any
//!   other non-empty body is read through `http_body_util::Limited`, which the extractors turn
//!   into 413 once the cap is crossed. Empty bodies (most GETs) are passed through untouched.
//! - Deadline: 504 when the handler is not done in time. CPU profiles run as long as they were
//!   asked to (their handler bounds them), and gRPC calls are left to their own deadline, so a
//!   gRPC client gets `DEADLINE_EXCEEDED` rather than a bare HTTP 504.
//! - Panics: a handler that panics answers 500, with the message kept out of the body.

use std::{
    any::Any,
    convert::Infallible,
    panic::AssertUnwindSafe,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    extract::Request,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use futures_util::{FutureExt as _, future::BoxFuture};
use http_body_util::Limited;
use tower::{Layer, Service};

use super::problem::Problem;

/// Wraps a route in [`Guard`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct GuardLayer {
    timeout: Duration,
    max_body_bytes: usize,
}

impl GuardLayer {
    pub(crate) fn new(timeout: Duration, max_body_bytes: usize) -> Self {
        Self { timeout, max_body_bytes }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, limits: *self }
    }
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub(crate) struct Guard<S> {
    inner: S,
    limits: GuardLayer,
}

impl<S> Service<Request> for Guard<S>
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
        let GuardLayer { timeout, max_body_bytes } = self.limits;
        if declared_length(&request).is_some_and(|length| length > max_body_bytes as u64) {
            return Box::pin(std::future::ready(Ok(too_large())));
        }
        let request = if http_body::Body::is_end_stream(request.body()) {
            request
        } else {
            request.map(|body| Body::new(Limited::new(body, max_body_bytes)))
        };
        let unbounded = request.uri().path().starts_with(crate::profiling::PREFIX) || is_grpc(&request);

        // Calling the handler can panic as well as polling it, so both happen inside a guard.
        let handled = match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(request))) {
            Ok(future) => AssertUnwindSafe(future).catch_unwind(),
            Err(panic) => return Box::pin(std::future::ready(Ok(panicked(panic)))),
        };
        Box::pin(async move {
            let outcome = if unbounded {
                handled.await
            } else {
                match tokio::time::timeout(timeout, handled).await {
                    Ok(outcome) => outcome,
                    Err(_) => return Ok(timed_out(timeout)),
                }
            };
            Ok(match outcome {
                Ok(Ok(response)) => response,
                Err(panic) => panicked(panic),
            })
        })
    }
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
