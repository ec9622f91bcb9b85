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
    Router,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use pprof::protos::Message as _;
use serde::Deserialize;

use crate::http::{Problem, Query};

/// Path prefix of the profiling routes (the request deadline does not apply below it).
pub const PREFIX: &str = "/debug/pprof/";
/// Samples per second.
const FREQUENCY: i32 = 99;
/// Set while a profile is being taken.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// The profiling routes.
pub fn routes() -> Router {
    Router::new().route("/debug/pprof/profile", get(profile))
}

#[derive(Debug, Deserialize)]
struct ProfileParams {
    seconds: Option<u64>,
}

async fn profile(Query(params): Query<ProfileParams>) -> Result<Response, Problem> {
    let seconds = params.seconds.unwrap_or(10);
    if !(1..=60).contains(&seconds) {
        return Err(Problem::bad_request("seconds must be from 1 to 60"));
    }
    if RUNNING.swap(true, Ordering::SeqCst) {
        return Err(Problem::conflict("a profile is already being taken; try again when it is done"));
    }
    let taken = tokio::task::spawn_blocking(move || take_profile(Duration::from_secs(seconds))).await;
    RUNNING.store(false, Ordering::SeqCst);
    let bytes = taken.map_err(|e| Problem::internal(e.to_string()))?.map_err(Problem::internal)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    response
        .headers_mut()
        .insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"profile.pb\""));
    Ok(response)
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
