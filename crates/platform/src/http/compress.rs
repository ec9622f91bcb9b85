//! Response compression (gzip, br, zstd) for the requests that ask for it.
//!
//! tower-http's `Compression` does the work, but it wraps every response body in a type large
//! enough to hold any of its encoders, and that value is moved and boxed on every request even
//! when nothing is compressed: on `/health/live` it was the largest single cost of the stack
//! (BENCHMARKS.md). Requests without an `Accept-Encoding` that names an encoding therefore skip
//! it; the answer is the same, since such a client would get the identity encoding anyway.

use std::convert::Infallible;

use axum::{body::Body, extract::Request, http::HeaderValue, response::Response};
use futures_util::{FutureExt as _, future::BoxFuture};
use tower::{Layer, Service, ServiceExt as _};
use tower_http::compression::CompressionLayer;

/// The answer of `inner` to `request`, compressed as `Accept-Encoding` asks. Boxed: only
/// requests that [`asks_for_encoding`] come this way.
pub(crate) fn compressed<S>(inner: S, request: Request) -> BoxFuture<'static, Response>
where
    S: Service<Request, Response = Response, Error = Infallible> + Send + 'static,
    S::Future: Send + 'static,
{
    let answer = CompressionLayer::new().layer(inner).oneshot(request);
    answer
        .map(|result| {
            let Ok(response) = result;
            response.map(Body::new)
        })
        .boxed()
}

/// True when `Accept-Encoding` names anything but `identity` (tower-http then decides, by the
/// names and their weights, what if anything to use).
pub(crate) fn asks_for_encoding(accept: Option<&HeaderValue>) -> bool {
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
