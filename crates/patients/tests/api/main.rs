//! Black-box tests of the patients API over HTTP, each run on SQLite and on PostgreSQL.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on what it did not expect")]

mod auth;
mod create;
mod list;
mod openapi;
mod scenario;
mod update_delete;

use ferrum_platform::auth::generate_token_route;
use ferrum_testkit::{Backend, TestApp};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

/// The patients routes (plus `/generate-token`) over a fresh database.
pub async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn(backend, &[&ferrum_patients::MIGRATIONS], |p| {
        ferrum_patients::routes(p).merge(generate_token_route(p.auth.clone()))
    })
    .await
}

/// A token with scope `patients`.
pub fn token(app: &TestApp) -> String {
    app.token("patients")
}

/// POSTs a JSON patient with a valid token.
pub async fn create(app: &TestApp, body: Value) -> Response {
    app.client.post(app.url("/api/v1/patients")).bearer_auth(token(app)).json(&body).send().await.unwrap()
}

/// Creates a patient named `first` and returns its JSON.
pub async fn create_named(app: &TestApp, first: &str, last: &str) -> Value {
    let response = create(app, json!({"first_name": first, "last_name": last})).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// GETs a path with a valid token.
pub async fn get(app: &TestApp, path: &str) -> Response {
    app.client.get(app.url(path)).bearer_auth(token(app)).send().await.unwrap()
}

/// Asserts a problem+json answer with this status and returns its body.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["type"], "about:blank");
    assert!(body["title"].is_string() && body["detail"].is_string(), "{body}");
    body
}

/// Asserts a problem+json answer with this status whose `detail` says why (contains `why`), and
/// returns its body.
pub async fn refused(response: Response, status: StatusCode, why: &str) -> Value {
    let body = problem(response, status).await;
    assert!(body["detail"].as_str().is_some_and(|detail| detail.contains(why)), "not saying {why:?}: {body}");
    body
}
