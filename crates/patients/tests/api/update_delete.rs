use ferrum_testkit::{Backend, TestApp, both_backends};
use reqwest::{Response, StatusCode, header};
use serde_json::{Value, json};

use crate::{create_named, get, problem, refused, spawn, token};

async fn put(app: &TestApp, id: &Value, if_match: Option<&str>, body: Value) -> Response {
    let mut request = app.client.put(app.url(&format!("/api/v1/patients/{id}"))).bearer_auth(token(app)).json(&body);
    if let Some(tag) = if_match {
        request = request.header(header::IF_MATCH, tag);
    }
    request.send().await.unwrap()
}

async fn delete(app: &TestApp, id: &Value, if_match: Option<&str>) -> Response {
    let mut request = app.client.delete(app.url(&format!("/api/v1/patients/{id}"))).bearer_auth(token(app));
    if let Some(tag) = if_match {
        request = request.header(header::IF_MATCH, tag);
    }
    request.send().await.unwrap()
}

async fn updates_with_if_match_and_bumps_the_version(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Sif", "").await;
    let response =
        put(&app, &created["id"], Some("\"1\""), json!({"first_name": "Sif", "last_name": "Thorsdottir"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::ETAG], "\"2\"");
    let updated: Value = response.json().await.unwrap();
    assert_eq!(updated["last_name"], "Thorsdottir");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["created_at"], created["created_at"]);
    assert!(updated["updated_at"].as_str() >= created["updated_at"].as_str());
    let stored: Value = get(&app, &format!("/api/v1/patients/{}", created["id"])).await.json().await.unwrap();
    assert_eq!(stored, updated);
}

async fn refuses_a_stale_version_and_keeps_the_record(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Sif", "").await;
    let id = &created["id"];
    assert_eq!(put(&app, id, Some("\"1\""), json!({"first_name": "Sif 2"})).await.status(), StatusCode::OK);
    let stale = put(&app, id, Some("\"1\""), json!({"first_name": "Sif 3"})).await;
    assert_eq!(stale.headers()[header::ETAG], "\"2\"");
    let body = problem(stale, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("version 2"), "{body}");
    // The body's `version` works like If-Match.
    let stale_body = put(&app, id, None, json!({"first_name": "Sif 3", "version": 1})).await;
    refused(stale_body, StatusCode::CONFLICT, &format!("patient {id} is at version 2, not 1")).await;
    let current = put(&app, id, None, json!({"first_name": "Sif 3", "version": 2})).await;
    assert_eq!(current.status(), StatusCode::OK);
    let stored: Value = get(&app, &format!("/api/v1/patients/{id}")).await.json().await.unwrap();
    assert_eq!((stored["first_name"].as_str(), stored["version"].as_i64()), (Some("Sif 3"), Some(3)));
}

