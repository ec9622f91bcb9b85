//! Per-client rate limits (SPEC 1.7), in process and shared through Redis.

use std::time::Duration;

use ferrum_platform::auth::AuthKeys;
use ferrum_testkit::{Backend, TEST_SIGNING_KEY, TestDb, redis_url, test_auth_config};
use reqwest::{Response, header};

use crate::Server;

fn token_for(subject: &str) -> String {
    AuthKeys::new(&test_auth_config()).mint(Some(subject.to_owned()), false, Some("patients".into()), None).unwrap()
}

fn unique(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

async fn started(flags: &[&str]) -> (TestDb, Server) {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let mut all = vec!["--jwt-signing-key", TEST_SIGNING_KEY];
    all.extend_from_slice(flags);
    let server = Server::start(&db.url, &all);
    server.wait_ready(Duration::from_secs(10)).await;
    (db, server)
}

async fn list(server: &Server, token: Option<&str>, forwarded: Option<&str>) -> Response {
    let mut request = server.client.get(server.url("/api/v1/patients"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(address) = forwarded {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

/// A browser's preflight for a GET of the patients, from the client of `token`.
async fn preflight(server: &Server, token: &str) -> Response {
    let request = server.client.request(reqwest::Method::OPTIONS, server.url("/api/v1/patients"));
    let request = request.header(header::ORIGIN, "https://app.example.org");
    request.header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET").bearer_auth(token).send().await.unwrap()
}

fn number(response: &Response, name: &str) -> u64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_each_client_separately() {
    let (_db, server) = started(&["--limit", "5-M"]).await;
    let alice = token_for("alice");
    for expected_remaining in (0..5).rev() {
        let response = list(&server, Some(&alice), None).await;
        assert_eq!(response.status(), 200);
        assert_eq!(number(&response, "x-ratelimit-limit"), 5);
        assert_eq!(number(&response, "x-ratelimit-remaining"), expected_remaining);
        assert!(number(&response, "x-ratelimit-reset") <= 60);
    }
    let refused = list(&server, Some(&alice), None).await;
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()[header::CONTENT_TYPE], "application/problem+json");
    let retry_after = number(&refused, "retry-after");
    assert!((1..=12).contains(&retry_after), "{retry_after}");
    assert_eq!(number(&refused, "x-ratelimit-remaining"), 0);

    // Another subject has its own allowance; so does the anonymous client (by address).
    assert_eq!(list(&server, Some(&token_for("bob")), None).await.status(), 200);
    for _ in 0..5 {
        assert_eq!(list(&server, None, None).await.status(), 401);
    }
    assert_eq!(list(&server, None, None).await.status(), 429);
    // Probes and scrapes are never refused and count against no one, but carry the client's
    // allowance like every answer (SPEC 1.6, 1.7): this address has none left, bob has 4.
    for path in ["/health/ready", "/health/live", "/health", "/metrics"].into_iter().cycle().take(12) {
        let probe = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(probe.status(), 200, "{path}");
        assert_eq!(number(&probe, "x-ratelimit-limit"), 5, "{path}");
        assert_eq!(number(&probe, "x-ratelimit-remaining"), 0, "{path}");
        assert!((1..=60).contains(&number(&probe, "x-ratelimit-reset")), "{path}");
    }
    let bob_probe = server.client.get(server.url("/health")).bearer_auth(token_for("bob")).send().await.unwrap();
    assert_eq!(number(&bob_probe, "x-ratelimit-remaining"), 4);
    assert_eq!(number(&list(&server, Some(&token_for("bob")), None).await, "x-ratelimit-remaining"), 3);
    // A client never seen has its whole allowance.
    let carol_probe =
        server.client.get(server.url("/health/live")).bearer_auth(token_for("carol")).send().await.unwrap();
    assert_eq!(number(&carol_probe, "x-ratelimit-remaining"), 5);
    assert_eq!(number(&carol_probe, "x-ratelimit-reset"), 0);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trusted_proxy_header_names_the_client() {
    let (_db, server) = started(&["--limit", "2-H", "--rate-limit-client-header", "X-Forwarded-For"]).await;
    for _ in 0..2 {
        assert_eq!(list(&server, None, Some("203.0.113.9, 10.0.0.1")).await.status(), 401);
    }
    assert_eq!(list(&server, None, Some("203.0.113.9, 10.0.0.1")).await.status(), 429);
    // The last address is the one the proxy saw; a client cannot escape by prepending others.
    assert_eq!(list(&server, None, Some("198.51.100.1, 10.0.0.1")).await.status(), 429);
    assert_eq!(list(&server, None, Some("10.0.0.2")).await.status(), 401);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_one_limit_through_redis() {
    let Some(redis) = redis_url() else { return };
    let flags = ["--limit", "4-M", "--rate-limit-redis-url", &redis, "--cors", "https://app.example.org"];
    let (_db_a, a) = started(&flags).await;
    let (_db_b, b) = started(&flags).await;
    let token = token_for(&unique("shared"));
    for (n, server) in [&a, &b, &a, &b].into_iter().enumerate() {
        let response = list(server, Some(&token), None).await;
        assert_eq!(response.status(), 200, "request {n}");
        assert_eq!(number(&response, "x-ratelimit-remaining"), 3 - n as u64);
    }
    assert_eq!(list(&a, Some(&token), None).await.status(), 429);
    assert_eq!(list(&b, Some(&token), None).await.status(), 429);
    assert_eq!(list(&b, Some(&token_for(&unique("other"))), None).await.status(), 200);
    // A probe counts nothing and is never refused, and reads the shared allowance from Redis.
    for server in [&a, &b] {
        let probe = server.client.get(server.url("/health/live")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(probe.status(), 200);
        assert_eq!(number(&probe, "x-ratelimit-remaining"), 0);
        assert!(number(&probe, "x-ratelimit-reset") >= 1);
    }
    // So does a CORS preflight: it reads the allowance from Redis and counts nothing.
    for _ in 0..2 {
        let preflight = preflight(&b, &token).await;
        assert_eq!(preflight.status(), 200);
        assert!(preflight.headers().contains_key(header::ACCESS_CONTROL_ALLOW_METHODS));
        assert_eq!(number(&preflight, "x-ratelimit-limit"), 4);
        assert_eq!(number(&preflight, "x-ratelimit-remaining"), 0);
    }
    let other = token_for(&unique("preflight"));
    assert_eq!(number(&preflight(&a, &other).await, "x-ratelimit-remaining"), 4);
    assert_eq!(number(&list(&b, Some(&other), None).await, "x-ratelimit-remaining"), 3);
    let fresh = a.client.get(a.url("/health/live")).bearer_auth(token_for(&unique("fresh"))).send().await.unwrap();
    assert_eq!(number(&fresh, "x-ratelimit-remaining"), 4);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_stops_startup() {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let server = Server::start(&db.url, &["--limit", "4-M", "--rate-limit-redis-url", "redis://127.0.0.1:1"]);
    let error = server.ended(Duration::from_secs(10)).await.unwrap_err();
    assert!(format!("{error:#}").contains("rate limiter"), "{error:#}");
}
