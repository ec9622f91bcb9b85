//! The edge: the platform's one service around the router ([`super::middleware::apply`]).
//! For each request it keeps or makes the request id, applies the rate limit (a CORS
//! preflight, answered here, only reads the client's allowance), then calls the router under
//! the guard (body cap, deadline, panic net, problem bodies), through compression when the
//! request asks for an encoding, inside the request's log scope and with its [`Stamp`] lent
//! (the request id, the limit's headers, `Vary`, which answers the platform makes carry from
//! the start); on the way out it adds those to an answer made without them, and CORS's headers
//! for browsers, records the request's metrics and writes its access line.
//!
//! Why one service for all of it: as separate tower layers (request id and logging,
//! compression, CORS, rate limit, guard) each added a call, a future and a move of the request
//! and of the future below, and hyper clones the service for every request, so the stack was
//! cloned layer by layer. On `/health/live` that came to about 1,400 instructions per request
//! (BENCHMARKS.md). The concerns themselves stay in their modules, as plain functions:
//! [`CorsPolicy::answer`], [`RateLimiter::check`], [`guard::call`], [`compress::compressed`],
//! [`Observed`].
//!
//! The edge also knows the connection's peer address ([`Edge::into_make_service`] gives each
//! connection its own edge), which the access log and the rate limit read. It is not put in
//! the request as axum's `ConnectInfo`: that is an allocation and a map insert per request.

use std::{
    convert::Infallible,
    future::{Future, Ready, ready},
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    Router,
    extract::Request,
    http::{HeaderMap, HeaderValue, header},
    response::Response,
    routing::future::RouteFuture,
    serve::IncomingStream,
};
use futures_util::future::BoxFuture;
use tokio::{net::TcpListener, time::Instant};
use tower::Service;

use super::{
    compress,
    cors::{CorsAnswer, CorsHeaders, CorsPolicy},
    guard::{self, Guard, GuardFuture},
    limits::RouteLimits,
    observe::{Observed, REQUEST_ID},
    rate_limit::{LimitCheck, RateLimiter, Verdict},
    routes::{RouteId, RouteTemplates},
    stamp::Stamp,
};
use crate::metrics::Metrics;

/// What every request's edge shares.
#[derive(Debug)]
pub(crate) struct EdgeSettings {
    pub(crate) templates: RouteTemplates,
    pub(crate) metrics: Option<Arc<Metrics>>,
    pub(crate) cors: Option<CorsPolicy>,
    pub(crate) limiter: Option<Arc<RateLimiter>>,
    pub(crate) compress: bool,
    /// The platform's body cap and deadline, for routes that do not raise their own.
    pub(crate) limits: RouteLimits,
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct Edge {
    router: Router,
    settings: Arc<EdgeSettings>,
    /// The connection's peer; `None` when served without a connection (tests).
    peer: Option<IpAddr>,
}

impl Edge {
    pub(crate) fn new(router: Router, settings: EdgeSettings) -> Self {
        Self { router, settings: Arc::new(settings), peer: None }
    }

    /// What `axum::serve` takes: an edge per connection, knowing the peer's address.
    pub fn into_make_service(self) -> MakeEdge {
        MakeEdge(self)
    }
}

/// The answer of the router below the edge, under the guard; compressed (in the guard's boxed
/// variant) when the request asks for it.
type Handled = GuardFuture<RouteFuture<Infallible>>;

/// Calls the router under the guard, through compression when the request asks for it.
///
/// This, [`guard::call`], [`Observed::start`] and [`CorsPolicy::answer`] are always inlined
/// into [`Edge::call`]: as calls, each moved the request or its future once more (about 130
/// instructions per request on `/health/live`, BENCHMARKS.md).
#[inline(always)]
fn handle(router: &mut Router, request: Request, limits: RouteLimits, arrived: Instant, compress: bool) -> Handled {
    if compress {
        let answer = compress::compressed(Guard::new(router.clone(), limits, arrived), request);
        return GuardFuture::Boxed { answer };
    }
    guard::call(limits, arrived, router, request)
}

/// The request headers the edge reads (the request id, `Origin`, `Accept-Encoding`), found in
/// one pass over the request's headers. Looked up one at a time, each cost a hash of its name
/// and a probe of the map, about 130 instructions apiece on `/health/live` (BENCHMARKS.md); the
/// pass compares names, nearly all by their standard-header tag.
#[derive(Default)]
struct EdgeHeaders<'a> {
    request_id: Option<&'a HeaderValue>,
    origin: Option<&'a HeaderValue>,
    accept_encoding: Option<&'a HeaderValue>,
}

