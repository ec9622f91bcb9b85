//! `/events/types`: create, list, find, change, delete, and every refusal in its words.

use ferrum_testkit::{Backend, both_backends};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{ALL_SCOPES, assert_fail, call, create_event, create_type, spawn, token_for};

async fn creates_lists_finds_changes_and_deletes_types(backend: Backend) {
    let app = spawn(backend).await;
    let (status, body) = call(&app, Method::GET, "/events/types", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "success", "data": {"event_types": []}})));

    let (status, body) = call(
        &app,
        Method::POST,
        "/events/types",
        Some(json!({"name": " x-ray ", "amount_in_cents": 2500.0, "currency": "SEK", "id": 99})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let xray = body["id"].as_i64().unwrap();
    assert_eq!(body, json!({"status": "success", "message": "Event type created.", "id": xray}));
    let visit = create_type(&app, "visit", 1_250).await;
    assert!(visit > xray);

    let (status, body) = call(&app, Method::GET, "/events/types", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["event_types"],
        json!([
            {"id": xray, "name": "x-ray", "amount_in_cents": 2500, "currency": "SEK"},
            {"id": visit, "name": "visit", "amount_in_cents": 1250, "currency": "SEK"},
        ])
    );
    let (status, body) = call(&app, Method::GET, &format!("/events/types/{visit}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "success", "data": {"id": visit, "name": "visit", "amount_in_cents": 1250, "currency": "SEK"}})
    );

    let path = format!("/events/types/{visit}");
    let (status, body) = call(&app, Method::PATCH, &path, Some(json!({"amount_in_cents": 1500}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!({"id": visit, "name": "visit", "amount_in_cents": 1500, "currency": "SEK"}));
    let (status, body) = call(&app, Method::PATCH, &path, Some(json!({"name": "home visit"}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"], json!({"id": visit, "name": "home visit", "amount_in_cents": 1500, "currency": "SEK"}));

    let (status, body) = call(&app, Method::DELETE, &path, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "success", "message": "Event type deleted."})));
    assert_fail(call(&app, Method::GET, &path, None).await, StatusCode::NOT_FOUND, "Event type does not exist.");
    assert_fail(call(&app, Method::DELETE, &path, None).await, StatusCode::NOT_FOUND, "Event type does not exist.");
}

async fn refuses_bad_type_bodies(backend: Backend) {
    let app = spawn(backend).await;
    create_type(&app, "x-ray", 2500).await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"amount_in_cents": 1}), "Invalid payload."),
        (json!({"name": "a"}), "Invalid payload."),
        (json!({"name": "", "amount_in_cents": 1}), "Invalid payload."),
        (json!({"name": "a", "amount_in_cents": -1}), "Invalid payload."),
        (json!({"name": "a", "amount_in_cents": 12.5}), "Invalid payload."),
        (json!({"name": "a", "amount_in_cents": "100"}), "Invalid payload."),
        (json!({"name": 5, "amount_in_cents": 1}), "Invalid payload."),
        (json!({"name": "x-ray", "amount_in_cents": 1}), "Invalid payload."),
        (json!(["x-ray", 1]), "Invalid payload."),
        (json!("x-ray"), "Invalid payload."),
        (json!({"name": "a", "amount_in_cents": 1, "currency": "EUR"}), "Invalid currency."),
        (json!({"name": "a", "amount_in_cents": 1, "currency": 1}), "Invalid currency."),
    ];
    for (body, message) in cases {
        let answer = call(&app, Method::POST, "/events/types", Some(body.clone())).await;
        let answer = assert_fail(answer, StatusCode::BAD_REQUEST, message);
        if message == "Invalid payload." && body.is_object() {
            assert!(answer["errors"][0]["field"].is_string(), "{body} -> {answer}");
        }
    }
    let malformed = app
        .client
        .post(app.url("/events/types"))
        .bearer_auth(token_for(&app, ALL_SCOPES, None))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{\"name\":")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    assert_eq!(malformed.json::<Value>().await.unwrap(), json!({"status": "fail", "message": "Invalid payload."}));
    let (_, body) = call(&app, Method::GET, "/events/types", None).await;
    assert_eq!(body["data"]["event_types"].as_array().unwrap().len(), 1, "nothing refused was written");
}

async fn refuses_bad_changes_and_unknown_types(backend: Backend) {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 2500).await;
    create_type(&app, "visit", 100).await;
    let path = format!("/events/types/{xray}");
    for (body, message) in [
        (json!({}), "Invalid payload."),
        (json!({"amount_in_cents": -5}), "Invalid payload."),
        (json!({"name": "visit"}), "Invalid payload."),
        (json!([1]), "Invalid payload."),
        (json!({"name": "b", "currency": "USD"}), "Invalid currency."),
    ] {
        assert_fail(call(&app, Method::PATCH, &path, Some(body)).await, StatusCode::BAD_REQUEST, message);
    }
    for path in ["/events/types/999", "/events/types/abc", "/events/types/1.5", "/events/types/99999999999999999999"] {
        for method in [Method::GET, Method::DELETE] {
            let answer = call(&app, method.clone(), path, None).await;
            assert_fail(answer, StatusCode::NOT_FOUND, "Event type does not exist.");
        }
        let answer = call(&app, Method::PATCH, path, Some(json!({"name": "c"}))).await;
        assert_fail(answer, StatusCode::NOT_FOUND, "Event type does not exist.");
    }
}

async fn a_type_in_use_is_not_deleted(backend: Backend) {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 2500).await;
    let event = create_event(&app, xray, 3, "2017-01-05T10:00:00Z").await;
    let path = format!("/events/types/{xray}");
    let answer = call(&app, Method::DELETE, &path, None).await;
    assert_fail(answer, StatusCode::BAD_REQUEST, "Event type is used in existing events.");
    call(&app, Method::DELETE, &format!("/events/{event}"), None).await;
    let (status, _) = call(&app, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::OK);
}

async fn refuses_other_content_types_and_large_bodies(backend: Backend) {
    let settings = ferrum_platform::http::middleware::HttpSettings::new(std::time::Duration::from_secs(10), 256);
    let app =
        ferrum_testkit::TestApp::spawn_with(backend, &[&ferrum_care::MIGRATIONS], settings, ferrum_care::routes).await;
    let token = token_for(&app, ALL_SCOPES, None);
    let post = |content_type: &'static str, body: String| {
        let request =
            app.client.post(app.url("/events/types")).bearer_auth(&token).header(header::CONTENT_TYPE, content_type);
        async move {
            let response = request.body(body).send().await.unwrap();
            (response.status(), response.json::<Value>().await.unwrap())
        }
    };
    let body = r#"{"name":"x-ray","amount_in_cents":1}"#.to_owned();
    assert_fail(post("text/plain", body.clone()).await, StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type.");
    let large = json!({"name": "x".repeat(300), "amount_in_cents": 1}).to_string();
    // A declared length over the cap is refused by the platform's edge before routing, as
    // problem+json; the envelope's 413 is for a chunked body found too large while read.
    let (status, problem) = post("application/json", large).await;
    assert_eq!(
        (status, &problem["detail"]),
        (StatusCode::PAYLOAD_TOO_LARGE, &json!("the request body is larger than the configured limit"))
    );
    // curl --data sends its JSON as a form: read as JSON.
    assert_eq!(post("application/x-www-form-urlencoded", body).await.0, StatusCode::CREATED);
}

both_backends!(
    creates_lists_finds_changes_and_deletes_types,
    refuses_bad_type_bodies,
    refuses_bad_changes_and_unknown_types,
    a_type_in_use_is_not_deleted,
    refuses_other_content_types_and_large_bodies,
);
