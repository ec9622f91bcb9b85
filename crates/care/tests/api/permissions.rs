//! Who may call what (SPEC 3): `/ping` is open; `care` reads and creates events; reimbursing
//! needs `care:reimburse`, managing types and deleting events `care:manage`; `admin: true`
//! grants every scope; a `caregivers` claim confines its holder in every query. Refusals are in
//! the envelope.

use ferrum_platform::auth::Claims;
use ferrum_testkit::{Backend, TestApp, both_backends};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

use crate::{assert_fail, call, create_event, create_type, send, spawn, token_for};

/// Every operation, with a body that succeeds and the scope it needs besides `care`.
async fn operations(app: &TestApp) -> Vec<(Method, String, Option<Value>, Option<&'static str>)> {
    let xray = create_type(app, "x-ray", 100).await;
    let spare = create_type(app, "spare", 100).await;
    let first = create_event(app, xray, 3, "2017-01-01T00:00:00Z").await;
    let second = create_event(app, xray, 3, "2017-01-02T00:00:00Z").await;
    let event = json!({"type_id": xray, "caregiver_id": 3, "start_time": "2017-01-03T00:00:00Z"});
    vec![
        (Method::GET, "/events/types".into(), None, None),
        (Method::POST, "/events/types".into(), Some(json!({"name": "new", "amount_in_cents": 1})), Some("care:manage")),
        (Method::GET, format!("/events/types/{xray}"), None, None),
        (Method::PATCH, format!("/events/types/{xray}"), Some(json!({"amount_in_cents": 2})), Some("care:manage")),
        (Method::DELETE, format!("/events/types/{spare}"), None, Some("care:manage")),
        (Method::GET, "/events".into(), None, None),
        (Method::POST, "/events".into(), Some(event), None),
        (Method::GET, format!("/events/{first}"), None, None),
        (Method::POST, format!("/events/{first}/reimburse"), None, Some("care:reimburse")),
        (Method::DELETE, format!("/events/{second}"), None, Some("care:manage")),
        (Method::GET, "/events/report".into(), None, None),
        (Method::POST, "/events/report".into(), Some(json!({})), None),
    ]
}

async fn each_operation_needs_its_scopes(backend: Backend) {
    let app = spawn(backend).await;
    let care = token_for(&app, "care", None);
    let wrong = token_for(&app, "patients care:manage care:reimburse", None);
    for (method, path, body, extra) in operations(&app).await {
        let label = format!("{method} {path}");
        let answer = send(&app, method.clone(), &path, Some(&wrong), body.clone()).await;
        assert_eq!(answer, (StatusCode::FORBIDDEN, json!({"status": "fail", "message": "Forbidden."})), "{label}");
        let answer = send(&app, method.clone(), &path, Some(&care), body.clone()).await;
        match extra {
            Some(_) => assert_fail(answer, StatusCode::FORBIDDEN, "Forbidden."),
            None => {
                assert!(answer.0.is_success(), "{label}: {answer:?}");
                continue;
            }
        };
        let scoped = token_for(&app, &format!("care {}", extra.unwrap_or_default()), None);
        let answer = send(&app, method, &path, Some(&scoped), body).await;
        assert!(answer.0.is_success(), "{label}: {answer:?}");
    }
    // `admin: true` grants every scope.
    let app = spawn(backend).await;
    let admin = app.admin_token();
    for (method, path, body, _) in operations(&app).await {
        let answer = send(&app, method.clone(), &path, Some(&admin), body).await;
        assert!(answer.0.is_success(), "{method} {path}: {answer:?}");
    }
}

