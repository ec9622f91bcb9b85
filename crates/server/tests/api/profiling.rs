//! `/debug/pprof/profile`, only with `--profiling`.

use std::time::Duration;

use ferrum_testkit::{Backend, TestDb};

use crate::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiles_on_demand_only_when_switched_on() {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let off = Server::start(&db.url, &[]);
    off.wait_ready(Duration::from_secs(10)).await;
    assert_eq!(off.status("/debug/pprof/profile?seconds=1").await, 404);
    off.stop().await.unwrap();

    // Longer than the request timeout: a profile is not cut by the deadline.
    let on = Server::start(&db.url, &["--profiling", "--timeout", "1s"]);
    on.wait_ready(Duration::from_secs(10)).await;
    for bad in ["0", "61", "soon"] {
        assert_eq!(on.status(&format!("/debug/pprof/profile?seconds={bad}")).await, 400, "{bad}");
    }
    let url = on.url("/debug/pprof/profile?seconds=2");
    let first = tokio::spawn(on.client.get(url).send());
    // The first profile has claimed the profiler once the server counts it in flight (its
    // claim comes before it first waits); the scrape counts itself too.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while in_flight(&on).await < 2.0 {
        assert!(tokio::time::Instant::now() < deadline, "the first profile never arrived");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = on.client.get(on.url("/debug/pprof/profile?seconds=1")).send().await.unwrap();
    assert_eq!(second.status(), 409, "one profile at a time");
    let problem: serde_json::Value = second.json().await.unwrap();
    assert_eq!(problem["detail"], "a profile is already being taken; try again when it is done");
    let response = first.await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    let bytes = response.bytes().await.unwrap();
    // A pprof Profile message starts with field 1 (sample_type), length-delimited.
    assert_eq!(bytes.first(), Some(&0x0a), "{} bytes", bytes.len());
    on.stop().await.unwrap();
}

/// `http_requests_in_flight` as `/metrics` reads it (the scrape included).
async fn in_flight(server: &Server) -> f64 {
    let text = server.client.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines().find_map(|line| line.strip_prefix("http_requests_in_flight ")?.parse().ok()).unwrap_or(0.0)
}
