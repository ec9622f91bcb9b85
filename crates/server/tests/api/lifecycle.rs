use std::time::Duration;

use ferrum_patients::store::Store;
use ferrum_testkit::{Backend, Gate, TestDb, both_backends};
use serde_json::{Value, json};

use crate::Server;

/// The database is unreachable at startup (SQLite: its directory does not exist yet;
/// PostgreSQL: a closed gate): live but not ready, then ready once it appears, with no restart.
async fn waits_for_the_database_then_serves(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let (unreachable, gate, scratch) = match backend {
        Backend::Sqlite => {
            let scratch = tempfile::tempdir().unwrap();
            let url = url::Url::parse(&format!("sqlite://{}/later/ferrum.db", scratch.path().display())).unwrap();
            (url, None, Some(scratch))
        }
        Backend::Postgres => {
            let (gate, url) = Gate::in_front_of(&db.url).await;
            (url, Some(gate), None)
        }
    };
    let server = Server::start(&unreachable, &[]);
    for _ in 0..5 {
        assert_eq!(server.status("/health/live").await, 200);
        assert_eq!(server.status("/health/ready").await, 503);
        assert_eq!(server.status("/health").await, 503);
        assert_eq!(server.status("/api/v1/patients").await, 503);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    match (&gate, &scratch) {
        (Some(gate), _) => gate.open(),
        (None, Some(scratch)) => std::fs::create_dir(scratch.path().join("later")).unwrap(),
        (None, None) => unreachable!(),
    }
    server.wait_ready(Duration::from_secs(10)).await;
    let token = server.token().await;
    let created = server
        .client
        .post(server.url("/api/v1/patients"))
        .bearer_auth(&token)
        .json(&json!({"first_name": "Late"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    server.stop().await.unwrap();
}

async fn a_stop_signal_ends_the_wait_for_the_database(backend: Backend) {
    let url = match backend {
        Backend::Sqlite => url::Url::parse("sqlite:///nonexistent-dir-for-ferrum-tests/x/ferrum.db").unwrap(),
        Backend::Postgres => url::Url::parse("postgres://postgres@127.0.0.1:1/none").unwrap(),
    };
    let server = Server::start(&url, &[]);
    assert_eq!(server.status("/health/live").await, 200);
    server.stop().await.unwrap();
}

/// Stop in the middle of a burst of creates: every 201 is in the database afterwards, and the
/// server exits cleanly.
async fn acknowledged_writes_survive_a_stop_mid_burst(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let server = Server::start(&db.url, &[]);
    server.wait_ready(Duration::from_secs(10)).await;
    let token = server.token().await;
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut writers = Vec::new();
    for n in 0..200 {
        let (client, url, token, done) =
            (server.client.clone(), server.url("/api/v1/patients"), token.clone(), done_tx.clone());
        writers.push(tokio::spawn(async move {
            let response =
                client.post(url).bearer_auth(token).json(&json!({"first_name": format!("P{n}")})).send().await;
            let _ = done.send(());
            match response {
                Ok(r) if r.status() == 201 => Some(r.json::<Value>().await.ok()?["id"].as_i64()?),
                _ => None,
            }
        }));
    }
    for _ in 0..40 {
        done_rx.recv().await;
    }
    server.stop().await.unwrap();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(acknowledged.len() >= 40, "only {} acknowledged", acknowledged.len());
    let store = Store::new(db.db.clone());
    for id in acknowledged {
        assert!(store.find(id).await.unwrap().is_some(), "patient {id} was acknowledged but is missing");
    }
}

/// PostgreSQL goes away while serving: requests answer 503 within the request timeout, readiness
/// turns 503, and both recover with no restart when it returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_answers_503_then_recovers() {
    if !ferrum_testkit::postgres_enabled() {
        return;
    }
    let db = TestDb::new(Backend::Postgres, &[]).await;
    let (gate, through) = Gate::in_front_of(&db.url).await;
    gate.open();
    let server = Server::start(&through, &["--timeout", "1s"]);
    server.wait_ready(Duration::from_secs(10)).await;
    let token = server.token().await;
    let get = |path: &'static str| {
        let request = server.client.get(server.url(path)).bearer_auth(&token);
        async move {
            let started = std::time::Instant::now();
            let response = request.send().await.unwrap();
            (response.status().as_u16(), started.elapsed(), response.text().await.unwrap())
        }
    };
    assert_eq!(get("/api/v1/patients").await.0, 200);

    gate.close();
    let (status, took, body) = get("/api/v1/patients").await;
    assert_eq!(status, 503, "{body}");
    assert!(took < Duration::from_millis(1500), "took {took:?}");
    assert!(body.contains("database is unavailable") && !body.contains("sqlx"), "{body}");
    assert_eq!(get("/health/ready").await.0, 503);

    gate.open();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while get("/api/v1/patients").await.0 != 200 {
        assert!(tokio::time::Instant::now() < deadline, "did not recover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(get("/health/ready").await.0, 200);
    server.stop().await.unwrap();
}

both_backends!(
    waits_for_the_database_then_serves,
    a_stop_signal_ends_the_wait_for_the_database,
    acknowledged_writes_survive_a_stop_mid_burst,
);
