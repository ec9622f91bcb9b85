//! What the edge records of each request: the request id (kept from the client when sound,
//! else generated; carried by every line logged inside the request through
//! [`Observed::in_scope`]), one access-log line and the request metrics.

use std::{
    cell::RefCell,
    net::IpAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderName, HeaderValue, Method, uri::PathAndQuery},
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
    /// The path and query: all of the URI the access line and the route template need, and
    /// half its size (the edge's record of a request is moved a few times).
    path_and_query: Option<PathAndQuery>,
    client: Option<IpAddr>,
    /// `None` once the id has gone to the response. While the router answers, it is also the
    /// request's log scope ([`Self::in_scope`]).
    request_id: Option<HeaderValue>,
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
            path_and_query: request.uri().path_and_query().cloned(),
            client,
            request_id: Some(request_id),
            in_flight: metrics.map(Metrics::start_request),
        }
    }

    /// When the request arrived.
    pub(crate) fn arrived(&self) -> Instant {
        self.started
    }

    /// The request id, for the answer's `X-Request-Id` (a copy: the access line writes it too).
    pub(crate) fn request_id(&self) -> HeaderValue {
        self.request_id.clone().unwrap_or_else(|| HeaderValue::from_static("-"))
    }

    /// Runs `work` (a poll of the request's future) in the request's log scope: lines it logs
    /// carry the id. The id itself is lent to the scope, not cloned for it.
    pub(crate) fn in_scope<R>(&mut self, work: impl FnOnce() -> R) -> R {
        telemetry::scoped(&mut self.request_id, work)
    }

    /// The request's path, as `Uri::path` says it.
    pub(crate) fn path(&self) -> &str {
        path_of(self.path_and_query.as_ref())
    }

    /// Records the answer under `route` (its template) in the metrics and the access log.
    /// Called once: the request stops counting as in flight.
    pub(crate) fn finish(&mut self, route: Option<&str>, response: &mut Response) {
        let elapsed = self.started.elapsed();
        if let Some(in_flight) = self.in_flight.take() {
            in_flight.metrics().record_request(&self.method, route, response.status(), elapsed);
        }
        let error = response.extensions().get::<InternalError>().map(|InternalError(cause)| cause.clone());
        let request_id = self.request_id.take().unwrap_or_else(|| HeaderValue::from_static("-"));
        match http_body::Body::size_hint(response.body()).exact() {
            Some(bytes) => telemetry::log_access(&AccessRecord {
                // Sound ids are visible ASCII: `from_utf8` checks that faster than `to_str`.
                request_id: std::str::from_utf8(request_id.as_bytes()).unwrap_or(""),
                method: self.method.as_str(),
                route,
                path: self.path(),
                status: response.status().as_u16(),
                latency: elapsed,
                bytes: Some(bytes),
                client: self.client,
                error: error.as_deref(),
            }),
            // A body whose length is known only once sent (compressed, streamed, gRPC): its line
            // is written when the body is done, with the bytes it sent.
            None => {
                let line = PendingLine {
                    request_id,
                    method: self.method.clone(),
                    route: route.map(Box::from),
                    path_and_query: self.path_and_query.clone(),
                    status: response.status().as_u16(),
                    latency: elapsed,
                    client: self.client,
                    error,
                };
                let body = std::mem::take(response.body_mut());
                *response.body_mut() = Body::new(CountedBody { inner: body, sent: 0, line: Some(line) });
            }
        }
    }
}

/// The path of a request's URI whose path and query are `path_and_query` (`None` for an
/// authority-form target), as `Uri::path` says it.
fn path_of(path_and_query: Option<&PathAndQuery>) -> &str {
    path_and_query.map_or("", PathAndQuery::path)
}

/// The access line of a response whose body is still being sent.
struct PendingLine {
    request_id: HeaderValue,
    method: Method,
    route: Option<Box<str>>,
    path_and_query: Option<PathAndQuery>,
    status: u16,
    latency: Duration,
    client: Option<IpAddr>,
    error: Option<Arc<str>>,
}

pin_project_lite::pin_project! {
    /// A response body that counts the bytes it sends and writes its access line once dropped:
    /// when sent in full, or when the client went away mid-body (then with the bytes sent).
    struct CountedBody {
        #[pin]
        inner: Body,
        sent: u64,
        line: Option<PendingLine>,
    }

    impl PinnedDrop for CountedBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(line) = this.line.take() {
                telemetry::log_access(&AccessRecord {
                    request_id: std::str::from_utf8(line.request_id.as_bytes()).unwrap_or(""),
                    method: line.method.as_str(),
                    route: line.route.as_deref(),
                    path: path_of(line.path_and_query.as_ref()),
                    status: line.status,
                    latency: line.latency,
                    bytes: Some(*this.sent),
                    client: line.client,
                    error: line.error.as_deref(),
                });
            }
        }
    }
}

