use std::time::Duration;

use ferrum_platform::http::middleware::HttpSettings;
use ferrum_testkit::{Backend, RawConnection, TestApp, both_backends};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{create, get, problem, refused, spawn, token};

async fn creates_a_patient_at_its_location(backend: Backend) {
    let app = spawn(backend).await;
    let response = create(
        &app,
        json!({"first_name": " Heimdall ", "last_name": "Odinson", "email": "h@asgard.example", "phone": "+46 1"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()[header::ETAG], "\"1\"");
    let location = response.headers()[header::LOCATION].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    assert_eq!(location, app.url(&format!("/api/v1/patients/{}", created["id"])));
    assert_eq!(created["first_name"], "Heimdall");
    assert_eq!(created["last_name"], "Odinson");
    assert_eq!(created["address"], "");
    assert_eq!(created["version"], 1);
    let stamp = created["created_at"].as_str().unwrap();
    assert!(stamp.ends_with('Z') && stamp.len() == 27, "{stamp}");
    assert_eq!(created["updated_at"], created["created_at"]);

    let fetched = app.client.get(&location).bearer_auth(token(&app)).send().await.unwrap();
    assert_eq!(fetched.status(), StatusCode::OK);
    assert_eq!(fetched.headers()[header::ETAG], "\"1\"");
    assert_eq!(fetched.json::<Value>().await.unwrap(), created);
}

async fn accepts_json_sent_as_curl_data(backend: Backend) {
    let app = spawn(backend).await;
    let response = app
        .client
        .post(app.url("/api/v1/patients"))
        .bearer_auth(token(&app))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(r#"{"first_name":"Loki"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.json::<Value>().await.unwrap()["first_name"], "Loki");
}

async fn refuses_other_content_types(backend: Backend) {
    let app = spawn(backend).await;
    for content_type in [Some("text/plain"), Some("application/xml"), None] {
        let mut request =
            app.client.post(app.url("/api/v1/patients")).bearer_auth(token(&app)).body(r#"{"first_name":"Loki"}"#);
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let why = "expected a request body of type application/json (or curl --data JSON)";
        refused(request.send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE, why).await;
    }
    assert_eq!(count(&app).await, 0);
}

async fn refuses_malformed_json(backend: Backend) {
    let app = spawn(backend).await;
    for body in [r#"{"first_name":"#, "", "not json", r#"{"first_name":"A"} {}"#] {
        let response = app
            .client
            .post(app.url("/api/v1/patients"))
            .bearer_auth(token(&app))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let body = problem(response, StatusCode::BAD_REQUEST).await;
        assert!(body["detail"].as_str().unwrap().contains("malformed JSON"), "{body}");
    }
    assert_eq!(count(&app).await, 0);
}

async fn names_every_invalid_field(backend: Backend) {
    let app = spawn(backend).await;
    let cases = [
        (json!({}), "first_name"),
        (json!({"first_name": "   "}), "first_name"),
        (json!({"first_name": null}), "first_name"),
        (json!({"first_name": "x".repeat(101)}), "first_name"),
        (json!({"first_name": "A", "email": "nope"}), "email"),
        (json!({"first_name": "A", "address": "y".repeat(257)}), "address"),
        (json!({"first_name": 42}), "first_name"),
        (json!({"first_name": "A", "phone": ["1"]}), "phone"),
        (json!([1, 2]), "body"),
    ];
    for (body, field) in cases {
        let response = create(&app, body.clone()).await;
        let problem = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let fields: Vec<&str> =
            problem["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, [field], "body {body} gave {problem}");
    }
    let several = create(&app, json!({"first_name": "", "email": "bad"})).await;
    let several = problem(several, StatusCode::UNPROCESSABLE_ENTITY).await;
    let expected = json!([
        {"field": "first_name", "message": "is required"},
        {"field": "email", "message": "must be an email address like name@example.org"},
    ]);
    assert_eq!(several["errors"], expected, "{several}");
    assert_eq!(count(&app).await, 0);
}

/// U+0000 is refused in every field, on both databases: PostgreSQL cannot store it in text, and
/// once answered 500 for it.
async fn refuses_the_nul_character(backend: Backend) {
    let app = spawn(backend).await;
    for field in ["first_name", "last_name", "address", "phone", "email"] {
        let mut body = json!({"first_name": "Ymir"});
        body[field] = json!("a\u{0}b");
        let response = create(&app, body).await;
        let body = problem(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"], json!([{"field": field, "message": "must not contain the character U+0000"}]));
    }
    assert_eq!(get(&app, "/api/v1/patients").await.json::<Vec<Value>>().await.unwrap(), Vec::<Value>::new());
}

async fn ignores_unknown_fields_and_client_ids(backend: Backend) {
    let app = spawn(backend).await;
    let first = create(&app, json!({"first_name": "A", "id": 999, "version": 7, "nickname": "x"})).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    assert_ne!(first["id"], 999);
    assert_eq!(first["version"], 1);
    assert!(first.get("nickname").is_none());
}

async fn two_patients_may_share_a_name(backend: Backend) {
    let app = spawn(backend).await;
    let a = crate::create_named(&app, "Thor", "Odinson").await;
    let b = crate::create_named(&app, "Thor", "Odinson").await;
    assert_ne!(a["id"], b["id"]);
}

/// Many writers at once: every create succeeds ("database is locked" never reaches a client).
async fn concurrent_creates_all_succeed(backend: Backend) {
    let app = spawn(backend).await;
    let creates = (0..100).map(|n| {
        let app = &app;
        async move { create(app, json!({"first_name": format!("P{n}")})).await.status() }
    });
    let statuses = futures_util::future::join_all(creates).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED), "{statuses:?}");
    assert_eq!(count(&app).await, 100);
}

async fn caps_declared_and_chunked_bodies(backend: Backend) {
    let settings = HttpSettings::new(Duration::from_secs(5), 1024);
    let app = TestApp::spawn_with(backend, &[&ferrum_patients::MIGRATIONS], settings, ferrum_patients::routes).await;
    let head = format!(
        "POST /api/v1/patients HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nConnection: close\r\n",
        token(&app)
    );
    // Declared too large: refused from the header alone, before any body is sent.
    too_large(&app, &format!("{head}Content-Length: 4096\r\n\r\n")).await;
    // Chunked: no length up front; the cap applies while reading (2 KiB sent, unfinished).
    let chunk = format!("{{\"first_name\":\"{}\"}}", "x".repeat(2048));
    too_large(&app, &format!("{head}Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n", chunk.len())).await;
    // Under the cap, the same route works.
    assert_eq!(create(&app, json!({"first_name": "Small"})).await.status(), StatusCode::CREATED);
    assert_eq!(count(&app).await, 1);
}

/// Writes `request` as raw bytes and expects the 413 problem as the answer.
async fn too_large(app: &TestApp, request: &str) {
    let mut connection = RawConnection::connect(&app.base_url).await.unwrap();
    connection.send(request.as_bytes()).await.unwrap();
    let answer =
        tokio::time::timeout(Duration::from_secs(5), connection.answer()).await.expect("answer in time").unwrap();
    assert_eq!(answer.status, 413, "{}", answer.head);
    assert_eq!(answer.header("content-type"), Some("application/problem+json"), "{}", answer.head);
    assert_eq!(answer.json()["detail"], "the request body is larger than the configured limit");
}

async fn finding_needs_an_existing_integer_id(backend: Backend) {
    let app = spawn(backend).await;
    let missing = problem(get(&app, "/api/v1/patients/42").await, StatusCode::NOT_FOUND).await;
    assert_eq!(missing["detail"], "patient 42 does not exist");
    for bad in ["abc", "1.5", "99999999999999999999"] {
        let why = format!("invalid path: Cannot parse `{bad}`");
        refused(get(&app, &format!("/api/v1/patients/{bad}")).await, StatusCode::BAD_REQUEST, &why).await;
    }
}

async fn unknown_routes_and_methods_are_json(backend: Backend) {
    let app = spawn(backend).await;
    refused(get(&app, "/api/v1/nothing").await, StatusCode::NOT_FOUND, "no such route").await;
    // No redirect for a trailing slash (SPEC 1.7).
    refused(get(&app, "/api/v1/patients/").await, StatusCode::NOT_FOUND, "no such route").await;
    let patch = app.client.patch(app.url("/api/v1/patients/1")).bearer_auth(token(&app)).send().await.unwrap();
    let allow = patch.headers()[header::ALLOW].to_str().unwrap().to_owned();
    for method in ["GET", "PUT", "DELETE"] {
        assert!(allow.contains(method), "{allow}");
    }
    refused(patch, StatusCode::METHOD_NOT_ALLOWED, "method not allowed").await;
    // The method is wrong whoever asks: 405 before any token is asked for (SPEC 1.4).
    for (method, path) in [(Method::PATCH, "/api/v1/patients/1"), (Method::DELETE, "/api/v1/patients")] {
        let anonymous = app.client.request(method, app.url(path)).send().await.unwrap();
        assert!(anonymous.headers()[header::ALLOW].to_str().unwrap().contains("GET"), "{path}");
        refused(anonymous, StatusCode::METHOD_NOT_ALLOWED, "method not allowed").await;
    }
}

/// How many patients exist.
pub(crate) async fn count(app: &ferrum_testkit::TestApp) -> usize {
    get(app, "/api/v1/patients?limit=1000").await.json::<Vec<Value>>().await.unwrap().len()
}

both_backends!(
    refuses_the_nul_character,
    creates_a_patient_at_its_location,
    accepts_json_sent_as_curl_data,
    refuses_other_content_types,
    refuses_malformed_json,
    names_every_invalid_field,
    ignores_unknown_fields_and_client_ids,
    two_patients_may_share_a_name,
    caps_declared_and_chunked_bodies,
    concurrent_creates_all_succeed,
    finding_needs_an_existing_integer_id,
    unknown_routes_and_methods_are_json,
);
