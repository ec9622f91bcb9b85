//! gRPC call metrics, for any gRPC service a router serves: calls handled per service, method
//! and status code, and their latency per service and method. Names follow the usual gRPC
//! exporters (`grpc_server_handled_total`, `grpc_server_handling_seconds`), so existing
//! dashboards read them.
//!
//! A gRPC call answers HTTP 200 and says how it went in its `grpc-status`: in the response
//! headers when it fails at once (a "trailers-only" answer), else in the trailers after the
//! last message. So a call is recorded when its status is known: at the head for the first
//! kind, when the body yields its trailers for the second.

use std::{
    collections::HashMap,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll, ready},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, Uri},
    middleware::{self, Next},
    response::Response,
};
use http_body::{Frame, SizeHint};
use metrics::{Counter, Histogram};
use parking_lot::RwLock;
use tokio::time::Instant;

use super::Metrics;

/// Calls handled, per service, method and status code.
pub const GRPC_HANDLED: &str = "grpc_server_handled_total";
/// Time from the call's arrival to its status, per service and method.
pub const GRPC_HANDLING: &str = "grpc_server_handling_seconds";

/// The method label of calls answered UNIMPLEMENTED: the path is the client's choice, so
/// naming it would let any client create series without end.
const UNKNOWN_METHOD: &str = "unknown";

/// `grpc-status` codes by number, named as the gRPC libraries print them.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];
const CANCELLED: usize = 1;
const UNKNOWN: usize = 2;
const UNIMPLEMENTED: usize = 12;

/// Records the gRPC calls `router` serves into `metrics`. Layer it on the gRPC routes only:
/// it reads every request as a call.
pub fn track_grpc(router: Router, metrics: Arc<Metrics>) -> Router {
    router.layer(middleware::from_fn_with_state(metrics, track))
}

async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let call = Call { metrics, uri: request.uri().clone(), started: Instant::now() };
    let response = next.run(request).await;
    if let Some(code) = status_code(response.headers()) {
        call.finish(code);
        return response;
    }
    response.map(|body| Body::new(UntilStatus { body, call: Some(call) }))
}

/// One call in progress.
struct Call {
    metrics: Arc<Metrics>,
    uri: Uri,
    started: Instant,
}

impl Call {
    fn finish(self, code: usize) {
        self.metrics.grpc.record(&self.metrics, self.uri.path(), code, self.started.elapsed().as_secs_f64());
    }
}

/// The `grpc-status` a header map carries, as an index into [`CODE_NAMES`]; a value outside
/// the known codes counts as UNKNOWN.
fn status_code(headers: &HeaderMap) -> Option<usize> {
    let value = headers.get("grpc-status")?;
    let code = value.to_str().ok().and_then(|text| text.parse::<usize>().ok());
    Some(code.filter(|&code| code < CODE_NAMES.len()).unwrap_or(UNKNOWN))
}

/// A response body that records its call when the trailers pass, or when it ends or is
/// dropped without them (no status is UNKNOWN; a body dropped early means the client left,
/// CANCELLED).
struct UntilStatus {
    body: Body,
    call: Option<Call>,
}