impl<'a> EdgeHeaders<'a> {
    fn of(headers: &'a HeaderMap) -> Self {
        let mut found = Self::default();
        for (name, value) in headers {
            let slot = if name == header::ORIGIN {
                &mut found.origin
            } else if name == header::ACCEPT_ENCODING {
                &mut found.accept_encoding
            } else if name == REQUEST_ID {
                &mut found.request_id
            } else {
                continue;
            };
            // The first value of a repeated header, as `HeaderMap::get` gives.
            slot.get_or_insert(value);
        }
        found
    }
}

impl Service<Request> for Edge {
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let settings = &self.settings;
        let seen = EdgeHeaders::of(request.headers());
        let observed = Observed::start(&request, seen.request_id, settings.metrics.as_ref(), self.peer);
        // The route is found once, here: its limits are needed now, its template (for the
        // access line and the metrics) when the answer is finished.
        let route = settings.templates.route_of(request.uri().path());
        let limits =
            route.and_then(|route| settings.templates.limits(route, request.method())).unwrap_or(settings.limits);
        // `finish` takes the observation before anything reads it: read first, it was kept in a
        // slot of its own and copied into `finish` (200 bytes).
        let mut finish = Finish { settings: settings.clone(), observed, route, cors: None, stamp: None };
        let arrived = finish.observed.arrived();
        let request_id = finish.observed.request_id();
        let stamp = finish.stamp.insert(Stamp { request_id, limit: None, vary_origin: false });
        let compress = settings.compress && compress::asks_for_encoding(seen.accept_encoding);
        let cors = settings.cors.as_ref().map(|policy| policy.answer(request.method(), seen.origin));
        match cors {
            Some(CorsAnswer::Preflight(response)) => return self.preflight(request, response, finish),
            Some(CorsAnswer::Headers(headers)) => {
                stamp.vary_origin = headers.vary_origin();
                finish.cors = Some(headers);
            }
            None => {}
        }
        if let Some(limiter) = &settings.limiter {
            match limiter.check(&mut request, self.peer, arrived.into_std()) {
                LimitCheck::Decided(Verdict::Allowed(limit)) => stamp.limit = Some(limit),
                LimitCheck::Decided(Verdict::Refused(refused)) => return EdgeFuture::answered(refused, finish),
                LimitCheck::InRedis(verdict) => {
                    let mut router = self.router.clone();
                    let waiting = async move {
                        match verdict.await {
                            Verdict::Allowed(limit) => {
                                let Ok(mut response) = handle(&mut router, request, limits, arrived, compress).await;
                                limit.headers().add_to(&mut response);
                                response
                            }
                            Verdict::Refused(refused) => refused,
                        }
                    };
                    let state = EdgeState::Waiting { waiting: Box::pin(waiting) };
                    return EdgeFuture { state, finish: Some(finish) };
                }
            }
        }
        let handled = handle(&mut self.router, request, limits, arrived, compress);
        EdgeFuture { state: EdgeState::Handling { handled }, finish: Some(finish) }
    }
}

impl Edge {
    /// Answers a CORS preflight. A preflight is the browser's question, not the page's request:
    /// it counts against no one, but carries the client's allowance, as every answer does
    /// (SPEC 1.7). Apart from [`Service::call`], whose usual path it would lengthen.
    #[cold]
    fn preflight(&self, mut request: Request, response: Response, finish: Finish) -> EdgeFuture {
        let Some(limiter) = &self.settings.limiter else { return EdgeFuture::answered(response, finish) };
        match limiter.allowance(&mut request, self.peer, finish.observed.arrived().into_std()) {
            LimitCheck::Decided(verdict) => EdgeFuture::answered(with_allowance(response, verdict), finish),
            LimitCheck::InRedis(verdict) => {
                let waiting = async move { with_allowance(response, verdict.await) };
                EdgeFuture { state: EdgeState::Waiting { waiting: Box::pin(waiting) }, finish: Some(finish) }
            }
        }
    }
}

/// `response` with the `X-RateLimit-*` headers of an allowance read without counting (which
/// never refuses; were it to, its answer would be the one sent).
fn with_allowance(mut response: Response, verdict: Verdict) -> Response {
    match verdict {
        Verdict::Allowed(limit) => {
            limit.headers().add_to(&mut response);
            response
        }
        Verdict::Refused(refused) => refused,
    }
}

