//! Lingering after a 413, as nginx's lingering close does: the rest of an oversized HTTP/1 body
//! is read and thrown away after the answer is made, so that a client that writes its whole
//! body before it reads (Python's `urllib`, for one) reads the 413 instead of a broken pipe.
//!
//! Without it, hyper stops reading a body nobody reads and closes the connection once it has
//! answered; the client, still sending, gets a reset, and the answer it was sent is lost with
//! the connection. With it, the answer goes out at once while a task of its own reads the
//! body (bounded, see below); when the body ends, a kept-alive connection serves the next
//! request. Beyond the bounds the connection is closed, as before.
//!
//! Only the 413 pays: a declared length over the cap is refused in [`refuse_declared`], and a
//! body read through [`Lingering`] lingers on drop only once it has crossed the cap. HTTP/2
//! needs none of it (a stream is reset on its own, the connection goes on), nor does a client
//! that asked `Expect: 100-continue` and was not told to go on (it sends no body).

use std::{
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    body::Body,
    extract::Request,
    http::{Version, header},
};
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::BodyExt as _;
use tokio::time::Instant;

/// How much of an oversized body is read, at most: this many times the cap, and never less
/// than [`LINGER_BYTES_FLOOR`], so that a body a few times the cap is read to its end.
const LINGER_FACTOR: usize = 4;
/// See [`LINGER_FACTOR`].
const LINGER_BYTES_FLOOR: usize = 4 * 1024 * 1024;
/// How long an oversized body is read, at most, in all.
const LINGER_TIME: Duration = Duration::from_secs(5);
/// How long the reading waits for more of the body before it gives up (a client that waits for
/// the answer before it sends, or that stopped sending).
const LINGER_IDLE: Duration = Duration::from_secs(1);

/// The most of an oversized body that is read, for a cap of `cap` bytes.
fn linger_bytes(cap: usize) -> usize {
    cap.saturating_mul(LINGER_FACTOR).max(LINGER_BYTES_FLOOR)
}

/// Whether a request refused before its body was read can be lingered on.
fn may_linger(request: &Request) -> bool {
    let expect = request.headers().get(header::EXPECT);
    let waits_to_send = expect.is_some_and(|expect| expect.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    request.version() <= Version::HTTP_11 && !waits_to_send
}

/// Lingers on the body of `request`, refused for a declared length over `cap` before any of
/// it was read, when that length is within the bound.
#[cold]
pub(crate) fn refuse_declared(request: Request, declared: u64, cap: usize) {
    if may_linger(&request) && declared <= linger_bytes(cap) as u64 {
        linger(request.into_body(), linger_bytes(cap));
    }
}

/// A request body that, dropped after crossing the cap (the extractors then answer 413),
/// lingers on the rest of it. It sits under `http_body_util::Limited`, which enforces the cap
/// and whose error the extractors recognise; the count of bytes here is what tells a body
/// dropped over the cap from one dropped for any other reason.
#[derive(Debug)]
pub(crate) struct Lingering {
    body: Body,
    read: usize,
    /// The cap; `usize::MAX` (never crossed) where lingering is not needed (HTTP/2).
    linger_past: usize,
}

impl Lingering {
    /// `body`, of a request of `version`, under a cap of `cap` bytes.
    pub(crate) fn new(body: Body, cap: usize, version: Version) -> Self {
        let linger_past = if version <= Version::HTTP_11 { cap } else { usize::MAX };
        Self { body, read: 0, linger_past }
    }
}

impl http_body::Body for Lingering {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            let length = frame.data_ref().map_or(0, Bytes::len);
            self.read = self.read.saturating_add(length);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        http_body::Body::is_end_stream(&self.body)
    }

    fn size_hint(&self) -> SizeHint {
        http_body::Body::size_hint(&self.body)
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        if self.read > self.linger_past && !http_body::Body::is_end_stream(&self.body) {
            let budget = linger_bytes(self.linger_past).saturating_sub(self.read);
            linger(std::mem::take(&mut self.body), budget);
        }
    }
}

