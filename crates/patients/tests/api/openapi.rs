//! The patients part of the OpenAPI document against what the API really answers: every status
//! seen here is documented for its operation, documented headers are sent, and the schemas list
//! exactly the fields of the bodies.

use std::collections::BTreeSet;

use ferrum_platform::{docs, http::middleware::HttpSettings};
use ferrum_testkit::{Backend, TestApp};
use reqwest::{Method, RequestBuilder, Response, header};
use serde_json::{Value, json};

use crate::token;

/// The patients routes with `/openapi.json`, over SQLite (the document does not depend on it).
async fn spawn_documented() -> (TestApp, Value) {
    let settings = HttpSettings::new(std::time::Duration::from_secs(10), 4096);
    let app = TestApp::spawn_with(Backend::Sqlite, &[&ferrum_patients::MIGRATIONS], settings, |p| {
        docs::mount(ferrum_patients::routes(p), p.build)
    })
    .await;
    let doc = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    (app, doc)
}

/// Sends `request` and checks the document lists its answer for `method template`, with the
/// headers it documents for that answer.
async fn answer(doc: &Value, method: &str, template: &str, request: RequestBuilder) -> Response {
    let response = request.send().await.unwrap();
    let status = response.status().as_str().to_owned();
    let mut documented = doc["paths"][template][method.to_ascii_lowercase()]["responses"][&status].clone();
    if let Some(reference) = documented["$ref"].as_str() {
        documented = doc.pointer(reference.trim_start_matches('#')).cloned().unwrap_or(Value::Null);
    }
    assert!(documented.is_object(), "{method} {template} answered {status}, which is not documented");
    for name in documented["headers"].as_object().into_iter().flat_map(|h| h.keys()) {
        // `Link` is sent only when another page exists; the rest always.
        if name != "Link" {
            assert!(response.headers().contains_key(name.as_str()), "{method} {template} {status} lacks {name}");
        }
    }
    response
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_is_documented() {
    let (app, doc) = spawn_documented().await;
    let token = token(&app);
    let list = "/api/v1/patients";
    let one = "/api/v1/patients/{id}";
    let call = |method: Method, path: &str| app.client.request(method, app.url(path)).bearer_auth(&token);

    let created = answer(&doc, "POST", list, call(Method::POST, list).json(&json!({"first_name": "Ymir"}))).await;
    let patient: Value = created.json().await.unwrap();
    let path = format!("/api/v1/patients/{}", patient["id"]);
    answer(&doc, "POST", list, call(Method::POST, list).json(&json!({"first_name": " "}))).await;
    answer(&doc, "POST", list, call(Method::POST, list).header(header::CONTENT_TYPE, "text/plain").body("x")).await;
    answer(&doc, "POST", list, call(Method::POST, list).header(header::CONTENT_TYPE, "application/json").body("{"))
        .await;
    let big = json!({"first_name": "x".repeat(8192)});
    answer(&doc, "POST", list, call(Method::POST, list).json(&big)).await;
    answer(&doc, "POST", list, app.client.post(app.url(list)).json(&patient)).await;
    let wrong_scope = app.client.get(app.url(list)).bearer_auth(app.token("care"));
    answer(&doc, "GET", list, wrong_scope).await;

    call(Method::POST, list).json(&json!({"first_name": "Ymir"})).send().await.unwrap();
    answer(&doc, "GET", list, call(Method::GET, "/api/v1/patients?limit=1")).await;
    answer(&doc, "GET", list, call(Method::GET, "/api/v1/patients?limit=0")).await;
    answer(&doc, "GET", one, call(Method::GET, &path)).await;
    answer(&doc, "GET", one, call(Method::GET, "/api/v1/patients/abc")).await;
    answer(&doc, "GET", one, call(Method::GET, "/api/v1/patients/999999")).await;
    let update = json!({"first_name": "Ymir", "last_name": "Frost"});
    answer(&doc, "PUT", one, call(Method::PUT, &path).header(header::IF_MATCH, "\"1\"").json(&update)).await;
    answer(&doc, "PUT", one, call(Method::PUT, &path).header(header::IF_MATCH, "\"1\"").json(&update)).await;
    answer(&doc, "PUT", one, call(Method::PUT, &path).header(header::IF_MATCH, "nonsense").json(&update)).await;
    answer(&doc, "PUT", one, call(Method::PUT, "/api/v1/patients/999999").json(&update)).await;
    answer(&doc, "DELETE", one, call(Method::DELETE, &path).header(header::IF_MATCH, "\"1\"")).await;
    answer(&doc, "DELETE", one, call(Method::DELETE, &path)).await;
    answer(&doc, "DELETE", one, call(Method::DELETE, &path)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemas_list_the_fields_that_are_sent() {
    let (app, doc) = spawn_documented().await;
    let schemas = &doc["components"]["schemas"];
    let token = token(&app);
    let patients = app.url("/api/v1/patients");

    let patient: Value = app
        .client
        .post(&patients)
        .bearer_auth(&token)
        .json(&json!({"first_name": "Ymir"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys(&patient), keys(&schemas["Patient"]["properties"]));
    let required: BTreeSet<String> =
        schemas["Patient"]["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!(required, keys(&patient), "every field of a patient is always sent");

    let body_fields = keys(&schemas["PatientBody"]["properties"]);
    let writable: BTreeSet<String> =
        ["first_name", "last_name", "address", "phone", "email", "version"].map(String::from).into();
    assert_eq!(body_fields, writable);

    let invalid = app.client.post(&patients).bearer_auth(&token).json(&json!({"first_name": ""})).send().await.unwrap();
    let problem: Value = invalid.json().await.unwrap();
    assert_eq!(keys(&problem), keys(&schemas["Problem"]["properties"]));
    assert_eq!(keys(&problem["errors"][0]), keys(&schemas["FieldError"]["properties"]));
}
