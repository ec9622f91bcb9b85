//! Response compression (gzip, br, zstd) for the requests that ask for it.
//!
//! tower-http's `Compression` does the work, but it wraps every response body in a type large
//! enough to hold any of its encoders, and that value is moved and boxed on every request even
//! when nothing is compressed: on `/health/live` it was the largest single cost of the stack
//! (BENCHMARKS.md). Requests without an `Accept-Encoding` that names an encoding therefore skip
//! it; the answer is the same, since such a client would get the identity encoding anyway.

use std::{
    convert::Infallible,
    task::{Context, Poll},
};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderValue, header},
    response::Response,
};
use futures_util::{
    FutureExt as _,
    future::{BoxFuture, Either},
};
use tower::{Layer, Service};
use tower_http::compression::{Compression, CompressionLayer};

/// Wraps a route in [`Negotiate`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct NegotiateLayer;

impl<S> Layer<S> for NegotiateLayer {
    type Service = Negotiate<S>;

    fn layer(&self, inner: S) -> Negotiate<S> {
        Negotiate { compressing: CompressionLayer::new().layer(inner) }
    }
}

/// See the module documentation. Requests that skip compression go straight to the service
/// `Compression` wraps: the stack is held once, since axum clones it for every request.
#[derive(Clone)]
pub(crate) struct Negotiate<S> {
    compressing: Compression<S>,
}

impl<S> std::fmt::Debug for Negotiate<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Negotiate").finish_non_exhaustive()
    }
}

impl<S> Service<Request> for Negotiate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<BoxFuture<'static, Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.compressing.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if asks_for_encoding(request.headers().get(header::ACCEPT_ENCODING)) {
            let compressed = self.compressing.call(request);
            Either::Left(compressed.map(|result| result.map(|response| response.map(Body::new))).boxed())
        } else {
            Either::Right(self.compressing.get_mut().call(request))
        }
    }
}

/// True when `Accept-Encoding` names anything but `identity` (tower-http then decides, by the
/// names and their weights, what if anything to use).
fn asks_for_encoding(accept: Option<&HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|value| value.to_str().ok()) else { return false };
    accept
        .split(',')
        .map(|coding| coding.split(';').next().unwrap_or("").trim())
        .any(|coding| !coding.is_empty() && !coding.eq_ignore_ascii_case("identity"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_encoding_engages_compression() {
        let asks = |value: &'static str| asks_for_encoding(Some(&HeaderValue::from_static(value)));
        assert!(asks("gzip"));
        assert!(asks("br;q=0.9, identity"));
        assert!(asks("*"));
        assert!(asks("deflate"), "tower-http declines what it cannot do");
        assert!(!asks("identity"));
        assert!(!asks(""));
        assert!(!asks_for_encoding(None));
    }
}