/// Reads and drops up to `budget` more bytes of `body` in a task of its own, within
/// [`LINGER_TIME`], giving up after [`LINGER_IDLE`] without any. Once the task drops the body,
/// hyper closes the connection if the body was not read to its end.
#[cold]
fn linger(mut body: Body, mut budget: usize) {
    // A body is dropped in a runtime, save when the runtime itself is going away.
    let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
    runtime.spawn(async move {
        let give_up = Instant::now() + LINGER_TIME;
        loop {
            let wait_until = give_up.min(Instant::now() + LINGER_IDLE);
            let Ok(Some(Ok(frame))) = tokio::time::timeout_at(wait_until, body.frame()).await else { return };
            let length = frame.data_ref().map_or(0, Bytes::len);
            match budget.checked_sub(length) {
                Some(left) => budget = left,
                None => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    };

    use futures_util::{StreamExt as _, stream};
    use http_body_util::Limited;
    use tokio::sync::oneshot;

    use super::*;

    /// A body of `chunks` chunks of `size` bytes, then `tail`; with the count of chunks read and
    /// a signal when the body is dropped.
    fn body_of(
        chunks: usize,
        size: usize,
        tail: impl futures_util::Stream<Item = Bytes> + Send + 'static,
    ) -> (Body, Arc<AtomicUsize>, oneshot::Receiver<()>) {
        let (dropped, on_drop) = oneshot::channel::<()>();
        let read = Arc::new(AtomicUsize::new(0));
        let counter = read.clone();
        let chunk = Bytes::from(vec![b'x'; size]);
        let frames = stream::iter(std::iter::repeat_n(chunk, chunks)).chain(tail).map(move |chunk| {
            let _alive = &dropped;
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, std::io::Error>(chunk)
        });
        (Body::from_stream(frames), read, on_drop)
    }

    /// Reads `body` under a cap of `cap` as the extractors do, failing at the cap, then drops it.
    async fn refused(body: Body, cap: usize, version: Version) {
        let capped = Limited::new(Lingering::new(body, cap, version), cap);
        assert!(capped.collect().await.is_err(), "over the cap");
    }

    /// Waits until the body is dropped (by the lingering task, or at once).
    async fn dropped(on_drop: oneshot::Receiver<()>) {
        let waited = tokio::time::timeout(Duration::from_secs(10), on_drop).await;
        assert!(waited.is_ok(), "the body was never dropped");
    }

    #[tokio::test]
    async fn an_http1_body_over_the_cap_is_read_to_its_end_after_the_refusal() {
        let (body, read, on_drop) = body_of(10, 10, stream::empty());
        refused(body, 16, Version::HTTP_11).await;
        dropped(on_drop).await;
        assert_eq!(read.load(Ordering::SeqCst), 10);
    }

    #[tokio::test]
    async fn http2_and_bodies_under_the_cap_are_not_lingered_on() {
        let (body, read, on_drop) = body_of(10, 10, stream::empty());
        refused(body, 16, Version::HTTP_2).await;
        dropped(on_drop).await;
        assert_eq!(read.load(Ordering::SeqCst), 2, "read up to the cap only");
        let (body, read, on_drop) = body_of(10, 10, stream::empty());
        drop(Lingering::new(body, 16, Version::HTTP_11));
        dropped(on_drop).await;
        assert_eq!(read.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn lingering_stops_at_the_byte_bound() {
        let mib = 1024 * 1024;
        let (body, read, on_drop) = body_of(10, mib, stream::empty());
        refused(body, 16, Version::HTTP_11).await;
        dropped(on_drop).await;
        // 4 MiB at most: the first four chunks are within it, the fifth crosses it.
        assert_eq!(read.load(Ordering::SeqCst), LINGER_BYTES_FLOOR / mib + 1);
    }

    /// Waits out `LINGER_IDLE` (a second) for real.
    #[tokio::test]
    async fn lingering_gives_up_on_a_client_that_stopped_sending() {
        let (body, read, on_drop) = body_of(2, 10, stream::pending());
        refused(body, 16, Version::HTTP_11).await;
        dropped(on_drop).await;
        assert_eq!(read.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn lingers_up_to_a_few_times_the_cap() {
        assert_eq!(linger_bytes(16), LINGER_BYTES_FLOOR);
        assert_eq!(linger_bytes(10 * 1024 * 1024), 40 * 1024 * 1024);
        assert_eq!(linger_bytes(usize::MAX), usize::MAX);
    }

    #[test]
    fn only_http1_requests_that_send_their_body_linger() {
        let request = |version: Version, expect: Option<&'static str>| {
            let mut request = Request::post("/").version(version);
            if let Some(expect) = expect {
                request = request.header(header::EXPECT, expect);
            }
            request.body(Body::empty()).unwrap()
        };
        assert!(may_linger(&request(Version::HTTP_11, None)));
        assert!(may_linger(&request(Version::HTTP_10, None)));
        assert!(!may_linger(&request(Version::HTTP_2, None)));
        assert!(!may_linger(&request(Version::HTTP_11, Some("100-Continue"))));
    }
}
