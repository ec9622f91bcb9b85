//! Black-box tests of the care API over HTTP, each run on SQLite and on PostgreSQL, and the
//! totals held to a full scan of the events.
#![expect(clippy::unwrap_used, reason = "a test fails loudly on what it did not expect")]

mod events;
mod openapi;
mod permissions;
mod report;
mod totals;
mod types;

use ferrum_platform::auth::Claims;
use ferrum_testkit::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every scope care knows.
pub const ALL_SCOPES: &str = "care care:manage care:reimburse";

/// The care routes over a fresh database.
pub async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn(backend, &[&ferrum_care::MIGRATIONS], ferrum_care::routes).await
}

/// A token with these scopes, confined to `caregivers` when given.
pub fn token_for(app: &TestApp, scopes: &str, caregivers: Option<Value>) -> String {
    let now = chrono::Utc::now().timestamp();
    let mut claims =
        Claims { sub: Some("carer".into()), scope: Some(scopes.into()), exp: now + 3600, ..Claims::default() };
    if let Some(caregivers) = caregivers {
        claims.extra.insert("caregivers".into(), caregivers);
    }
    app.platform.auth.sign(&claims).unwrap()
}

/// Sends a request with `token` (none: no `Authorization`) and `body` as JSON; answers the
/// status and the body as JSON.
pub async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// Sends with a token holding every care scope.
pub async fn call(app: &TestApp, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    send(app, method, path, Some(&token_for(app, ALL_SCOPES, None)), body).await
}

/// `{"status":"fail","message": message}`.
pub fn fail(message: &str) -> Value {
    json!({"status": "fail", "message": message})
}

/// Asserts a refusal with this status and message (whatever `errors` says); returns the body.
pub fn assert_fail(answer: (StatusCode, Value), status: StatusCode, message: &str) -> Value {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["status"], "fail", "{}", answer.1);
    assert_eq!(answer.1["message"], message, "{}", answer.1);
    answer.1
}

/// Creates an event type and returns its id.
pub async fn create_type(app: &TestApp, name: &str, cents: i64) -> i64 {
    let (status, body) =
        call(app, Method::POST, "/events/types", Some(json!({"name": name, "amount_in_cents": cents}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["message"], "Event type created.");
    body["id"].as_i64().unwrap()
}

/// Creates an event and returns its id.
pub async fn create_event(app: &TestApp, type_id: i64, caregiver: i64, start_time: &str) -> i64 {
    let body = json!({"type_id": type_id, "caregiver_id": caregiver, "start_time": start_time});
    let (status, body) = call(app, Method::POST, "/events", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["message"], "Event created.");
    body["id"].as_i64().unwrap()
}

/// The report's `data.report` for a POST filter.
pub async fn report(app: &TestApp, filter: Value) -> Value {
    let (status, body) = call(app, Method::POST, "/events/report", Some(filter)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    body["data"]["report"].clone()
}
