//! The request a log line belongs to: every line logged while a request is served carries its
//! `request_id` (SPEC 1.7).
//!
//! A thread-local slot that holds the id while the request's future is polled, rather than a
//! `tracing` span per request: creating a span in the registry, formatting its fields, and
//! entering and leaving it on every poll cost about 5,000 instructions per request, an eighth
//! of `/health/live` (BENCHMARKS.md); the slot costs two swaps per poll. It follows the
//! request's polls, whichever thread they run on. Work handed to another thread takes it along:
//! [`RequestScope::current`] before, [`RequestScope::run`] on the other side.
//!
//! Our own slot rather than tokio's `task_local!`, which works the same way but only around a
//! future of its own: the edge would have to move the router's whole future into that wrapper,
//! and poll through one more level, about 190 instructions per request on `/health/live`
//! (BENCHMARKS.md). [`scoped`] lets the edge's own future enter the scope in its poll.

use std::{
    cell::RefCell,
    future::Future,
    pin::Pin,
    task::{Context, Poll},
};

use axum::http::HeaderValue;

thread_local! {
    /// The id of the request whose code runs on this thread now, if any.
    static REQUEST_ID: RefCell<Option<HeaderValue>> = const { RefCell::new(None) };
}

/// Runs `work` as part of the request whose id is in `slot` (none: outside any request). The
/// id is moved into the thread's slot for the call and back into `slot` afterwards, also when
/// `work` panics; the request it interrupts, if any, is the current one again after.
pub(crate) fn scoped<R>(slot: &mut Option<HeaderValue>, work: impl FnOnce() -> R) -> R {
    /// Swaps the ids back when the call ends, however it ends.
    struct Restore<'a>(&'a mut Option<HeaderValue>);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            swap(self.0);
        }
    }
    fn swap(slot: &mut Option<HeaderValue>) {
        // Only fails while the thread is being torn down: then no request is served on it.
        let _ = REQUEST_ID.try_with(|current| {
            if let Ok(mut current) = current.try_borrow_mut() {
                std::mem::swap(&mut *current, slot);
            }
        });
    }
    swap(slot);
    let _restore = Restore(slot);
    work()
}

/// Runs `future` as part of the request `id`: lines logged while it is polled carry the id.
pub fn in_request<F: Future>(id: HeaderValue, future: F) -> InRequest<F> {
    InRequest { id: Some(id), future }
}

pin_project_lite::pin_project! {
    /// A future polled as part of a request: see [`in_request`].
    pub struct InRequest<F> {
        id: Option<HeaderValue>,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for InRequest<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        scoped(this.id, || this.future.poll(cx))
    }
}

/// The request being served on this task, if any, to carry to another thread.
#[derive(Clone, Debug, Default)]
pub struct RequestScope(Option<HeaderValue>);

impl RequestScope {
    /// The current task's request (none outside a request).
    pub fn current() -> Self {
        Self(current_id())
    }

    /// Runs `work` (on any thread) as part of this request.
    pub fn run<R>(mut self, work: impl FnOnce() -> R) -> R {
        scoped(&mut self.0, work)
    }
}

fn current_id() -> Option<HeaderValue> {
    REQUEST_ID.try_with(|current| current.try_borrow().ok().and_then(|id| id.clone())).ok().flatten()
}

/// Calls `with` with the current request's id, `None` outside a request.
pub(crate) fn with_request_id<R>(with: impl FnOnce(Option<&str>) -> R) -> R {
    let id = current_id();
    with(id.as_ref().and_then(|id| id.to_str().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen() -> Option<String> {
        with_request_id(|id| id.map(str::to_owned))
    }

    #[tokio::test]
    async fn the_id_is_seen_inside_the_request_and_carried_to_other_threads() {
        assert_eq!(seen(), None);
        let inside = in_request(HeaderValue::from_static("r-7"), async {
            let here = seen();
            let scope = RequestScope::current();
            let there = std::thread::spawn(move || scope.run(seen));
            (here, there.join().ok().flatten())
        })
        .await;
        assert_eq!(inside, (Some("r-7".to_owned()), Some("r-7".to_owned())));
        assert!(RequestScope::current().run(|| seen().is_none()));
    }

    #[tokio::test]
    async fn the_id_stays_with_its_request_across_pauses_and_interleaved_requests() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let first = in_request(HeaderValue::from_static("first"), async {
            let before = seen();
            let _ = rx.await;
            (before, seen())
        });
        let second = in_request(HeaderValue::from_static("second"), async {
            let during = seen();
            let _ = tx.send(());
            during
        });
        let ((before, after), during) = tokio::join!(first, second);
        assert_eq!((before.as_deref(), after.as_deref()), (Some("first"), Some("first")));
        assert_eq!(during.as_deref(), Some("second"));
        assert_eq!(seen(), None, "nothing is left behind between polls");
    }

    #[test]
    fn nested_scopes_restore_the_outer_one_even_after_a_panic() {
        let mut outer = Some(HeaderValue::from_static("outer"));
        scoped(&mut outer, || {
            let mut inner = Some(HeaderValue::from_static("inner"));
            let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                scoped(&mut inner, || {
                    assert_eq!(seen().as_deref(), Some("inner"));
                    panic!("inside");
                })
            }));
            assert!(caught.is_err());
            assert_eq!(inner.as_ref().map(HeaderValue::as_bytes), Some(&b"inner"[..]), "the id came back");
            assert_eq!(seen().as_deref(), Some("outer"));
        });
        assert_eq!(outer.as_ref().map(HeaderValue::as_bytes), Some(&b"outer"[..]));
        assert_eq!(seen(), None);
    }
}
