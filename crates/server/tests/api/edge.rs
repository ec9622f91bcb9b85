//! CORS and compression, switched by configuration (SPEC 1.7).

use std::time::Duration;

use ferrum_testkit::{Backend, TestDb};
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
