//! The request a log line belongs to: every line logged while a request is served carries its
//! `request_id` (SPEC 1.7).
//!
//! A task-local rather than a `tracing` span per request: creating a span in the registry,
//! formatting its fields, and entering and leaving it on every poll cost about 5,000
//! instructions per request, an eighth of `/health/live` (BENCHMARKS.md); a task-local costs a
//! swap of one slot per poll. It follows the request's task. Work handed to another thread
//! takes it along: [`RequestScope::current`] before, [`RequestScope::run`] on the other side.

use std::future::Future;

use axum::http::HeaderValue;
use tokio::task::futures::TaskLocalFuture;

tokio::task_local! {
    static REQUEST_ID: HeaderValue;
}

/// Runs `future` as part of the request `id`: lines logged while it is polled carry the id.
pub fn in_request<F: Future>(id: HeaderValue, future: F) -> TaskLocalFuture<HeaderValue, F> {
    REQUEST_ID.scope(id, future)
}

/// The request being served on this task, if any, to carry to another thread.
#[derive(Clone, Debug, Default)]
pub struct RequestScope(Option<HeaderValue>);

impl RequestScope {
    /// The current task's request (none outside a request).
    pub fn current() -> Self {
        Self(REQUEST_ID.try_with(Clone::clone).ok())
    }

    /// Runs `work` (on any thread) as part of this request.
    pub fn run<R>(self, work: impl FnOnce() -> R) -> R {
        match self.0 {
            Some(id) => REQUEST_ID.sync_scope(id, work),
            None => work(),
        }
    }
}

/// Calls `with` with the current request's id, `None` outside a request.
pub(crate) fn with_request_id<R>(with: impl FnOnce(Option<&str>) -> R) -> R {
    let id = REQUEST_ID.try_with(Clone::clone).ok();
    with(id.as_ref().and_then(|id| id.to_str().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_seen_inside_the_request_and_carried_to_other_threads() {
        assert_eq!(with_request_id(|id| id.map(str::to_owned)), None);
        let inside = in_request(HeaderValue::from_static("r-7"), async {
            let here = with_request_id(|id| id.map(str::to_owned));
            let scope = RequestScope::current();
            let there = std::thread::spawn(move || scope.run(|| with_request_id(|id| id.map(str::to_owned))));
            (here, there.join().ok().flatten())
        })
        .await;
        assert_eq!(inside, (Some("r-7".to_owned()), Some("r-7".to_owned())));
        assert!(RequestScope::current().run(|| with_request_id(|id| id.is_none())));
    }
}