/// What the edge adds to an answer.
struct Finish {
    settings: Arc<EdgeSettings>,
    observed: Observed,
    /// The request's route, named in the access line and the metrics.
    route: Option<RouteId>,
    /// CORS's headers for browsers (its `Vary` is in the stamp).
    cors: Option<CorsHeaders>,
    /// The headers every answer carries; lent to the router while it answers, so that the
    /// answers the platform makes carry them from the start ([`super::stamp`]).
    stamp: Option<Stamp>,
}

impl Finish {
    /// Finishes `response`. By reference, not by value: moving the whole record out of the
    /// future to finish it cost a copy of a few hundred bytes per request.
    fn apply(&mut self, response: &mut Response) {
        if let Some(stamp) = self.stamp.take() {
            if !stamp.is_on(response) {
                stamp.add_to(response);
            }
        }
        if let Some(cors) = self.cors.take() {
            cors.add_to(response);
        }
        let route = self.route.map(|route| self.settings.templates.template(route));
        self.observed.finish(route, response);
    }
}

pin_project_lite::pin_project! {
    /// The answer of [`Edge`]. A named future: the usual path costs no allocation.
    pub struct EdgeFuture {
        #[pin]
        state: EdgeState,
        finish: Option<Finish>,
    }
}

pin_project_lite::pin_project! {
    #[project = EdgeStateProjection]
    enum EdgeState {
        /// Answered by the edge itself (a preflight, a 429).
        Answered { response: Option<Response> },
        /// The router is answering, inside the request's log scope.
        Handling { #[pin] handled: Handled },
        /// The rate limit waits for Redis, then the rest of the stack answers.
        Waiting { waiting: BoxFuture<'static, Response> },
    }
}

impl EdgeFuture {
    fn answered(response: Response, finish: Finish) -> Self {
        Self { state: EdgeState::Answered { response: Some(response) }, finish: Some(finish) }
    }
}

impl Future for EdgeFuture {
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.state.project() {
            // A future is not polled again once it is ready.
            EdgeStateProjection::Answered { response } => response.take().unwrap_or_default(),
            EdgeStateProjection::Handling { handled } => {
                let Ok(response) = std::task::ready!(in_scope(this.finish, || handled.poll(cx)));
                response
            }
            EdgeStateProjection::Waiting { waiting } => {
                std::task::ready!(in_scope(this.finish, || waiting.as_mut().poll(cx)))
            }
        };
        if let Some(finish) = this.finish.as_mut() {
            finish.apply(&mut response);
            *this.finish = None;
        }
        Poll::Ready(Ok(response))
    }
}

/// Polls the router's answer in the request's log scope, with its stamp lent (`finish` is there
/// until it is finished). The scope is entered here, in the edge's own poll, rather than by a
/// wrapper around the router's future, which moved that whole future once more and cloned the
/// id.
fn in_scope<R>(finish: &mut Option<Finish>, poll: impl FnOnce() -> R) -> R {
    match finish {
        Some(Finish { observed, stamp: Some(stamp), .. }) => stamp.lend(|| observed.in_scope(poll)),
        Some(Finish { observed, stamp: None, .. }) => observed.in_scope(poll),
        None => poll(),
    }
}

/// Makes an [`Edge`] per connection, knowing the peer's address: what `axum::serve` takes.
#[derive(Clone, Debug)]
pub struct MakeEdge(Edge);

impl Service<IncomingStream<'_, TcpListener>> for MakeEdge {
    type Response = Edge;
    type Error = Infallible;
    type Future = Ready<Result<Edge, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, connection: IncomingStream<'_, TcpListener>) -> Self::Future {
        let mut edge = self.0.clone();
        edge.peer = Some(connection.remote_addr().ip());
        ready(Ok(edge))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_headers_pass_finds_what_map_lookups_would() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("example"));
        headers.append(REQUEST_ID.clone(), HeaderValue::from_static("first"));
        headers.append(REQUEST_ID.clone(), HeaderValue::from_static("second"));
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://app.example"));
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let seen = EdgeHeaders::of(&headers);
        assert_eq!(seen.request_id, headers.get(&REQUEST_ID));
        assert_eq!(seen.request_id.map(HeaderValue::as_bytes), Some(&b"first"[..]));
        assert_eq!(seen.origin, headers.get(header::ORIGIN));
        assert_eq!(seen.accept_encoding, headers.get(header::ACCEPT_ENCODING));
        let empty = HeaderMap::new();
        let none = EdgeHeaders::of(&empty);
        assert!(none.request_id.is_none() && none.origin.is_none() && none.accept_encoding.is_none());
    }
}
