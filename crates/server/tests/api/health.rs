use std::time::Duration;

use ferrum_server::BUILD;
use ferrum_testkit::{Backend, TestDb, both_backends};
use serde_json::Value;

use crate::Server;

async fn serves_health_and_the_enabled_modules(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let server = Server::start(&db.url, &[]);
    server.wait_ready(Duration::from_secs(10)).await;

    let health = server.client.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let health: Value = health.json().await.unwrap();
    assert_eq!(health["status"], "up");
    assert_eq!(health["message"], "OK");
    assert_eq!(health["version"], BUILD.version);
    assert_eq!(health["build_date"], BUILD.build_date);
    assert_eq!(health["checks"]["database"], "up");
    assert_eq!(server.status("/health/live").await, 200);

    let unknown = server.client.get(server.url("/nowhere")).header("x-request-id", "trace-me-1").send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    assert_eq!(unknown.headers()["x-request-id"], "trace-me-1");
    assert_eq!(unknown.headers()["content-type"], "application/problem+json");

    // Patients is mounted and guarded; the generated token opens it.
    assert_eq!(server.status("/api/v1/patients").await, 401);
    let token = server.token().await;
    let list = server.client.get(server.url("/api/v1/patients")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(list.status(), 200);
    server.stop().await.unwrap();
}

async fn production_hides_the_token_route(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let key = "a-production-key-of-at-least-32-bytes!";
    let server = Server::start(&db.url, &["--env", "production", "--jwt-signing-key", key]);
    server.wait_ready(Duration::from_secs(10)).await;
    assert_eq!(server.status("/generate-token").await, 404);
    server.stop().await.unwrap();
}

async fn modules_can_be_switched_off(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let server = Server::start(&db.url, &["--modules", "care"]);
    server.wait_ready(Duration::from_secs(10)).await;
    assert_eq!(server.status("/api/v1/patients").await, 404);
    assert_eq!(server.status("/health").await, 200);
    server.stop().await.unwrap();
}

both_backends!(serves_health_and_the_enabled_modules, production_hides_the_token_route, modules_can_be_switched_off);