impl http_body::Body for CountedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        if let Some(Ok(data)) = frame.as_ref().map(|frame| frame.as_ref().map(http_body::Frame::data_ref)) {
            *this.sent += data.map_or(0, |data| data.len() as u64);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// 1-128 visible ASCII characters, none of them `"` or `\`: an id that goes into JSON log
/// lines as it is, with nothing to escape (the access line writes it unchecked).
fn is_sound_id(id: &[u8]) -> bool {
    (1..=128).contains(&id.len()) && id.iter().all(|&b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
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
                text.extend_from_slice(&uuid_v4_text(fastrand::u128(..)));
            }
            *batch = Bytes::from(text);
            *left = IDS_PER_BATCH;
        }
        *left -= 1;
        let at = *left * ID_LEN;
        HeaderValue::from_maybe_shared(batch.slice(at..at + ID_LEN)).unwrap_or_else(|_| HeaderValue::from_static("-"))
    })
}

/// The text of a version 4 UUID made of `random`'s bits
/// (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lower case).
///
/// Eight digits at a time in a `u64` rather than through `uuid`'s formatter, which looks up
/// each digit on its own: its text was about 180 instructions per request.
fn uuid_v4_text(random: u128) -> [u8; ID_LEN] {
    let mut bytes = random.to_be_bytes();
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
    bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
    let word = |at: usize| hex_digits(u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]));
    let [first, second, third, fourth] = [word(0), word(4), word(8), word(12)].map(u64::to_be_bytes);
    let mut text = [b'-'; ID_LEN];
    text[0..8].copy_from_slice(&first);
    text[9..13].copy_from_slice(&second[..4]);
    text[14..18].copy_from_slice(&second[4..]);
    text[19..23].copy_from_slice(&third[..4]);
    text[24..28].copy_from_slice(&third[4..]);
    text[28..36].copy_from_slice(&fourth);
    text
}

/// The eight lower-case hex digits of `word`, most significant first (in big-endian order).
fn hex_digits(word: u32) -> u64 {
    // Spread the nibbles, one per byte, the most significant in the highest byte.
    let mut spread = u64::from(word);
    spread = (spread | (spread << 16)) & 0x0000_ffff_0000_ffff;
    spread = (spread | (spread << 8)) & 0x00ff_00ff_00ff_00ff;
    spread = (spread | (spread << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
    // Each byte is 0-15: `'0' + n`, plus the gap from `'9' + 1` to `'a'` where n > 9.
    let letters = ((spread + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    spread + 0x3030_3030_3030_3030 + letters * u64::from(b'a' - b'9' - 1)
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
    fn client_ids_are_kept_only_when_logs_can_carry_them_as_they_are() {
        assert!(is_sound_id(b"trace-me-1"));
        assert!(is_sound_id(b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert!(is_sound_id(&[b'a'; 128]));
        for unsound in
            [&b""[..], &[b'a'; 129], b"two words", b"say\"hi\"", b"back\\slash", b"tab\there", "caf\u{e9}".as_bytes()]
        {
            assert!(!is_sound_id(unsound), "{:?}", String::from_utf8_lossy(unsound));
        }
    }

    #[test]
    fn the_path_kept_is_the_uri_s_path() {
        for target in
            ["/api/v1/patients/7?x=1", "/", "*", "http://example.com/a?b", "http://example.com", "example.com:443"]
        {
            let uri: axum::http::Uri = target.parse().unwrap();
            assert_eq!(path_of(uri.path_and_query()), uri.path(), "{target}");
        }
    }

    #[test]
    fn id_text_is_what_the_uuid_crate_writes() {
        for random in [0, u128::MAX, 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210, 1 << 127, 0xa5]
            .into_iter()
            .chain((0..1000).map(|_| fastrand::u128(..)))
        {
            let text = uuid_v4_text(random);
            let expected = uuid::Builder::from_random_bytes(random.to_be_bytes()).into_uuid().hyphenated().to_string();
            assert_eq!(std::str::from_utf8(&text).unwrap(), expected, "{random:#x}");
        }
    }

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