async fn updates_without_a_version_unconditionally(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Freyja", "").await;
    let response = put(&app, &created["id"], None, json!({"first_name": "Freya"})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = put(&app, &created["id"], Some("*"), json!({"first_name": "Freyja"})).await;
    assert_eq!(response.json::<Value>().await.unwrap()["version"], 3);
}

async fn update_errors(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Frigg", "").await;
    let id = &created["id"];
    let x = || json!({"first_name": "X"});
    refused(put(&app, &json!(404), None, x()).await, StatusCode::NOT_FOUND, "patient 404 does not exist").await;
    // The id goes into the path as JSON: `"abc"`, quotes and all.
    let not_an_id = put(&app, &json!("abc"), None, x()).await;
    refused(not_an_id, StatusCode::BAD_REQUEST, "invalid path: Cannot parse `\"abc\"`").await;
    for grammar in ["\"soon\"", "null", "\"1", "W/1", "\"-1\"", "\"1\", \"2\"", "\"99999999999999999999\""] {
        let why = format!("If-Match must be a version like \"3\", not {grammar}");
        refused(put(&app, id, Some(grammar), x()).await, StatusCode::BAD_REQUEST, &why).await;
    }
    for version in [json!(1.5), json!(1e20), json!(-9.3e18), json!("1")] {
        let out_of_range = put(&app, id, None, json!({"first_name": "X", "version": version})).await;
        let body = problem(out_of_range, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["errors"][0]["field"], "version", "{version}: {body}");
    }
    let invalid = put(&app, id, Some("\"1\""), json!({"first_name": ""})).await;
    let invalid = problem(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(invalid["errors"], json!([{"field": "first_name", "message": "is required"}]), "{invalid}");
    // Nothing above changed the record.
    let stored: Value = get(&app, &format!("/api/v1/patients/{id}")).await.json().await.unwrap();
    assert_eq!(stored, created);
}

/// SPEC 2: `If-Match` and the body's `version` must each match the current version, so when
/// they differ the update is the 409 of a stale version (it once was 400), or 404.
async fn if_match_and_body_version_must_both_be_current(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Frigg", "").await;
    let id = &created["id"];
    for (header, body) in [("\"1\"", 2), ("\"2\"", 1)] {
        let response = put(&app, id, Some(header), json!({"first_name": "X", "version": body})).await;
        assert_eq!(response.headers()[header::ETAG], "\"1\"");
        refused(response, StatusCode::CONFLICT, &format!("patient {id} is at version 1, not 2")).await;
    }
    let missing = put(&app, &json!(404), Some("\"1\""), json!({"first_name": "X", "version": 2})).await;
    refused(missing, StatusCode::NOT_FOUND, "patient 404 does not exist").await;
    let stored: Value = get(&app, &format!("/api/v1/patients/{id}")).await.json().await.unwrap();
    assert_eq!(stored, created);
}

/// A whole-number version in any JSON spelling is the integer JSON Schema says it is (`1.0` was
/// refused although the document's `type: integer` allows it).
async fn reads_whole_number_versions(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Sif", "").await;
    let id = &created["id"];
    let response = put(&app, id, None, json!({"first_name": "Sif", "version": 1.0})).await;
    assert_eq!(response.status(), StatusCode::OK);
    let response = app
        .client
        .put(app.url(&format!("/api/v1/patients/{id}")))
        .bearer_auth(token(&app))
        .header(header::CONTENT_TYPE, "application/json")
        .body(r#"{"first_name": "Sif", "version": 20e-1}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::ETAG], "\"3\"");
}

/// The If-Match grammar the document states is the one read: quoted, weak or bare versions.
async fn reads_the_documented_if_match_grammar(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Sif", "").await;
    let id = &created["id"];
    assert_eq!(put(&app, id, Some("1"), json!({"first_name": "Sif"})).await.status(), StatusCode::OK);
    assert_eq!(put(&app, id, Some("W/\"2\""), json!({"first_name": "Sif"})).await.status(), StatusCode::OK);
    assert_eq!(delete(&app, id, Some("3")).await.status(), StatusCode::NO_CONTENT);
}

async fn exactly_one_of_many_concurrent_updates_wins(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Baldr", "").await;
    let id = created["id"].clone();
    let attempts = (0..16).map(|n| {
        let (app, id) = (&app, &id);
        async move {
            let response = put(app, id, Some("\"1\""), json!({"first_name": format!("Baldr {n}")})).await;
            let status = response.status();
            (status, response.json::<Value>().await.unwrap()["detail"].clone())
        }
    });
    let answers = futures_util::future::join_all(attempts).await;
    let won = answers.iter().filter(|(status, _)| *status == StatusCode::OK).count();
    let lost = answers.iter().filter(|(status, _)| *status == StatusCode::CONFLICT).count();
    assert_eq!((won, lost), (1, 15), "{answers:?}");
    let stale = json!(format!("patient {id} is at version 2, not 1"));
    assert!(answers.iter().all(|(status, detail)| *status == StatusCode::OK || *detail == stale), "{answers:?}");
    let stored: Value = get(&app, &format!("/api/v1/patients/{id}")).await.json().await.unwrap();
    assert_eq!(stored["version"], 2);
}

async fn deletes_once(backend: Backend) {
    let app = spawn(backend).await;
    let created = create_named(&app, "Hod", "").await;
    let id = &created["id"];
    let stale = delete(&app, id, Some("\"7\"")).await;
    refused(stale, StatusCode::CONFLICT, &format!("patient {id} is at version 1, not 7")).await;
    let deleted = delete(&app, id, Some("\"1\"")).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(deleted.bytes().await.unwrap().is_empty());
    let gone = format!("patient {id} does not exist");
    refused(get(&app, &format!("/api/v1/patients/{id}")).await, StatusCode::NOT_FOUND, &gone).await;
    refused(delete(&app, id, None).await, StatusCode::NOT_FOUND, &gone).await;
    refused(delete(&app, &json!("x"), None).await, StatusCode::BAD_REQUEST, "invalid path: Cannot parse `\"x\"`").await;
    // Ids are not reused after a delete.
    let next = create_named(&app, "Vali", "").await;
    assert!(next["id"].as_i64() > id.as_i64());
}

both_backends!(
    updates_with_if_match_and_bumps_the_version,
    refuses_a_stale_version_and_keeps_the_record,
    updates_without_a_version_unconditionally,
    update_errors,
    if_match_and_body_version_must_both_be_current,
    reads_whole_number_versions,
    reads_the_documented_if_match_grammar,
    exactly_one_of_many_concurrent_updates_wins,
    deletes_once,
);
