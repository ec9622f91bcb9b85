//! `GET /metrics` (SPEC 1.6): Prometheus text, labelled by route template, switchable.

use std::time::Duration;

use ferrum_server::BUILD;
use ferrum_testkit::{Backend, TestDb, both_backends};
use serde_json::{Value, json};

use crate::Server;

/// The value of the sample whose name and labels are exactly `series`.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(server: &Server) -> String {
    let response = server.client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    response.text().await.unwrap()
}

async fn counts_requests_by_route_template(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let server = Server::start(&db.url, &[]);
    server.wait_ready(Duration::from_secs(10)).await;
    let token = server.token().await;
    let created = server
        .client
        .post(server.url("/api/v1/patients"))
        .bearer_auth(&token)
        .json(&json!({"first_name": "Heimdall"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let missing = id + 1000;
    for (path, status) in [(format!("/api/v1/patients/{id}"), 200), (format!("/api/v1/patients/{missing}"), 404)] {
        let response = server.client.get(server.url(&path)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
    }
    assert_eq!(server.status("/no/such/route").await, 404);

    let text = scrape(&server).await;
    let patient = |status: u16| format!(r#"method="GET",route="/api/v1/patients/{{id}}",status="{status}""#);
    assert_eq!(sample(&text, &format!("http_requests_total{{{}}}", patient(200))), Some(1.0), "{text}");
    assert_eq!(sample(&text, &format!("http_requests_total{{{}}}", patient(404))), Some(1.0), "{text}");
    let created = r#"http_requests_total{method="POST",route="/api/v1/patients",status="201"}"#;
    assert_eq!(sample(&text, created), Some(1.0), "{text}");
    let unmatched = r#"http_requests_total{method="GET",route="unmatched",status="404"}"#;
    assert_eq!(sample(&text, unmatched), Some(1.0), "{text}");
    // Never the raw path: ids and unknown paths would make a series each.
    for raw in [format!("/api/v1/patients/{id}\""), format!("/api/v1/patients/{missing}\""), "/no/such".into()] {
        assert!(!text.contains(&raw), "{raw} leaked into {text}");
    }

    let bucket = format!(r#"http_request_duration_seconds_bucket{{{},le="+Inf"}}"#, patient(200));
    assert_eq!(sample(&text, &bucket), Some(1.0), "{text}");
    assert_eq!(sample(&text, &format!("http_request_duration_seconds_count{{{}}}", patient(200))), Some(1.0));
    assert!(sample(&text, &format!("http_request_duration_seconds_sum{{{}}}", patient(200))).unwrap() > 0.0);
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"), "{text}");
    // The scrape itself is the one request in flight.
    assert_eq!(sample(&text, "http_requests_in_flight"), Some(1.0), "{text}");

    let build = format!(r#"ferrum_build_info{{version="{}",build_date="{}"}}"#, BUILD.version, BUILD.build_date);
    assert_eq!(sample(&text, &build), Some(1.0), "{text}");
    assert!(sample(&text, "ferrum_db_pool_connections").unwrap() >= 1.0, "{text}");
    match backend {
        Backend::Sqlite => {
            assert_eq!(sample(&text, "ferrum_db_sqlite_write_queue_depth"), Some(0.0), "{text}");
            assert!(sample(&text, "ferrum_db_sqlite_read_waits_total").is_some(), "{text}");
        }
        Backend::Postgres => {
            assert!(sample(&text, "ferrum_db_pool_idle_connections").is_some(), "{text}");
            assert_eq!(sample(&text, "ferrum_db_pool_max_connections"), Some(16.0), "{text}");
            assert!(sample(&text, "ferrum_db_pool_acquire_timeouts_total").is_some(), "{text}");
        }
    }
    if cfg!(target_os = "linux") {
        assert!(sample(&text, "process_cpu_seconds_total").unwrap() > 0.0, "{text}");
        assert!(sample(&text, "process_resident_memory_bytes").unwrap() > 1e6, "{text}");
        assert!(sample(&text, "process_open_fds").unwrap() >= 3.0, "{text}");
        assert!(sample(&text, "process_start_time_seconds").unwrap() > 1.6e9, "{text}");
    }
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn switched_off_it_is_not_mounted() {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let server = Server::start(&db.url, &["--metrics", "false"]);
    server.wait_ready(Duration::from_secs(10)).await;
    assert_eq!(server.status("/metrics").await, 404);
    assert_eq!(server.status("/health/live").await, 200);
    server.stop().await.unwrap();
}

/// While the database is unreachable at startup, /metrics already answers (without the pool).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_while_waiting_for_the_database() {
    let scratch = tempfile::tempdir().unwrap();
    let url = url::Url::parse(&format!("sqlite://{}/later/ferrum.db", scratch.path().display())).unwrap();
    let server = Server::start(&url, &[]);
    assert_eq!(server.status("/health/ready").await, 503);
    let text = scrape(&server).await;
    assert!(text.contains("ferrum_build_info{"), "{text}");
    let ready = r#"http_requests_total{method="GET",route="/health/ready",status="503"}"#;
    assert_eq!(sample(&text, ready), Some(1.0), "{text}");
    assert!(!text.contains("ferrum_db_pool_connections"), "{text}");
    server.stop().await.unwrap();
}

both_backends!(counts_requests_by_route_template);
