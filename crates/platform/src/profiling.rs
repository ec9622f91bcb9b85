//! `GET /debug/pprof/profile?seconds=N` (only with `--profiling`): a CPU profile of the whole
//! process in pprof's protobuf format, for `go tool pprof` or any pprof viewer.
//!
//! Sampling runs on a blocking thread for the asked duration (1 to 60 s, default 10); one
//! profile at a time, since the sampler is process-wide.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use pprof::protos::Message as _;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    http::{Problem, Query},
    openapi::{BadRequest, Conflict},
};

/// Path prefix of the profiling routes (the request deadline does not apply below it).
pub const PREFIX: &str = "/debug/pprof/";
/// Samples per second.
const FREQUENCY: i32 = 99;
/// Set while a profile is being taken.
static RUNNING: AtomicBool = AtomicBool::new(false);

#[derive(OpenApi)]
#[openapi(tags((name = "profiling", description = "CPU profiles on demand; mounted only with `--profiling`. No authentication: expose it only where operators alone can reach it.")))]
struct ProfilingApi;

/// The profiling routes, with their part of the OpenAPI document.
pub fn routes() -> OpenApiRouter {
    OpenApiRouter::with_openapi(ProfilingApi::openapi()).routes(routes!(profile))
}

/// The query of a profile request.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ProfileParams {
    /// How long to sample, 1 to 60 seconds (default 10).
    #[param(minimum = 1, maximum = 60)]
    seconds: Option<u64>,
}

/// Take a CPU profile of the whole process.
///
/// Samples at 99 Hz for `seconds` and answers a pprof protobuf (`go tool pprof -http :0
/// profile.pb`). One profile at a time; the request deadline does not cut it.
#[utoipa::path(
    get, path = "/debug/pprof/profile", tag = "profiling",
    params(ProfileParams),
    responses(
        (status = 200, description = "The profile, pprof protobuf, as `profile.pb`.",
            content((String = "application/octet-stream"))),
        (status = 400, response = BadRequest),
        (status = 409, response = Conflict),
    )
)]
async fn profile(Query(params): Query<ProfileParams>) -> Result<Response, Problem> {
    let seconds = params.seconds.unwrap_or(10);
    if !(1..=60).contains(&seconds) {
        return Err(Problem::bad_request("seconds must be from 1 to 60"));
    }
    let busy = Busy::claim()
        .ok_or_else(|| Problem::conflict("a profile is already being taken; try again when it is done"))?;
    // The claim travels with the sampling, not with this future: a client that leaves mid-profile
    // drops the future, but the sampler runs on and frees the claim when it is done.
    let taken = tokio::task::spawn_blocking(move || {
        let _busy = busy;
        take_profile(Duration::from_secs(seconds))
    })
    .await;
    let bytes = taken.map_err(|e| Problem::internal(e.to_string()))?.map_err(Problem::internal)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"profile.pb\""));
    Ok(response)
}

/// The one profile being taken; dropping it lets the next one start, however the taking ends
/// (done, failed, or panicked).
#[derive(Debug)]
struct Busy;

impl Busy {
    /// The claim, unless a profile is already being taken.
    fn claim() -> Option<Self> {
        // No `then_some(Busy)`: that makes a `Busy` even on refusal, and dropping it would free
        // the profiler that another request holds.
        if RUNNING.swap(true, Ordering::SeqCst) { None } else { Some(Busy) }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::SeqCst);
    }
}

fn take_profile(duration: Duration) -> Result<Vec<u8>, String> {
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(FREQUENCY)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(|e| format!("cannot start the profiler: {e}"))?;
    std::thread::sleep(duration);
    let report = guard.report().build().map_err(|e| format!("cannot build the profile: {e}"))?;
    let profile = report.pprof().map_err(|e| format!("cannot encode the profile: {e}"))?;
    let mut bytes = Vec::with_capacity(profile.encoded_len());
    profile.encode(&mut bytes).map_err(|e| format!("cannot encode the profile: {e}"))?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use axum::{Router, body::Body, http::Request};
    use tower::ServiceExt as _;

    use super::*;

    fn request(seconds: u64) -> Request<Body> {
        Request::get(format!("/debug/pprof/profile?seconds={seconds}")).body(Body::empty()).unwrap()
    }

    /// A client that leaves mid-profile must not leave the profiler busy for good (it did: the
    /// flag was freed by the handler's future, which is dropped with the connection).
    #[tokio::test]
    async fn a_client_that_leaves_mid_profile_frees_the_profiler() {
        let router = Router::from(routes());
        let left = tokio::time::timeout(Duration::from_millis(200), router.clone().oneshot(request(1))).await;
        assert!(left.is_err(), "the first profile should still be running when its client leaves");
        assert_eq!(router.clone().oneshot(request(1)).await.unwrap().status(), StatusCode::CONFLICT);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let response = router.clone().oneshot(request(1)).await.unwrap();
            let status = response.status();
            if status == StatusCode::OK {
                break;
            }
            let ext = response.extensions().get::<crate::http::problem::InternalError>().cloned();
            assert_eq!(status, StatusCode::CONFLICT, "{ext:?}");
            assert!(Instant::now() < deadline, "the profiler stayed busy after its client left");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
