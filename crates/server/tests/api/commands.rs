//! `ferrum migrate`, `healthcheck`, `token` and `config`, run as an operator would.

use std::{process::Command, time::Duration};

use ferrum_platform::auth::AuthKeys;
use ferrum_testkit::{Backend, TEST_SIGNING_KEY, TestDb, both_backends, test_auth_config};

use crate::Server;

fn ferrum() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrum"));
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

fn stdout(command: &mut Command) -> (Option<i32>, String, String) {
    let output = command.output().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (output.status.code(), text(output.stdout), text(output.stderr))
}

async fn migrate_applies_once(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let url = db.url.to_string();
    let first = stdout(ferrum().args(["migrate", "--database-url", &url, "--log-level", "warn"]));
    assert_eq!(first.0, Some(0), "{first:?}");
    // Every module's migrations, all modules being on by default.
    let expected: usize =
        ferrum_server::MODULES.iter().filter_map(|module| module.migrations).map(|set| set.migrations.len()).sum();
    assert!(first.1.contains(&format!("{expected} migration(s) applied")), "{first:?}");
    let again = stdout(ferrum().args(["migrate", "--database-url", &url, "--log-level", "warn"]));
    assert!(again.1.contains("0 migration(s) applied"), "{again:?}");
}

async fn healthcheck_follows_readiness(backend: Backend) {
    let db = TestDb::new(backend, &[]).await;
    let server = Server::start(&db.url, &[]);
    server.wait_ready(Duration::from_secs(10)).await;
    let url = server.url("/health/ready");
    let healthy = stdout(ferrum().args(["healthcheck", "--url", &url]));
    assert_eq!(healthy.0, Some(0), "{healthy:?}");
    // By port, as the container HEALTHCHECK calls it.
    let port = url.split(':').nth(2).unwrap().split('/').next().unwrap().to_owned();
    let by_port = stdout(ferrum().args(["healthcheck"]).env("FERRUM_HTTP_API_PORT", &port));
    assert_eq!(by_port.0, Some(0), "{by_port:?}");
    server.stop().await.unwrap();
    let gone = stdout(ferrum().args(["healthcheck", "--url", &url, "--timeout", "2s"]));
    assert_eq!(gone.0, Some(1), "{gone:?}");
    assert!(gone.2.contains("unhealthy"), "{gone:?}");
}

both_backends!(migrate_applies_once, healthcheck_follows_readiness);

#[test]
fn healthcheck_fails_on_a_non_200() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let answer = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0_u8; 512];
        let _ = socket.read(&mut request);
        socket.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").unwrap();
    });
    let result = stdout(ferrum().args(["healthcheck", "--url", &format!("http://{addr}/health/ready")]));
    answer.join().unwrap();
    assert_eq!(result.0, Some(1), "{result:?}");
    assert!(result.2.contains("503"), "{result:?}");
}

#[test]
fn token_mints_what_the_server_accepts() {
    let keys = AuthKeys::new(&test_auth_config());
    let (code, out, err) = stdout(
        ferrum()
            .args(["token", "--scope", "patients", "--scope", "care", "--sub", "ops-1", "--ttl", "5m"])
            .env("FERRUM_HTTP_JWT_SIGNING_KEY", TEST_SIGNING_KEY),
    );
    assert_eq!(code, Some(0), "{err}");
    let claims = keys.verify(out.trim()).unwrap();
    assert_eq!(claims.scope.as_deref(), Some("patients care"));
    assert_eq!(claims.sub.as_deref(), Some("ops-1"));
    assert!(!claims.admin);
    assert_eq!(claims.exp - claims.iat.unwrap(), 300);

    let (_, admin, _) =
        stdout(ferrum().args(["token", "--admin"]).env("FERRUM_HTTP_JWT_SIGNING_KEY", TEST_SIGNING_KEY));
    assert!(keys.verify(admin.trim()).unwrap().admin);

    let (code, _, err) = stdout(ferrum().args(["token", "--admin"]).env("FERRUM_ENV", "production"));
    assert_eq!(code, Some(2));
    assert!(err.contains("FERRUM_HTTP_JWT_SIGNING_KEY"), "{err}");
}

#[test]
fn config_prints_every_setting_masked_with_its_source() {
    let (code, out, err) = stdout(
        ferrum()
            .args(["config", "--timeout", "7s"])
            .env("FERRUM_HTTP_JWT_SIGNING_KEY", "hunter2-but-longer")
            .env("FERRUM_DATABASE_URL", "postgres://app:pa55word@db.internal:5432/ferrum"),
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("FERRUM_HTTP_REQUEST_TIMEOUT=7s  # flag"), "{out}");
    assert!(out.contains("FERRUM_HTTP_JWT_SIGNING_KEY=********  # environment"), "{out}");
    assert!(
        out.contains("FERRUM_DATABASE_URL=postgres://app:********@db.internal:5432/ferrum  # environment"),
        "{out}"
    );
    assert!(out.contains("FERRUM_HTTP_MAX_POST_SIZE=1MiB  # default"), "{out}");
    assert!(!out.contains("hunter2") && !out.contains("pa55word"), "{out}");
}
