//! `/events`: create, read, list with filters and a cursor, delete, reimburse (once, even when
//! two calls race), and every refusal in its words.

use ferrum_testkit::{Backend, TestApp, both_backends};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::{ALL_SCOPES, assert_fail, call, create_event, create_type, spawn, token_for};

async fn event(app: &TestApp, id: i64) -> Value {
    let (status, body) = call(app, Method::GET, &format!("/events/{id}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success");
    body["data"].clone()
}

async fn creates_and_reads_events_in_utc(backend: Backend) {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 2500).await;
    let body = json!({"type_id": xray, "caregiver_id": 3, "start_time": "2017-10-31T23:30:00.5-01:00",
        "reimbursed": true, "id": 999});
    let (status, created) = call(&app, Method::POST, "/events", Some(body)).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_i64().unwrap();
    assert_ne!(id, 999);
    assert_eq!(created, json!({"status": "success", "message": "Event created.", "id": id}));
    let mut found = event(&app, id).await;
    let created_at = found["created_at"].take();
    assert!(created_at.as_str().is_some_and(|at| at.len() == 27 && at.ends_with('Z')), "{created_at}");
    assert_eq!(
        found,
        json!({"id": id, "type_id": xray, "caregiver_id": 3, "start_time": "2017-11-01T00:30:00.500000Z",
            "amount_in_cents": 2500, "currency": "SEK", "reimbursed": false, "created_at": null})
    );
    let naive = create_event(&app, xray, 4, "2017-10-28T23:28:23.456701").await;
    assert_eq!(event(&app, naive).await["start_time"], "2017-10-28T23:28:23.456701Z");
}

async fn refuses_bad_event_bodies(backend: Backend) {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 2500).await;
    let good = json!({"type_id": xray, "caregiver_id": 3, "start_time": "2017-01-01T00:00:00Z"});
    let with = |field: &str, value: Value| {
        let mut body = good.clone();
        body[field] = value;
        body
    };
    let without = |field: &str| {
        let mut body = good.clone();
        body.as_object_mut().unwrap().remove(field);
        body
    };
    let cases = [
        without("type_id"),
        without("caregiver_id"),
        without("start_time"),
        with("type_id", json!(xray + 100)),
        with("type_id", json!("1")),
        with("caregiver_id", json!(0)),
        with("caregiver_id", json!(-3)),
        with("caregiver_id", json!(3.5)),
        with("start_time", json!("now")),
        with("start_time", json!("infinity")),
        with("start_time", json!("2017-02-30T10:00:00")),
        with("start_time", json!("28/10/2017")),
        with("start_time", json!(1_509_233_303)),
        with("start_time", Value::Null),
        json!([xray, 3, "2017-01-01T00:00:00Z"]),
        json!(null),
        json!(7),
    ];
    for body in cases {
        let answer = call(&app, Method::POST, "/events", Some(body.clone())).await;
        assert_fail(answer, StatusCode::BAD_REQUEST, "Invalid payload.");
    }
    let (_, list) = call(&app, Method::GET, "/events", None).await;
    assert_eq!(list["data"]["events"], json!([]), "nothing refused was written");
}

async fn an_event_keeps_the_price_it_was_created_at(backend: Backend) {
    let app = spawn(backend).await;
    let visit = create_type(&app, "visit", 1_000).await;
    let before = create_event(&app, visit, 3, "2017-01-10T10:00:00Z").await;
    let (status, _) =
        call(&app, Method::PATCH, &format!("/events/types/{visit}"), Some(json!({"amount_in_cents": 1_250}))).await;
    assert_eq!(status, StatusCode::OK);
    let after = create_event(&app, visit, 3, "2017-01-11T10:00:00Z").await;
    assert_eq!(event(&app, before).await["amount_in_cents"], 1_000);
    assert_eq!(event(&app, after).await["amount_in_cents"], 1_250);
    let report = crate::report(&app, json!({})).await;
    assert_eq!(report, json!({"2017": {"Jan": {"3": {"non-reimbursed SEK": 22.5}}}}));
}

