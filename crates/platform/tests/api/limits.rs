//! Per-route limits over a real socket: a route that raises the body cap and the deadline for
//! itself gets them, with the platform's 413 and 504 at its own limits, while every other route
//! keeps the platform's; large bodies read as NDJSON line by line under the route's cap.
//!
//! No test here touches the database: the app runs over SQLite only.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    http::{Method, StatusCode},
};
use ferrum_platform::{
    BuildInfo, docs,
    http::{Json, Problem, RouteLimits, StreamedBody, limits, middleware::HttpSettings},
};
use ferrum_testkit::{Backend, RawConnection, TestApp};
use serde_json::{Value, json};
use tokio::sync::Notify;
use utoipa_axum::{router::OpenApiRouter, routes};

/// The platform's cap in these tests: 1 KiB.
const DEFAULT_CAP: usize = 1024;
/// The cap `/bulk` and `/import` raise theirs to: 64 KiB.
const RAISED_CAP: usize = 64 * 1024;
const TOO_LARGE: &str = "the request body is larger than the configured limit";

/// `POST /bulk`: the size of the body, read whole within the route's cap.
#[utoipa::path(post, path = "/bulk", responses((status = 200, description = "The body's size.")))]
async fn bulk(body: StreamedBody) -> Result<String, Problem> {
    Ok(body.bytes().await?.len().to_string())
}

/// `POST /echo`: a JSON body under the platform's cap.
#[utoipa::path(post, path = "/echo", responses((status = 200, description = "The body.")))]
async fn echo(Json(body): Json<Value>) -> Json<Value> {
    Json(body)
}

#[derive(serde::Deserialize)]
struct Row {
    n: u64,
}

/// `POST /import`: NDJSON rows `{"n": ...}`, validated one line at a time; their count and sum.
#[utoipa::path(post, path = "/import", responses((status = 200, description = "Count and sum.")))]
async fn import(body: StreamedBody) -> Result<Json<Value>, Problem> {
    let (mut rows, mut sum) = (0, 0);
    let mut lines = body.ndjson();
    while let Some(line) = lines.next_line().await {
        sum += line?.decode::<Row>()?.n;
        rows += 1;
    }
    Ok(Json(json!({"rows": rows, "sum": sum})))
}

fn body_routes() -> OpenApiRouter {
    let router = OpenApiRouter::new().routes(routes!(bulk)).routes(routes!(echo)).routes(routes!(import));
    let raised = RouteLimits { max_body_bytes: RAISED_CAP, request_timeout: Duration::from_secs(30) };
    let router = limits::raise(router, Method::POST, "/bulk", raised).unwrap();
    limits::raise(router, Method::POST, "/import", raised).unwrap()
}

async fn body_app() -> TestApp {
    let settings = HttpSettings::new(Duration::from_secs(30), DEFAULT_CAP);
    TestApp::spawn_with(Backend::Sqlite, &[], settings, |_| body_routes()).await
}

