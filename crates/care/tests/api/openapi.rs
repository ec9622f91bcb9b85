//! The care part of the OpenAPI document: every operation, who may call it, and its refusals in
//! the envelope's schema.

use ferrum_platform::docs;
use ferrum_testkit::{Backend, TestApp};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_every_operation_with_its_scopes_and_refusals() {
    let app =
        TestApp::spawn(Backend::Sqlite, &[&ferrum_care::MIGRATIONS], |p| docs::mount(ferrum_care::routes(p), p.build))
            .await;
    let doc: Value = app.client.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let operations = [
        ("get", "/ping", json!([{}])),
        ("get", "/events/types", json!([{"bearer": ["care"]}])),
        ("post", "/events/types", json!([{"bearer": ["care", "care:manage"]}])),
        ("get", "/events/types/{id}", json!([{"bearer": ["care"]}])),
        ("patch", "/events/types/{id}", json!([{"bearer": ["care", "care:manage"]}])),
        ("delete", "/events/types/{id}", json!([{"bearer": ["care", "care:manage"]}])),
        ("get", "/events", json!([{"bearer": ["care"]}])),
        ("post", "/events", json!([{"bearer": ["care"]}])),
        ("get", "/events/{id}", json!([{"bearer": ["care"]}])),
        ("delete", "/events/{id}", json!([{"bearer": ["care", "care:manage"]}])),
        ("post", "/events/{id}/reimburse", json!([{"bearer": ["care", "care:reimburse"]}])),
        ("get", "/events/report", json!([{"bearer": ["care"]}])),
        ("post", "/events/report", json!([{"bearer": ["care"]}])),
    ];
    let care_paths =
        doc["paths"].as_object().unwrap().keys().filter(|p| p.starts_with("/events") || *p == "/ping").count();
    assert_eq!(care_paths, 7);
    for (method, path, security) in operations {
        let operation = &doc["paths"][path][method];
        assert_eq!(operation["security"], security, "{method} {path}");
        assert_eq!(operation["tags"], json!(["care"]), "{method} {path}");
        if path == "/ping" {
            continue;
        }
        for (status, name) in [("401", "CareUnauthorized"), ("403", "CareForbidden")] {
            let reference = operation["responses"][status]["$ref"].as_str().unwrap_or_default();
            assert!(reference.ends_with(name), "{method} {path} {status}: {reference}");
        }
    }
    let fail = &doc["components"]["responses"]["EventNotFound"]["content"]["application/json"];
    assert_eq!(fail["example"], json!({"status": "fail", "message": "Event does not exist"}));
    assert!(fail["schema"]["$ref"].as_str().unwrap().ends_with("/CareFail"));
    assert_eq!(doc["components"]["schemas"]["CareFail"]["required"], json!(["status", "message"]));
}
