use ferrum_platform::auth::Claims;
use ferrum_testkit::{Backend, both_backends};
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::{problem, refused, spawn};

async fn refuses_requests_without_a_valid_token(backend: Backend) {
    let app = spawn(backend).await;
    let url = app.url("/api/v1/patients");
    let now = chrono::Utc::now().timestamp();
    let expired = app.platform.auth.sign(&Claims { admin: true, exp: now - 3600, ..Claims::default() }).unwrap();
    let other_key = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &Claims { admin: true, exp: now + 3600, ..Claims::default() },
        &jsonwebtoken::EncodingKey::from_secret(b"someone else's key"),
    )
    .unwrap();
    // {"alg":"none","typ":"JWT"}.{"admin":true,"exp":9999999999}. with no signature
    let alg_none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJhZG1pbiI6dHJ1ZSwiZXhwIjo5OTk5OTk5OTk5fQ.";
    let cases: [(Option<String>, &str); 6] = [
        (None, "missing bearer token"),
        (Some("Basic dXNlcjpwYXNz".into()), "malformed token"),
        (Some("Bearer not.a.jwt".into()), "malformed token"),
        (Some(format!("Bearer {alg_none}")), "wrong token algorithm: only HS256 is accepted"),
        (Some(format!("Bearer {other_key}")), "bad token signature"),
        (Some(format!("Bearer {expired}")), "token expired"),
    ];
    for (authorization, detail) in cases {
        let mut request = app.client.get(&url);
        if let Some(value) = &authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = request.send().await.unwrap();
        assert!(response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
        let body = problem(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["detail"], detail, "{authorization:?}");
    }
}

async fn needs_the_patients_scope(backend: Backend) {
    let app = spawn(backend).await;
    let url = app.url("/api/v1/patients");
    let wrong_scope = app.client.get(&url).bearer_auth(app.token("care payments")).send().await.unwrap();
    refused(wrong_scope, StatusCode::FORBIDDEN, "the token lacks the `patients` scope").await;
    let post = app.client.post(&url).bearer_auth(app.token("care")).json(&serde_json::json!({})).send().await.unwrap();
    refused(post, StatusCode::FORBIDDEN, "the token lacks the `patients` scope").await;
    for token in [app.token("care patients"), app.admin_token()] {
        let response = app.client.get(&url).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
}

async fn generated_tokens_are_admin_tokens(backend: Backend) {
    let app = spawn(backend).await;
    let body: Value = app.client.get(app.url("/generate-token")).send().await.unwrap().json().await.unwrap();
    let token = body["token"].as_str().unwrap();
    let claims = app.platform.auth.verify(token).unwrap();
    assert!(claims.admin);
    assert_eq!(claims.name.as_deref(), Some("ferrum"));
    let lifetime = claims.exp - claims.iat.unwrap();
    assert_eq!(lifetime, 3600);
}

both_backends!(refuses_requests_without_a_valid_token, needs_the_patients_scope, generated_tokens_are_admin_tokens);
