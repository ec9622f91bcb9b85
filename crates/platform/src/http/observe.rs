//! What the edge records of each request: the request id (kept from the client when sound,
//! else generated; carried by every line logged inside the request through
//! [`telemetry::in_request`]), one access-log line and the request metrics.

use std::{net::IpAddr, sync::Arc};

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, Method, Uri},
    response::Response,
};
use tokio::time::Instant;

use super::problem::InternalError;
use crate::{
    metrics::{InFlight, Metrics},
    telemetry::{self, AccessRecord},
};

/// The request id header, taken from the client when sound, else generated (SPEC 1.7). A
/// `HeaderName` rather than a `&str`: a name given as text is parsed and checked again at every
/// lookup and insert, about 600 instructions per request on `/health/live` (BENCHMARKS.md).
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// One request seen by the edge: what its access line and metrics need once it is answered.
pub(crate) struct Observed {
    started: Instant,
    method: Method,
    uri: Uri,
    client: Option<IpAddr>,
    request_id: HeaderValue,
    /// Counts the request in flight until it is recorded (or the client goes away).
    in_flight: Option<InFlight>,
}

impl Observed {
    /// Starts observing `request` from `client`: its id is the client's when sound, else new.
    pub(crate) fn start(request: &Request, metrics: Option<&Arc<Metrics>>, client: Option<IpAddr>) -> Self {
        let started = Instant::now();
        let request_id = request
            .headers()
            .get(&REQUEST_ID)
            .filter(|v| is_sound_id(v.as_bytes()))
            .cloned()
            .unwrap_or_else(new_request_id);
        Self {
            started,
            method: request.method().clone(),
            uri: request.uri().clone(),
            client,
            request_id,
            in_flight: metrics.map(Metrics::start_request),
        }
    }

    pub(crate) fn request_id(&self) -> &HeaderValue {
        &self.request_id
    }

    pub(crate) fn path(&self) -> &str {
        self.uri.path()
    }

    /// Records the answer under `route` (its template) in the metrics and the access log, and
    /// gives it the request id.
    pub(crate) fn finish(self, route: Option<&str>, response: &mut Response) {
        let elapsed = self.started.elapsed();
        if let Some(in_flight) = &self.in_flight {
            in_flight.metrics().record_request(&self.method, route, response.status(), elapsed);
        }
        telemetry::log_access(&AccessRecord {
            // Sound ids are visible ASCII: `from_utf8` checks that faster than `to_str`.
            request_id: std::str::from_utf8(self.request_id.as_bytes()).unwrap_or(""),
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

fn is_sound_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

fn new_request_id() -> HeaderValue {
    let id = uuid::Uuid::new_v4();
    let mut buffer = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buffer)).unwrap_or_else(|_| HeaderValue::from_static("-"))
}
