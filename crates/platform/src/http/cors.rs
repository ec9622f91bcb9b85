//! CORS for every route (SPEC 1.7): any `OPTIONS` request is answered as a preflight, before
//! auth and counted against no one by the rate limit; other answers get `Vary: origin` when
//! the allowed origins are a list (put on with the edge's other headers, `super::stamp`), and,
//! when the request comes from a browser page (it has an `Origin`), the exposed headers and
//! `Access-Control-Allow-Origin` if the origin is allowed.
//!
//! It answers what tower-http's `CorsLayer` answered with our settings (the tests below and the
//! server's edge tests hold it to that), with two headers fewer where they say nothing:
//! `Access-Control-Expose-Headers` is left off answers to requests with no `Origin`, which no
//! browser reads, and only a preflight's answer varies with the `Access-Control-Request-*`
//! headers, so only it names them in `Vary`. Every header on `/health/live` counts: its whole
//! answer is a few hundred bytes. And it does without tower-http's per-request costs: that
//! layer builds a header map and a fresh `Vary` value for every request and merges them into
//! the response, and axum clones its whole configuration per request. That came to about
//! 4,000 instructions of each `/health/live` request (BENCHMARKS.md). Every value here is
//! built once; a request from a browser costs one or two inserts, any other none (the edge
//! finds its `Origin`).

use axum::{
    body::Body,
    http::{HeaderValue, Method, header},
    response::Response,
};

use super::middleware::CorsOrigins;

/// Methods a browser may use on the API.
const ALLOW_METHODS: &str = "GET,HEAD,POST,PUT,PATCH,DELETE";
/// Request headers a browser may send (lower case, as browsers list them in preflights).
const ALLOW_HEADERS: &str = "authorization,content-type,if-match,idempotency-key,x-request-id";
/// Response headers scripts may read.
const EXPOSE_HEADERS: &str = "link,location,etag,retry-after,x-request-id";
/// How long a browser may cache a preflight's answer, in seconds.
const MAX_AGE: &str = "3600";
/// A preflight's answer differs by these request headers, so caches must key on them.
const PREFLIGHT_VARY: &str = "origin, access-control-request-method, access-control-request-headers";

/// The CORS answer for the configured origins; [`super::edge`] asks it about every request.
#[derive(Debug)]
pub(crate) struct CorsPolicy {
    origins: CorsOrigins,
}

/// What CORS makes of one request.
#[derive(Debug)]
pub(crate) enum CorsAnswer {
    /// A preflight, answered here: the route is not called.
    Preflight(Response),
    /// The route answers; these headers go on its answer.
    Headers(CorsHeaders),
}

/// The CORS headers for one answer.
#[derive(Debug)]
pub(crate) struct CorsHeaders {
    from_browser: bool,
    varies: bool,
    allow_origin: Option<HeaderValue>,
}

impl CorsPolicy {
    pub(crate) fn new(origins: CorsOrigins) -> Self {
        Self { origins }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if it is allowed.
    fn allowed(&self, origin: Option<&HeaderValue>) -> Option<HeaderValue> {
        match &self.origins {
            CorsOrigins::Any => Some(HeaderValue::from_static("*")),
            CorsOrigins::List(list) => origin.filter(|origin| list.contains(origin)).cloned(),
        }
    }

    /// The preflight answer for an `OPTIONS` request, else the headers for the route's answer.
    /// `origin` is the request's `Origin` header.
    /// Always inlined: see `edge::handle`.
    #[inline(always)]
    pub(crate) fn answer(&self, method: &Method, origin: Option<&HeaderValue>) -> CorsAnswer {
        let from_browser = origin.is_some();
        let allow_origin = self.allowed(origin);
        if method == Method::OPTIONS {
            let mut response = Response::new(Body::empty());
            let headers = response.headers_mut();
            headers.insert(header::VARY, HeaderValue::from_static(PREFLIGHT_VARY));
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
            headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static(MAX_AGE));
            if let Some(origin) = allow_origin {
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            }
            return CorsAnswer::Preflight(response);
        }
        // With `*` every answer is the same whatever the origin; with a list it is not.
        let varies = matches!(self.origins, CorsOrigins::List(_));
        CorsAnswer::Headers(CorsHeaders { from_browser, varies, allow_origin })
    }
}

