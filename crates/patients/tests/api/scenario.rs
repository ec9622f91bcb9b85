//! The original Ferrum's integration scenario (its integration_test.sh), step by step.

use ferrum_testkit::{Backend, both_backends};
use reqwest::{StatusCode, header};
use serde_json::Value;

use crate::{refused, spawn};

async fn the_original_integration_scenario(backend: Backend) {
    let app = spawn(backend).await;
    // 1. Get a token.
    let token: Value = app.client.get(app.url("/generate-token")).send().await.unwrap().json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();
    // 2. Without it, the API refuses.
    let anonymous = app.client.get(app.url("/api/v1/patients")).send().await.unwrap();
    refused(anonymous, StatusCode::UNAUTHORIZED, "missing bearer token").await;
    // 3. Create patients the way `curl --data` does.
    let mut locations = Vec::new();
    for name in ["Heimdall", "Tyr"] {
        let created = app
            .client
            .post(app.url("/api/v1/patients"))
            .bearer_auth(&token)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!(r#"{{"first_name":"{name}","last_name":"Aesir"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        locations.push(created.headers()[header::LOCATION].to_str().unwrap().to_owned());
    }
    // 4. Follow each Location.
    for (location, name) in locations.iter().zip(["Heimdall", "Tyr"]) {
        let patient: Value = app.client.get(location).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(patient["first_name"], name);
    }
    // 5. Count them.
    let all: Vec<Value> =
        app.client.get(app.url("/api/v1/patients")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(all.len(), 2);
}

both_backends!(the_original_integration_scenario);
