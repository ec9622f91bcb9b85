//! CORS and compression, switched by configuration (SPEC 1.7); the headers every answer
//! carries; the body cap's 413 as a client that writes its whole body first reads it.

use std::time::Duration;

use ferrum_testkit::{Backend, RawConnection, TestDb};
use reqwest::{Method, header};

use crate::Server;

async fn started(flags: &[&str]) -> (TestDb, Server) {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let server = Server::start(&db.url, flags);
    server.wait_ready(Duration::from_secs(10)).await;
    (db, server)
}

fn header_list(response: &reqwest::Response, name: &str) -> String {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_ascii_lowercase()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_preflight_admits_only_configured_origins() {
    let (_db, server) = started(&["--cors", "https://app.example.org"]).await;
    let preflight = |origin: &'static str| {
        server
            .client
            .request(Method::OPTIONS, server.url("/api/v1/patients"))
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type")
            .send()
    };
    let allowed = preflight("https://app.example.org").await.unwrap();
    assert!(allowed.status().is_success(), "{}", allowed.status());
    assert_eq!(allowed.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.org");
    let headers = header_list(&allowed, "access-control-allow-headers");
    assert!(headers.contains("authorization") && headers.contains("content-type"), "{headers}");
    assert!(header_list(&allowed, "access-control-allow-methods").contains("post"));

    let refused = preflight("https://evil.example").await.unwrap();
    assert!(refused.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());

    // A real request from the allowed origin may read Link and Location.
    let token = server.token().await;
    let created = server
        .client
        .post(server.url("/api/v1/patients"))
        .header(header::ORIGIN, "https://app.example.org")
        .bearer_auth(&token)
        .json(&serde_json::json!({"first_name": "Cors"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.org");
    let exposed = header_list(&created, "access-control-expose-headers");
    assert!(exposed.contains("link") && exposed.contains("location"), "{exposed}");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_unless_configured_and_star_allows_any() {
    let (_db, off) = started(&[]).await;
    let response =
        off.client.get(off.url("/health")).header(header::ORIGIN, "https://app.example.org").send().await.unwrap();
    assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    off.stop().await.unwrap();

    let (_db, any) = started(&["--cors", "*"]).await;
    let response =
        any.client.get(any.url("/health")).header(header::ORIGIN, "https://anywhere.example").send().await.unwrap();
    assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    any.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compresses_when_asked_unless_switched_off() {
    for (flags, expect_compression) in [(&[][..], true), (&["--compress", "false"][..], false)] {
        let (_db, server) = started(flags).await;
        let token = server.token().await;
        for n in 0..30 {
            let body = serde_json::json!({"first_name": format!("Patient {n}"), "address": "Long Street 1"});
            server.client.post(server.url("/api/v1/patients")).bearer_auth(&token).json(&body).send().await.unwrap();
        }
        for encoding in ["gzip", "br", "zstd"] {
            let response = server
                .client
                .get(server.url("/api/v1/patients"))
                .bearer_auth(&token)
                .header(header::ACCEPT_ENCODING, encoding)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            let used = response.headers().get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap().to_owned());
            assert_eq!(used.as_deref(), expect_compression.then_some(encoding), "{flags:?} {encoding}");
        }
        let plain = server.client.get(server.url("/api/v1/patients")).bearer_auth(&token).send().await.unwrap();
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        server.stop().await.unwrap();
    }
}

/// The headers every answer carries once, whoever made the answer: the platform's JSON and
/// problem bodies (made with them in place, a handler's own kept), and the others (the metrics
/// text, the router's bare 405, a compressed list, the edge's own 429 and preflight), which get
/// them added at the end. A preflight counts against no one but carries the allowance too
/// (SPEC 1.7: every response).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_request_id_limit_and_vary_once() {
    let (_db, server) = started(&["--cors", "https://app.example.org", "--limit", "6-M"]).await;
    // The development token names no subject: every request here counts against this address.
    let token = server.token().await;
    let get = |path: &str| server.client.get(server.url(path));
    let created = server
        .client
        .post(server.url("/api/v1/patients"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"first_name": "Heimdall", "last_name": "Odinson"}))
        .send()
        .await
        .unwrap();
    let mut answers = vec![
        ("created", created),
        ("live", get("/health/live").send().await.unwrap()),
        ("metrics", get("/metrics").send().await.unwrap()),
        ("405", server.client.delete(server.url("/health/live")).send().await.unwrap()),
        ("404", get("/nowhere").header("x-request-id", "trace-me-4").send().await.unwrap()),
        ("401", get("/api/v1/patients").send().await.unwrap()),
        ("browser", get("/health").header(header::ORIGIN, "https://app.example.org").send().await.unwrap()),
        (
            "preflight",
            server
                .client
                .request(Method::OPTIONS, server.url("/api/v1/patients"))
                .header(header::ORIGIN, "https://app.example.org")
                .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                .send()
                .await
                .unwrap(),
        ),
    ];
    let list = || get("/api/v1/patients").bearer_auth(&token).header(header::ACCEPT_ENCODING, "gzip");
    loop {
        let response = list().send().await.unwrap();
        let status = response.status();
        answers.push((if status == 429 { "429" } else { "list" }, response));
        if status == 429 {
            break;
        }
        assert_eq!(status, 200);
        assert!(answers.len() < 20, "the limit never answered 429");
    }
    for (what, response) in &answers {
        let headers = response.headers();
        let all = |name: &str| headers.get_all(name).iter().map(|v| v.to_str().unwrap().to_owned()).collect::<Vec<_>>();
        let ids = all("x-request-id");
        assert_eq!(ids.len(), 1, "{what}: {ids:?}");
        if *what == "404" {
            assert_eq!(ids[0], "trace-me-4");
        } else {
            assert_eq!(uuid::Uuid::parse_str(&ids[0]).unwrap().get_version_num(), 4, "{what}: {ids:?}");
        }
        for name in ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"] {
            let values = all(name);
            assert_eq!(values.len(), 1, "{what}: {name} {values:?}");
            assert!(values[0].parse::<u64>().is_ok(), "{what}: {name} {values:?}");
        }
        assert_eq!(all("x-ratelimit-limit"), ["6"], "{what}");
        let vary: Vec<String> = all("vary").iter().flat_map(|v| v.split(',').map(|s| s.trim().to_owned())).collect();
        assert_eq!(vary.iter().filter(|v| *v == "origin").count(), 1, "{what}: {vary:?}");
        if *what == "list" {
            assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
            assert!(vary.iter().any(|v| v == "accept-encoding"), "{what}: {vary:?}");
        }
    }
    let statuses: Vec<u16> = answers.iter().map(|(_, r)| r.status().as_u16()).collect();
    assert_eq!(&statuses[..8], [201, 200, 200, 405, 404, 401, 200, 200]);
    assert!(answers[0].1.headers().contains_key(header::LOCATION), "a handler's own header kept");
    assert_eq!(answers[6].1.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.org");
    assert!(answers[7].1.headers().contains_key(header::ACCESS_CONTROL_ALLOW_METHODS), "a preflight's answer");
    // The preflight counted against no one: it reads what the token, the POST, the 404 and the
    // 401 before it left of 6, and the lists after it have those two.
    assert_eq!(answers[5].1.headers()["x-ratelimit-remaining"], "2");
    assert_eq!(answers[7].1.headers()["x-ratelimit-remaining"], "2");
    assert_eq!(answers.iter().filter(|(what, _)| *what == "list").count(), 2);
    assert!(answers.last().unwrap().1.headers().contains_key(header::RETRY_AFTER));
    server.stop().await.unwrap();
}

/// A client that writes the whole of an oversized body before it reads (Python's `urllib`
/// does) reads the 413, whether the body's length was declared (refused from the header) or it
/// came chunked (refused once the cap was crossed): the server reads the rest of the body
/// rather than closing while the client still sends. Drained, a kept-alive connection serves
/// the next request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_s_413_reaches_a_client_that_sends_it_whole_first() {
    let (_db, server) = started(&[]).await;
    let token = server.token().await;
    // 2 MiB against the default cap of 1 MiB.
    let body = format!("{{\"first_name\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let head = format!(
        "POST /api/v1/patients HTTP/1.1\r\nHost: ferrum\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\n"
    );
    let declared = |connection: &str| format!("{head}{connection}Content-Length: {}\r\n\r\n{body}", body.len());
    let chunked = format!("{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    // On a slow link, the answer is ready while most of the body is still to come.
    let too_large = async |connection: &mut RawConnection, request: &str, round: &str| {
        let sent = connection.send_slowly(request.as_bytes(), 256 * 1024, Duration::from_millis(2)).await;
        sent.unwrap_or_else(|e| panic!("{round}: sending: {e}"));
        let answer = tokio::time::timeout(Duration::from_secs(10), connection.answer())
            .await
            .unwrap_or_else(|_| panic!("{round}: no answer in time"))
            .unwrap_or_else(|e| panic!("{round}: reading: {e}"));
        assert_eq!(answer.status, 413, "{round}: {}", answer.head);
        assert_eq!(answer.header("content-type"), Some("application/problem+json"), "{round}");
        let problem = answer.json();
        assert_eq!(problem["status"], 413, "{round}: {problem}");
        assert_eq!(problem["detail"], "the request body is larger than the configured limit", "{round}");
        answer
    };
    // As urllib sends it: a new connection each time, closed after the answer.
    for round in 0..5 {
        let mut connection = RawConnection::connect(&server.base).await.unwrap();
        too_large(&mut connection, &declared("Connection: close\r\n"), &format!("closing {round}")).await;
    }
    // One kept-alive connection, declared and chunked in turn: each body drained, the
    // connection stays open for the next request.
    let mut connection = RawConnection::connect(&server.base).await.unwrap();
    for round in 0..6 {
        let request = if round % 2 == 0 { declared("") } else { chunked.clone() };
        let answer = too_large(&mut connection, &request, &format!("kept-alive {round}")).await;
        assert_ne!(answer.header("connection"), Some("close"), "kept-alive {round}: {}", answer.head);
    }
    connection.send(b"GET /health/live HTTP/1.1\r\nHost: ferrum\r\n\r\n").await.unwrap();
    let live = tokio::time::timeout(Duration::from_secs(10), connection.answer()).await.unwrap().unwrap();
    assert_eq!(live.status, 200, "{}", live.head);
    server.stop().await.unwrap();
}