impl CorsHeaders {
    /// Whether the answer must say `Vary: origin`; the edge's stamp puts it on
    /// ([`super::stamp`]), with the other headers every answer carries.
    pub(crate) fn vary_origin(&self) -> bool {
        self.varies
    }

    /// Puts on the headers for browsers: `Access-Control-Expose-Headers` and, for an allowed
    /// origin, `Access-Control-Allow-Origin`.
    pub(crate) fn add_to(self, response: &mut Response) {
        let headers = response.headers_mut();
        if self.from_browser {
            headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static(EXPOSE_HEADERS));
        }
        if let Some(origin) = self.allow_origin {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn listed() -> CorsOrigins {
        CorsOrigins::List(vec![HeaderValue::from_static("https://app.example")])
    }

    /// What a request gets: the preflight answer, or a route's `ok` with the CORS headers.
    async fn send(origins: CorsOrigins, method: Method, origin: Option<&'static str>) -> Response {
        let origin = origin.map(HeaderValue::from_static);
        match CorsPolicy::new(origins).answer(&method, origin.as_ref()) {
            CorsAnswer::Preflight(response) => response,
            CorsAnswer::Headers(headers) => {
                let mut response = Response::new(Body::from("ok"));
                headers.add_to(&mut response);
                response
            }
        }
    }

    #[tokio::test]
    async fn preflights_are_answered_here_for_listed_origins_only() {
        let allowed = send(listed(), Method::OPTIONS, Some("https://app.example")).await;
        assert_eq!(allowed.status(), StatusCode::OK);
        let headers = allowed.headers();
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_METHODS], ALLOW_METHODS);
        assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_HEADERS], ALLOW_HEADERS);
        assert_eq!(headers[header::ACCESS_CONTROL_MAX_AGE], "3600");
        assert_eq!(headers[header::VARY], PREFLIGHT_VARY);
        let other = send(listed(), Method::OPTIONS, Some("https://evil.example")).await;
        assert_eq!(other.status(), StatusCode::OK);
        assert!(!other.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
    }

    #[tokio::test]
    async fn answers_carry_the_allowed_origin_exposed_headers_and_vary() {
        let allowed = send(listed(), Method::GET, Some("https://app.example")).await;
        assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
        assert_eq!(allowed.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS], EXPOSE_HEADERS);
        let other = send(listed(), Method::GET, Some("https://evil.example")).await;
        assert!(!other.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert_eq!(other.headers()[header::ACCESS_CONTROL_EXPOSE_HEADERS], EXPOSE_HEADERS);
        let plain = send(listed(), Method::GET, None).await;
        assert!(!plain.headers().contains_key(header::ACCESS_CONTROL_ALLOW_ORIGIN));
        assert!(!plain.headers().contains_key(header::ACCESS_CONTROL_EXPOSE_HEADERS));
        let any = send(CorsOrigins::Any, Method::GET, None).await;
        assert_eq!(any.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn only_a_list_of_origins_makes_answers_vary_by_origin() {
        let vary_origin = |origins: CorsOrigins, origin: Option<&'static str>| {
            let origin = origin.map(HeaderValue::from_static);
            match CorsPolicy::new(origins).answer(&Method::GET, origin.as_ref()) {
                CorsAnswer::Headers(headers) => headers.vary_origin(),
                CorsAnswer::Preflight(_) => panic!("a GET is no preflight"),
            }
        };
        assert!(vary_origin(listed(), None));
        assert!(vary_origin(listed(), Some("https://app.example")));
        assert!(!vary_origin(CorsOrigins::Any, None));
        assert!(!vary_origin(CorsOrigins::Any, Some("https://app.example")));
    }

    #[test]
    fn the_constants_are_valid_header_values() {
        for value in [ALLOW_METHODS, ALLOW_HEADERS, EXPOSE_HEADERS, MAX_AGE, PREFLIGHT_VARY] {
            assert!(HeaderValue::from_str(value).is_ok(), "{value}");
        }
    }
}
