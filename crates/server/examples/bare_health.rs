//! The benchmark's reference: `/health/live` on plain axum with no middleware and no logging,
//! so `bench/http.sh` can state what Ferrum's platform stack costs on the same route.
//!
//! `cargo run --release -p ferrum-server --example bare_health -- 127.0.0.1:18100`

use axum::{Json, Router, routing::get};
use serde_json::json;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18100".into());
    let router = Router::new().route("/health/live", get(|| async { Json(json!({"status": "up"})) }));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, router).await
}
