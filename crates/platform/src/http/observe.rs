//! What the edge records of each request: the request id (kept from the client when sound,
//! else generated; carried by every line logged inside the request through
//! [`telemetry::in_request`]), one access-log line and the request metrics.

use std::{cell::RefCell, net::IpAddr, sync::Arc};

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue, Method, Uri},
    response::Response,
};
use bytes::Bytes;
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
    /// Starts observing `request` from `client`: its id is `client_id` when sound, else new.
    /// Always inlined: see `edge::handle`.
    #[inline(always)]
    pub(crate) fn start(
        request: &Request,
        client_id: Option<&HeaderValue>,
        metrics: Option<&Arc<Metrics>>,
        client: Option<IpAddr>,
    ) -> Self {
        let started = Instant::now();
        let request_id = client_id.filter(|v| is_sound_id(v.as_bytes())).cloned().unwrap_or_else(new_request_id);
        Self {
            started,
            method: request.method().clone(),
            uri: request.uri().clone(),
            client,
            request_id,
            in_flight: metrics.map(Metrics::start_request),
        }
    }

    /// When the request arrived.
    pub(crate) fn arrived(&self) -> Instant {
        self.started
    }

    pub(crate) fn request_id(&self) -> &HeaderValue {
        &self.request_id
    }

    pub(crate) fn path(&self) -> &str {
        self.uri.path()
    }

    /// Records the answer under `route` (its template) in the metrics and the access log, and
    /// gives it the request id. Called once: the id moves to the response, and the request stops
    /// counting as in flight.
    pub(crate) fn finish(&mut self, route: Option<&str>, response: &mut Response) {
        let elapsed = self.started.elapsed();
        if let Some(in_flight) = self.in_flight.take() {
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
        let request_id = std::mem::replace(&mut self.request_id, HeaderValue::from_static(""));
        response.headers_mut().insert(REQUEST_ID.clone(), request_id);
    }
}

fn is_sound_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|b| b.is_ascii_graphic())
}

/// A new request id: a random (version 4) UUID.
///
/// Request ids must be unique, not secret, so the bits come from the thread's fast generator
/// rather than a cryptographic one. They are made [`IDS_PER_BATCH`] at a time into one buffer
/// that each id then shares: an id costs no allocation, and its clones (the request's log scope,
/// blocking work) only count references. With a fresh `HeaderValue` per id, the id and its
/// first clone each cost an allocation; together with the cryptographic generator that was
/// about 500 instructions per request on `/health/live` (BENCHMARKS.md).
fn new_request_id() -> HeaderValue {
    IDS.with_borrow_mut(|(batch, left)| {
        if *left == 0 {
            let mut text = Vec::with_capacity(ID_LEN * IDS_PER_BATCH);
            for _ in 0..IDS_PER_BATCH {
                let id = uuid::Builder::from_random_bytes(fastrand::u128(..).to_ne_bytes()).into_uuid();
                text.extend_from_slice(id.hyphenated().encode_lower(&mut [0; ID_LEN]).as_bytes());
            }
            *batch = Bytes::from(text);
            *left = IDS_PER_BATCH;
        }
        *left -= 1;
        let at = *left * ID_LEN;
        HeaderValue::from_maybe_shared(batch.slice(at..at + ID_LEN)).unwrap_or_else(|_| HeaderValue::from_static("-"))
    })
}

/// The length of a UUID's text.
const ID_LEN: usize = 36;
/// How many ids are made at a time.
const IDS_PER_BATCH: usize = 128;

thread_local! {
    /// This thread's batch of request ids, and how many of them are not handed out yet.
    static IDS: RefCell<(Bytes, usize)> = const { RefCell::new((Bytes::new(), 0)) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_version_4_uuids_and_differ() {
        let ids: Vec<HeaderValue> = (0..3 * IDS_PER_BATCH).map(|_| new_request_id()).collect();
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id.to_str().unwrap()).unwrap();
            assert_eq!(parsed.get_version(), Some(uuid::Version::Random), "{id:?}");
            assert_eq!(id.len(), 36, "{id:?}");
        }
        let distinct: std::collections::HashSet<&[u8]> = ids.iter().map(HeaderValue::as_bytes).collect();
        assert_eq!(distinct.len(), ids.len());
    }
}
