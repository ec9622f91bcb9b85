use std::time::Duration;

use ferrum_platform::db::{Backoff, query};
use ferrum_server::BUILD;
use ferrum_testkit::{Backend, TestDb, both_backends};
use serde_json::Value;

use crate::{QUICK_BACKOFF, Server};

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

/// The original Ferrum's FERRUM_DATABASE_HOST/PORT/USER/PASSWORD/NAME build the PostgreSQL URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_to_postgres_by_host_settings() {
    if !ferrum_testkit::postgres_enabled() {
        return;
    }
    let db = TestDb::new(Backend::Postgres, &[]).await;
    let (host, port) = (db.url.host_str().unwrap().to_owned(), db.url.port().unwrap_or(5432).to_string());
    let name = db.url.path().trim_start_matches('/').to_owned();
    let user = if db.url.username().is_empty() { "postgres".to_owned() } else { db.url.username().to_owned() };
    let mut args = vec!["--database-host", &host, "--database-port", &port, "--database-user", &user];
    args.extend(["--database-name", &name]);
    let password = db.url.password().map(str::to_owned);
    if let Some(password) = &password {
        args.extend(["--database-password", password]);
    }
    let server = Server::start_with(None, &args);
    server.wait_ready(Duration::from_secs(10)).await;
    let health: Value = server.client.get(server.url("/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["checks"]["database"], "up");
    // It migrated the named database, not another one.
    let tables: i64 = db
        .db
        .fetch_one(query("SELECT count(*) FROM information_schema.tables WHERE table_name = 'patients'"))
        .await
        .unwrap();
    assert_eq!(tables, 1);
    server.stop().await.unwrap();
}

/// PostgreSQL over TLS, as managed databases require: with `sslmode=require` every connection
/// the server opens is encrypted, and with `verify-ca` the server's certificate is checked
/// against `sslrootcert` (here the test server's own, self-signed one). Without TLS support
/// neither server would get ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_to_postgres_over_tls() {
    if !ferrum_testkit::postgres_enabled() {
        return;
    }
    let db = TestDb::new(Backend::Postgres, &[]).await;
    let ssl: String = db.db.fetch_one(query("SHOW ssl")).await.unwrap();
    assert_eq!(ssl, "on", "the PostgreSQL under test must accept TLS connections");
    let certificate: String = db.db.fetch_one(query("SHOW ssl_cert_file")).await.unwrap();

    for (name, mode) in [
        ("tls-require", "sslmode=require".to_owned()),
        ("tls-verify-ca", format!("sslmode=verify-ca&sslrootcert={certificate}")),
    ] {
        let mut url = db.url.clone();
        url.set_query(Some(&format!("{mode}&application_name={name}")));
        let server = Server::start(&url, &[]);
        server.wait_ready(Duration::from_secs(10)).await;
        let health: Value = server.client.get(server.url("/health")).send().await.unwrap().json().await.unwrap();
        assert_eq!(health["checks"]["database"], "up", "{mode}");
        let (encrypted, plain): (i64, i64) = db
            .db
            .fetch_one(
                query(
                    "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
                     FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = $1",
                )
                .bind(name),
            )
            .await
            .unwrap();
        assert!(encrypted >= 1 && plain == 0, "{mode}: {encrypted} encrypted, {plain} plain connections");
        server.stop().await.unwrap();
    }

    // A certificate no root vouches for is refused: the server never gets ready, and when it
    // gives up the reason names the certificate.
    let mut url = db.url.clone();
    url.set_query(Some("sslmode=verify-full"));
    let gives_up_soon = Backoff { give_up_after: Duration::from_secs(2), ..QUICK_BACKOFF };
    let server = Server::start_backing_off(Some(&url), &[], gives_up_soon);
    assert_ne!(server.status("/health/ready").await, 200, "verify-full trusted a self-signed certificate");
    let error = server.ended(Duration::from_secs(30)).await.expect_err("verify-full trusted a self-signed certificate");
    assert!(format!("{error:#}").to_lowercase().contains("certificate"), "{error:#}");
}

both_backends!(serves_health_and_the_enabled_modules, production_hides_the_token_route, modules_can_be_switched_off);