async fn post(app: &TestApp, path: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let response = app.client.post(app.url(path)).header("content-type", "application/json").body(body).send().await;
    let response = response.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A JSON or NDJSON request whose body is sent chunked (no length declared), in these pieces.
fn chunked(path: &str, pieces: &[Vec<u8>]) -> Vec<u8> {
    let content_type = if path == "/import" { "application/x-ndjson" } else { "application/json" };
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: test\r\ntransfer-encoding: chunked\r\ncontent-type: {content_type}\r\n\r\n"
    );
    let mut request = head.into_bytes();
    for piece in pieces {
        request.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        request.extend_from_slice(piece);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

async fn send_chunked(app: &TestApp, path: &str, pieces: &[Vec<u8>]) -> (u16, Value) {
    let mut connection = RawConnection::connect(&app.base_url).await.unwrap();
    connection.send(&chunked(path, pieces)).await.unwrap();
    let answer = connection.answer().await.unwrap();
    (answer.status, answer.json())
}

#[tokio::test]
async fn a_raised_cap_admits_more_than_the_default_and_refuses_more_than_its_own() {
    let app = body_app().await;
    let (status, body) = post(&app, "/bulk", vec![b'x'; 10 * DEFAULT_CAP]).await;
    assert_eq!((status, body), (StatusCode::OK, json!(10 * DEFAULT_CAP)));
    let (status, body) = post(&app, "/bulk", vec![b'x'; RAISED_CAP]).await;
    assert_eq!((status, body), (StatusCode::OK, json!(RAISED_CAP)));
    // Declared over the route's cap: refused before the body is read.
    let (status, body) = post(&app, "/bulk", vec![b'x'; RAISED_CAP + 1]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!((body["status"].clone(), body["detail"].clone()), (json!(413), json!(TOO_LARGE)));
    // Chunked: refused once the cap is crossed.
    let (status, body) = send_chunked(&app, "/bulk", &[vec![b'x'; RAISED_CAP], vec![b'x'; 10]]).await;
    assert_eq!((status, body["detail"].clone()), (413, json!(TOO_LARGE)));
}

#[tokio::test]
async fn every_other_route_keeps_the_platform_s_cap() {
    let app = body_app().await;
    let small = serde_json::to_vec(&json!({"text": "x".repeat(DEFAULT_CAP - 20)})).unwrap();
    let (status, _) = post(&app, "/echo", small).await;
    assert_eq!(status, StatusCode::OK);
    let large = serde_json::to_vec(&json!({"text": "x".repeat(DEFAULT_CAP)})).unwrap();
    let (status, body) = post(&app, "/echo", large.clone()).await;
    assert_eq!((status, body["detail"].clone()), (StatusCode::PAYLOAD_TOO_LARGE, json!(TOO_LARGE)));
    let (status, body) = send_chunked(&app, "/echo", &[large]).await;
    assert_eq!((status, body["detail"].clone()), (413, json!(TOO_LARGE)));
}

/// NDJSON rows `{"n": from}` to `{"n": to - 1}`, one per line.
fn rows(from: u64, to: u64) -> Vec<u8> {
    (from..to).flat_map(|n| format!("{{\"n\": {n}}}\n").into_bytes()).collect()
}

#[tokio::test]
async fn ndjson_is_read_line_by_line_under_the_route_s_cap() {
    let app = body_app().await;
    // About 30 KiB, over the platform's cap, in pieces that split lines (and a CRLF) anywhere.
    let mut body = rows(0, 2000);
    body.extend_from_slice(b"\r\n\n{\"n\": 2000}\r\n{\"n\": 2001}");
    let pieces: Vec<Vec<u8>> = body.chunks(777).map(<[u8]>::to_vec).collect();
    let (status, answer) = send_chunked(&app, "/import", &pieces).await;
    assert_eq!((status, answer), (200, json!({"rows": 2002, "sum": 2001 * 2002 / 2})));

    let (status, answer) = send_chunked(&app, "/import", &[b"{\"n\": 1}\n{\"n\": \xff}\n".to_vec()]).await;
    assert_eq!((status, answer["detail"].clone()), (400, json!("line 2 of the request body is not UTF-8")));
    let (status, answer) = send_chunked(&app, "/import", &[b"{\"n\": 1}\n\n{\"n\": -1}\n".to_vec()]).await;
    assert_eq!(status, 422);
    assert_eq!(answer["errors"][0]["field"], "line 3.n");

    // Crossed mid-stream, after rows were read: the platform's 413.
    let pieces: Vec<Vec<u8>> = rows(0, 8000).chunks(4096).map(<[u8]>::to_vec).collect();
    let (status, answer) = send_chunked(&app, "/import", &pieces).await;
    assert_eq!((status, answer["detail"].clone()), (413, json!(TOO_LARGE)));
}

/// Handlers that wait until the test lets them finish.
#[derive(Clone, Default)]
struct Gate {
    /// Told when a handler starts waiting.
    entered: Arc<Notify>,
    /// Lets one waiting handler finish.
    release: Arc<Notify>,
}

impl Gate {
    async fn pass(&self) -> &'static str {
        self.entered.notify_one();
        self.release.notified().await;
        "done"
    }
}

/// `GET /slow`: the platform's deadline.
#[utoipa::path(get, path = "/slow", responses((status = 200, description = "Done.")))]
async fn slow(State(gate): State<Gate>) -> &'static str {
    gate.pass().await
}

/// `GET /patient`: a deadline raised well past the platform's.
#[utoipa::path(get, path = "/patient", responses((status = 200, description = "Done.")))]
async fn patient(State(gate): State<Gate>) -> &'static str {
    gate.pass().await
}

/// `GET /bounded`: a deadline raised a little past the platform's.
#[utoipa::path(get, path = "/bounded", responses((status = 200, description = "Done.")))]
async fn bounded(State(gate): State<Gate>) -> &'static str {
    gate.pass().await
}

async fn deadline_app(gate: Gate) -> TestApp {
    let router = OpenApiRouter::new().routes(routes!(slow)).routes(routes!(patient)).routes(routes!(bounded));
    let long = RouteLimits { max_body_bytes: DEFAULT_CAP, request_timeout: Duration::from_secs(60) };
    let router = limits::raise(router, Method::GET, "/patient", long).unwrap();
    let short = RouteLimits { max_body_bytes: DEFAULT_CAP, request_timeout: Duration::from_millis(400) };
    let router = limits::raise(router, Method::GET, "/bounded", short).unwrap().with_state(gate);
    let settings = HttpSettings::new(Duration::from_millis(200), DEFAULT_CAP);
    TestApp::spawn_with(Backend::Sqlite, &[], settings, |_| router).await
}

async fn get(app: &TestApp, path: &str) -> (StatusCode, String) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn a_raised_deadline_lets_a_handler_finish_past_the_platform_s() {
    let gate = Gate::default();
    let app = Arc::new(deadline_app(gate.clone()).await);
    let waiting = tokio::spawn({
        let app = app.clone();
        async move { get(&app, "/patient").await }
    });
    gate.entered.notified().await;
    // Sent after `/patient` started: once this one is cut off, `/patient` has outlived the
    // platform's deadline too.
    let (status, body) = get(&app, "/slow").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["detail"], "the request did not finish within 200ms");
    assert!(!waiting.is_finished(), "/patient answered before it was let through");
    gate.release.notify_one();
    assert_eq!(waiting.await.unwrap(), (StatusCode::OK, "done".to_owned()));
}

#[tokio::test]
async fn a_route_answers_504_at_its_own_deadline() {
    let app = deadline_app(Gate::default()).await;
    let (status, body) = get(&app, "/bounded").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["detail"], "the request did not finish within 400ms");
}

#[test]
fn the_served_document_carries_the_limits() {
    // As the server composes a module's router: merged into the document it serves.
    let routes = docs::mount(body_routes(), BuildInfo { version: "test", build_date: "today" });
    let raised = RouteLimits { max_body_bytes: RAISED_CAP, request_timeout: Duration::from_secs(30) };
    assert_eq!(routes.templates.limits_of(&Method::POST, "/bulk"), Some(raised));
    assert_eq!(routes.templates.limits_of(&Method::POST, "/echo"), None);
    assert_eq!(routes.templates.limits_of(&Method::GET, "/openapi.json"), None);
}
