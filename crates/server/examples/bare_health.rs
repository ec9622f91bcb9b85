//! The benchmark's reference: `/health/live` on plain axum with no middleware and no logging,
//! so `bench/http.sh` can state what Ferrum's platform stack costs on the same route.
//!
//! With `--spec-headers`, each answer also carries the five headers SPEC 1.7 puts on every
//! answer of a server with CORS and a rate limit (`X-Request-Id`, the three `X-RateLimit-*`,
//! `Vary: origin`), with fixed values, inserted into a map with room for them: what those headers
//! alone cost, with nothing computed for them and nothing else of the stack.
//!
//! `cargo run --release -p ferrum-server --example bare_health -- 127.0.0.1:18100 [--spec-headers]`

use axum::{
    Json, Router,
    http::{HeaderName, HeaderValue},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

/// The five headers with values of the lengths Ferrum's benchmarks send (a UUID, a limit no run
/// reaches).
const SPEC_HEADERS: [(&str, &str); 5] = [
    ("x-ratelimit-limit", "1000000000"),
    ("x-ratelimit-remaining", "1000000000"),
    ("x-ratelimit-reset", "0"),
    ("vary", "origin"),
    ("x-request-id", "7d0fc69b-9623-4402-8586-6f511653405a"),
];

async fn live() -> Json<serde_json::Value> {
    Json(json!({"status": "up"}))
}

async fn live_with_spec_headers() -> Response {
    let mut response = live().await.into_response();
    let headers = response.headers_mut();
    // Room for them and the router's `Content-Length` first, so that the figure holds the
    // headers' own cost and not that of growing a map sized for fewer.
    headers.reserve(SPEC_HEADERS.len() + 1);
    for (name, value) in SPEC_HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    response
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18100".into());
    let router = match args.next().as_deref() {
        Some("--spec-headers") => Router::new().route("/health/live", get(live_with_spec_headers)),
        _ => Router::new().route("/health/live", get(live)),
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, router).await
}