impl http_body::Body for UntilStatus {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let frame = ready!(Pin::new(&mut self.body).poll_frame(cx));
        let code = match &frame {
            Some(Ok(frame)) => frame.trailers_ref().map(|trailers| status_code(trailers).unwrap_or(UNKNOWN)),
            Some(Err(_)) | None => Some(UNKNOWN),
        };
        if let Some(code) = code {
            if let Some(call) = self.call.take() {
                call.finish(code);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for UntilStatus {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.finish(CANCELLED);
        }
    }
}

/// The series of one `/service/method` path: its latency and a counter per status code.
struct PathSeries {
    handling: Histogram,
    handled: Vec<(usize, Counter)>,
}

/// gRPC series by path, cached as the HTTP ones are, so a call costs a map lookup and two
/// atomic updates once its series exist.
#[derive(Default)]
pub(super) struct GrpcSeries(RwLock<HashMap<Box<str>, PathSeries>>);

impl GrpcSeries {
    fn record(&self, metrics: &Metrics, path: &str, code: usize, seconds: f64) {
        let (service, method) = labels(path, code);
        let key = if method == UNKNOWN_METHOD { service } else { path };
        if let Some(series) = self.0.read().get(key) {
            if let Some((_, handled)) = series.handled.iter().find(|(c, _)| *c == code) {
                handled.increment(1);
                series.handling.record(seconds);
                return;
            }
        }
        // First call of this path or code: register its series once.
        let mut paths = self.0.write();
        let series = paths.entry(key.into()).or_insert_with(|| PathSeries {
            handling: metrics.with_recorder(|| {
                metrics::histogram!(GRPC_HANDLING, "grpc_service" => service.to_owned(), "grpc_method" => method.to_owned())
            }),
            handled: Vec::new(),
        });
        let index = match series.handled.iter().position(|(c, _)| *c == code) {
            Some(index) => index,
            None => {
                let counter = metrics.with_recorder(|| {
                    let labels = [
                        ("grpc_service", service.to_owned()),
                        ("grpc_method", method.to_owned()),
                        ("grpc_code", CODE_NAMES[code].to_owned()),
                    ];
                    metrics::counter!(GRPC_HANDLED, &labels)
                });
                series.handled.push((code, counter));
                series.handled.len() - 1
            }
        };
        series.handled[index].1.increment(1);
        series.handling.record(seconds);
    }
}

/// `(service, method)` of a `/service/method` path; the method is [`UNKNOWN_METHOD`] for a
/// call answered UNIMPLEMENTED or a path of another shape.
fn labels(path: &str, code: usize) -> (&str, &str) {
    match path.trim_start_matches('/').split_once('/') {
        Some((service, method)) if code != UNIMPLEMENTED && !method.contains('/') => (service, method),
        Some((service, _)) => (service, UNKNOWN_METHOD),
        None => (UNKNOWN_METHOD, UNKNOWN_METHOD),
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use axum::{http::HeaderValue, routing::post};
    use http_body_util::{BodyExt as _, StreamBody};
    use tower::ServiceExt as _;

    use super::*;
    use crate::BuildInfo;

    fn metrics() -> Metrics {
        Metrics::new(BuildInfo { version: "1", build_date: "today" })
    }

    /// A gRPC-shaped answer: one message, then `grpc-status: 0` in the trailers.
    async fn message_then_trailers() -> Response {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        let frames =
            [Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"\0\0\0\0\0"))), Ok(Frame::trailers(trailers))];
        Response::new(Body::new(StreamBody::new(futures_util::stream::iter(frames))))
    }

    async fn call(router: &Router, path: &str) -> Response {
        let request = Request::post(path).body(Body::empty()).unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    #[tokio::test]
    async fn records_a_call_when_its_trailers_pass_or_its_body_is_dropped() {
        let metrics = Arc::new(metrics());
        let router = track_grpc(Router::new().route("/a.B/Read", post(message_then_trailers)), metrics.clone());
        call(&router, "/a.B/Read").await.into_body().collect().await.unwrap();
        drop(call(&router, "/a.B/Read").await);
        let text = metrics.render(None);
        let read = r#"grpc_service="a.B",grpc_method="Read""#;
        assert!(text.contains(&format!(r#"grpc_server_handled_total{{{read},grpc_code="OK"}} 1"#)), "{text}");
        assert!(text.contains(&format!(r#"grpc_server_handled_total{{{read},grpc_code="Canceled"}} 1"#)), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_count{{{read}}} 2")), "{text}");
    }

    #[test]
    fn labels_calls_by_service_method_and_code() {
        let metrics = metrics();
        metrics.grpc.record(&metrics, "/calc.Calc/Add", 0, 0.001);
        metrics.grpc.record(&metrics, "/calc.Calc/Add", 0, 0.002);
        metrics.grpc.record(&metrics, "/calc.Calc/Add", 11, 0.001);
        metrics.grpc.record(&metrics, "/calc.Calc/Bogus", UNIMPLEMENTED, 0.0);
        metrics.grpc.record(&metrics, "/calc.Calc/Other", UNIMPLEMENTED, 0.0);
        let text = metrics.render(None);
        let add = r#"grpc_service="calc.Calc",grpc_method="Add""#;
        assert!(text.contains(&format!(r#"grpc_server_handled_total{{{add},grpc_code="OK"}} 2"#)), "{text}");
        assert!(text.contains(&format!(r#"grpc_server_handled_total{{{add},grpc_code="OutOfRange"}} 1"#)), "{text}");
        assert!(text.contains(&format!("grpc_server_handling_seconds_count{{{add}}} 3")), "{text}");
        let unknown = r#"grpc_service="calc.Calc",grpc_method="unknown",grpc_code="Unimplemented""#;
        assert!(text.contains(&format!("grpc_server_handled_total{{{unknown}}} 2")), "{text}");
        assert!(!text.contains("Bogus") && !text.contains("Other"), "{text}");
    }

    #[test]
    fn reads_the_status_wherever_it_is_sound() {
        let mut headers = HeaderMap::new();
        assert_eq!(status_code(&headers), None);
        headers.insert("grpc-status", HeaderValue::from_static("4"));
        assert_eq!(status_code(&headers), Some(4));
        headers.insert("grpc-status", HeaderValue::from_static("99"));
        assert_eq!(status_code(&headers), Some(UNKNOWN));
        headers.insert("grpc-status", HeaderValue::from_static("x"));
        assert_eq!(status_code(&headers), Some(UNKNOWN));
        assert_eq!(labels("/a.B/C", 0), ("a.B", "C"));
        assert_eq!(labels("/a.B/C/D", 0), ("a.B", UNKNOWN_METHOD));
        assert_eq!(labels("/nothing", 0), (UNKNOWN_METHOD, UNKNOWN_METHOD));
    }
}