async fn ping_is_open_and_the_rest_needs_a_token(backend: Backend) {
    let app = spawn(backend).await;
    let answer = send(&app, Method::GET, "/ping", None, None).await;
    assert_eq!(answer, (StatusCode::OK, json!({"status": "success", "message": "pong!"})));
    let now = chrono::Utc::now().timestamp();
    let expired = app.platform.auth.sign(&Claims { admin: true, exp: now - 3600, ..Claims::default() }).unwrap();
    for (token, why) in [
        (None, "missing bearer token"),
        (Some("not.a.jwt"), "malformed token"),
        (Some(expired.as_str()), "token expired"),
    ] {
        for (method, path) in
            [(Method::GET, "/events"), (Method::GET, "/events/types/1"), (Method::POST, "/events/report")]
        {
            let mut request = app.client.request(method.clone(), app.url(path));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            assert!(response.headers()[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
            assert_eq!(
                response.json::<Value>().await.unwrap(),
                json!({"status": "fail", "message": "Unauthorized.", "errors": [{"field": "Authorization", "message": why}]}),
            );
        }
    }
}

async fn the_caregivers_claim_confines_every_query(backend: Backend) {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 1_250).await;
    let own = create_event(&app, xray, 3, "2017-01-01T00:00:00Z").await;
    let other = create_event(&app, xray, 4, "2017-01-02T00:00:00Z").await;
    create_event(&app, xray, 5, "2017-01-03T00:00:00Z").await;
    let confined = token_for(&app, "care care:manage care:reimburse", Some(json!([3, 6])));
    let as_confined = |method: Method, path: String, body: Option<Value>| {
        let (app, confined) = (&app, &confined);
        async move { send(app, method, &path, Some(confined), body).await }
    };

    let (status, body) = as_confined(Method::GET, "/events".into(), None).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Vec<i64> =
        body["data"]["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, [own]);
    assert_fail(
        as_confined(Method::GET, "/events?caregiver_id=4".into(), None).await,
        StatusCode::FORBIDDEN,
        "Forbidden.",
    );
    let (status, body) = as_confined(Method::GET, "/events?caregiver_id=6".into(), None).await;
    assert_eq!((status, body["data"]["events"].clone()), (StatusCode::OK, json!([])));

    assert_eq!(as_confined(Method::GET, format!("/events/{own}"), None).await.0, StatusCode::OK);
    for (method, path) in [
        (Method::GET, format!("/events/{other}")),
        (Method::DELETE, format!("/events/{other}")),
        (Method::POST, format!("/events/{other}/reimburse")),
    ] {
        let answer = as_confined(method, path, None).await;
        assert_fail(answer, StatusCode::NOT_FOUND, "Event does not exist");
    }
    let (_, still_there) = call(&app, Method::GET, &format!("/events/{other}"), None).await;
    assert_eq!(still_there["data"]["reimbursed"], false, "a refused call changed nothing");

    let event = |caregiver: i64| {
        Some(json!({"type_id": xray, "caregiver_id": caregiver, "start_time": "2017-01-05T00:00:00Z"}))
    };
    assert_fail(as_confined(Method::POST, "/events".into(), event(4)).await, StatusCode::FORBIDDEN, "Forbidden.");
    assert_eq!(as_confined(Method::POST, "/events".into(), event(6)).await.0, StatusCode::CREATED);

    let (status, body) = as_confined(Method::POST, "/events/report".into(), Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body["data"]["report"],
        json!({"2017": {"Jan": {"3": {"non-reimbursed SEK": 12.5}, "6": {"non-reimbursed SEK": 12.5}}}})
    );
    let (status, body) = as_confined(Method::GET, "/events/report?caregiver_ids=6".into(), None).await;
    assert_eq!(
        (status, body["data"]["report"].clone()),
        (StatusCode::OK, json!({"2017": {"Jan": {"6": {"non-reimbursed SEK": 12.5}}}}))
    );
    for filter in [json!({"caregiver_ids": [3, 4]}), json!({"caregiver_ids": [5]})] {
        assert_fail(
            as_confined(Method::POST, "/events/report".into(), Some(filter)).await,
            StatusCode::FORBIDDEN,
            "Forbidden.",
        );
    }
    assert_fail(
        as_confined(Method::GET, "/events/report?caregiver_ids=4".into(), None).await,
        StatusCode::FORBIDDEN,
        "Forbidden.",
    );

    // Admin grants scopes, not caregivers; an empty claim sees nothing; a claim of another shape is refused.
    let mut admin = Claims { admin: true, exp: chrono::Utc::now().timestamp() + 60, ..Claims::default() };
    admin.extra.insert("caregivers".into(), json!([4]));
    let admin = app.platform.auth.sign(&admin).unwrap();
    assert_fail(
        send(&app, Method::GET, &format!("/events/{own}"), Some(&admin), None).await,
        StatusCode::NOT_FOUND,
        "Event does not exist",
    );
    let nobody = token_for(&app, "care", Some(json!([])));
    let (status, body) = send(&app, Method::GET, "/events/report", Some(&nobody), None).await;
    assert_eq!((status, body["data"]["report"].clone()), (StatusCode::OK, json!({})));
    for claim in [json!("3"), json!([3, "4"]), json!({"3": true})] {
        let odd = token_for(&app, "care", Some(claim.clone()));
        assert_fail(send(&app, Method::GET, "/events", Some(&odd), None).await, StatusCode::FORBIDDEN, "Forbidden.");
    }
}

both_backends!(
    each_operation_needs_its_scopes,
    ping_is_open_and_the_rest_needs_a_token,
    the_caregivers_claim_confines_every_query,
);