async fn lists_events_by_filter_a_page_at_a_time(backend: Backend) {
    let app = spawn(backend).await;
    let (xray, visit) = (create_type(&app, "x-ray", 2500).await, create_type(&app, "visit", 100).await);
    let mut ids = Vec::new();
    for (type_id, caregiver, at) in [
        (xray, 3, "2017-01-01T00:00:00Z"),
        (visit, 4, "2017-01-15T00:00:00Z"),
        (xray, 3, "2017-02-01T00:00:00Z"),
        (visit, 3, "2017-03-01T00:00:00Z"),
        (xray, 5, "2017-03-02T00:00:00Z"),
    ] {
        ids.push(create_event(&app, type_id, caregiver, at).await);
    }
    call(&app, Method::POST, &format!("/events/{}/reimburse", ids[2]), None).await;
    let listed = |query: &str| {
        let path = format!("/events{query}");
        let app = &app;
        async move {
            let (status, body) = call(app, Method::GET, &path, None).await;
            assert_eq!(status, StatusCode::OK, "{path}: {body}");
            let events = body["data"]["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
            (events, body["data"]["next_cursor"].clone())
        }
    };
    assert_eq!(listed("").await, (ids.clone(), Value::Null));
    assert_eq!(listed("?caregiver_id=3").await.0, [ids[0], ids[2], ids[3]]);
    assert_eq!(listed(&format!("?type_id={visit}")).await.0, [ids[1], ids[3]]);
    assert_eq!(listed("?reimbursed=true").await.0, [ids[2]]);
    assert_eq!(listed("?reimbursed=false&caregiver_id=3").await.0, [ids[0], ids[3]]);
    assert_eq!(listed("?min_time=2017-01-15T00:00:00Z&max_time=2017-03-01T00:00:00Z").await.0, [ids[1], ids[2]]);
    assert_eq!(listed("?limit=5000").await.0, ids);

    // Paging: every event once, in order, then a null cursor.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    loop {
        let (page, next) = listed(&query).await;
        assert!(page.len() <= 2);
        seen.extend(page);
        match next.as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);

    for bad in [
        "?limit=0",
        "?limit=-1",
        "?limit=x",
        "?cursor=nonsense!",
        // Base64 of the JSON string "a": no id.
        "?cursor=ImEi",
        "?caregiver_id=x",
        "?reimbursed=maybe",
        "?min_time=now",
        "?min_time=2017-02-01T00:00:00Z&max_time=2017-01-01T00:00:00Z",
    ] {
        assert_fail(
            call(&app, Method::GET, &format!("/events{bad}"), None).await,
            StatusCode::BAD_REQUEST,
            "Invalid payload.",
        );
    }
}

async fn deletes_and_reimburses_once(backend: Backend) {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 2500).await;
    let id = create_event(&app, xray, 3, "2017-01-01T00:00:00Z").await;
    let reimburse = format!("/events/{id}/reimburse");
    let (status, body) = call(&app, Method::POST, &reimburse, None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "success", "message": "Event reimbursed."})));
    assert_eq!(event(&app, id).await["reimbursed"], true);
    assert_fail(call(&app, Method::POST, &reimburse, None).await, StatusCode::BAD_REQUEST, "Event already reimbursed");

    let (status, body) = call(&app, Method::DELETE, &format!("/events/{id}"), None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "success", "message": "Event deleted."})));
    for path in
        [format!("/events/{id}"), "/events/999".into(), "/events/abc".into(), "/events/-1".into(), "/events/1e3".into()]
    {
        assert_fail(call(&app, Method::GET, &path, None).await, StatusCode::NOT_FOUND, "Event does not exist");
        assert_fail(call(&app, Method::DELETE, &path, None).await, StatusCode::NOT_FOUND, "Event does not exist");
        let reimburse = format!("{path}/reimburse");
        assert_fail(call(&app, Method::POST, &reimburse, None).await, StatusCode::NOT_FOUND, "Event does not exist");
    }
    assert_eq!(crate::report(&app, json!({})).await, json!({}));
}

async fn concurrent_reimbursements_succeed_once(backend: Backend) {
    let app = spawn(backend).await;
    let xray = create_type(&app, "x-ray", 2500).await;
    let token = token_for(&app, ALL_SCOPES, None);
    for round in 0..5 {
        let id = create_event(&app, xray, 3, "2017-01-01T00:00:00Z").await;
        let path = format!("/events/{id}/reimburse");
        // Spawned, so the calls run at once on the runtime's threads.
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let (client, url, token) = (app.client.clone(), app.url(&path), token.clone());
                tokio::spawn(async move {
                    let response = client.post(url).bearer_auth(token).send().await.unwrap();
                    (response.status(), response.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut answers = Vec::new();
        for call in calls {
            answers.push(call.await.unwrap());
        }
        let ok = answers.iter().filter(|(status, _)| *status == StatusCode::OK).count();
        assert_eq!(ok, 1, "round {round}: {answers:?}");
        for (status, body) in answers.into_iter().filter(|(status, _)| *status != StatusCode::OK) {
            assert_fail((status, body), StatusCode::BAD_REQUEST, "Event already reimbursed");
        }
    }
    let report = crate::report(&app, json!({})).await;
    assert_eq!(report, json!({"2017": {"Jan": {"3": {"reimbursed SEK": 125}}}}), "each counted once");
}

both_backends!(
    creates_and_reads_events_in_utc,
    refuses_bad_event_bodies,
    an_event_keeps_the_price_it_was_created_at,
    lists_events_by_filter_a_page_at_a_time,
    deletes_and_reimburses_once,
    concurrent_reimbursements_succeed_once,
);
