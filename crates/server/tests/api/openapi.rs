//! `/openapi.json` and `/docs` (SPEC 1.6): the document is OpenAPI 3.1, lists exactly the routes
//! the server mounts, and the reference page loads everything it needs from this server.

use std::{collections::BTreeSet, sync::Arc, time::Duration};

use ferrum_platform::{Platform, auth::AuthKeys, metrics::Metrics};
use ferrum_server::{BUILD, Cli, MODULES, app::compose};
use ferrum_testkit::{
    Backend, TestDb,
    routes::{allowed_methods, concrete_path, mounted_paths},
};
use serde_json::Value;

use crate::Server;

const PRODUCTION_KEY: &str = "a-production-key-of-at-least-32-bytes!";

async fn started(flags: &[&str]) -> (TestDb, Server) {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let server = Server::start(&db.url, flags);
    server.wait_ready(Duration::from_secs(10)).await;
    (db, server)
}

async fn document(server: &Server) -> Value {
    let response = server.client.get(server.url("/openapi.json")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_slice(&response.bytes().await.unwrap()).expect("/openapi.json is JSON")
}

/// `(METHOD, path)` of every operation in the document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let methods = item.as_object().expect("path item").keys();
            methods.map(move |method| (method.to_ascii_uppercase(), path.clone()))
        })
        .collect()
}

/// Holds the document to what the server really mounts, both ways: every route the composed
/// router holds (read from its routing table, methods from a 405's `Allow`) is documented, and
/// every documented operation is mounted. A route added with plain axum `.route()`, or a router
/// merged without its OpenAPI fragment, fails here.
async fn routes_match_the_document(flags: &[&str]) {
    let (db, server) = started(flags).await;
    let doc = document(&server).await;

    let mut args = vec!["ferrum", "--database-url", db.url.as_str()];
    args.extend_from_slice(flags);
    let config = Cli::try_parse_args(args).unwrap().into_config();
    let platform = Platform {
        db: db.db.clone(),
        auth: Arc::new(AuthKeys::new(&config.auth)),
        external_url: server.base.clone().into(),
        build: BUILD,
    };
    let metrics = config.metrics.enabled.then(|| Arc::new(Metrics::new(BUILD)));
    let routes = compose(&platform, &config, metrics, &tokio_util::sync::CancellationToken::new()).unwrap();
    let mut paths = mounted_paths(&routes.router);
    assert!(paths.contains("/health/live") && paths.contains("/openapi.json"), "routing table not read: {paths:?}");
    // Requests are labelled (metrics, access log) by these templates, found outside the router.
    let templates: BTreeSet<String> = routes.templates.iter().map(String::from).collect();
    assert_eq!(templates, paths, "route templates (left) and the router's routes (right) differ");
    // gRPC services are routed by path on the same port, but they are not REST operations:
    // calc.proto and server reflection describe them, so the document leaves them out.
    for service in ferrum_calc::grpc::SERVICE_NAMES {
        let grpc = format!("/{service}/{{*rest}}");
        let calc_on = config.serves("calc");
        assert_eq!(paths.remove(&grpc), calc_on, "{grpc} mounted exactly when calc is on: {paths:?}");
    }

    // An admin token from the server's own key gets past every guard to the method check.
    let token = platform.auth.mint(Some("route-census".into()), true, None, None).unwrap();
    let mut mounted = BTreeSet::new();
    for path in &paths {
        let url = server.url(&concrete_path(path));
        let methods = allowed_methods(&server.client, &url, &token).await.unwrap_or_else(|why| panic!("{path}: {why}"));
        assert!(!methods.is_empty(), "{path} allows no method");
        mounted.extend(methods.into_iter().map(|method| (method, path.clone())));
    }
    assert_eq!(mounted, documented(&doc), "mounted routes (left) and the OpenAPI document (right) differ");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mounted_route_is_documented() {
    routes_match_the_document(&[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_documents_no_token_route() {
    routes_match_the_document(&["--env", "production", "--jwt-signing-key", PRODUCTION_KEY]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profiling_is_documented_when_mounted() {
    routes_match_the_document(&["--profiling"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_are_documented_when_mounted() {
    routes_match_the_document(&["--admin"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_switched_off_are_not_documented() {
    routes_match_the_document(&["--metrics", "false"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_switched_off_is_not_documented() {
    routes_match_the_document(&["--modules", "care"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_an_openapi_3_1_document() {
    let (_db, server) = started(&["--admin"]).await;
    let doc = document(&server).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc["info"]["title"], "Ferrum");
    assert_eq!(doc["info"]["version"], BUILD.version);
    let bearer = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!((bearer["type"].as_str(), bearer["scheme"].as_str()), (Some("http"), Some("bearer")));
    assert_eq!(bearer["bearerFormat"], "JWT");

    // Every reference resolves inside the document.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for reference in refs {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("external reference {reference}"));
        assert!(doc.pointer(pointer).is_some(), "{reference} does not resolve");
    }

    // Operations behind a token say which scope and answer 401 and 403; the public ones don't.
    // The guard enforces what `security` says, so this is also who may call each route.
    let scopes: Vec<&str> = MODULES.iter().filter_map(|module| module.scope).map(|scope| scope.name()).collect();
    for (method, path) in documented(&doc) {
        let operation = &doc["paths"][&path][method.to_ascii_lowercase()];
        let security = &operation["security"];
        let guard = match path.split('/').nth(1) {
            Some("api") => Some(("patients", &["401", "403", "429", "503", "504"][..])),
            Some("admin") => Some(("admin", &["401", "403", "429"][..])),
            _ => None,
        };
        if let Some((scope, statuses)) = guard {
            assert_eq!(security, &serde_json::json!([{"bearer": [scope]}]), "{method} {path}");
            for status in statuses {
                assert!(operation["responses"][status].is_object(), "{method} {path} lacks {status}");
            }
        } else if security.is_null() || security == &serde_json::json!([{}]) {
            // Public: the platform's routes, and a module's routes marked `security(())`.
            assert!(operation["responses"]["401"].is_null(), "{method} {path} needs no token");
        } else {
            // Another module's guarded route: its scopes are modules' scopes (or `care:manage`
            // and the like), and it answers 401 and 403.
            let needed = security[0]["bearer"].as_array().unwrap_or_else(|| panic!("{method} {path}: {security}"));
            for scope in needed.iter().map(|scope| scope.as_str().unwrap_or("")) {
                let module = scope.split(':').next().unwrap_or(scope);
                assert!(scopes.contains(&module) || module == "admin", "{method} {path}: unknown scope {scope}");
            }
            for status in ["401", "403"] {
                assert!(operation["responses"][status].is_object(), "{method} {path} lacks {status}");
            }
        }
        // The rate limiter never refuses the probes and scrapes, and may refuse everything else.
        let limited = operation["responses"]["429"].is_object();
        assert_eq!(limited, !(path.starts_with("/health") || path == "/metrics"), "{method} {path}");
    }
    server.stop().await.unwrap();
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// `src="..."` and `href="..."` values of an HTML page.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let value = &html[at + attribute.len()..];
            found.push(value[..value.find('"').unwrap()].to_owned());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_load_everything_from_this_server() {
    let (_db, server) = started(&[]).await;
    let page = server.client.get(server.url("/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let page_url = page.url().clone();
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"swagger-ui\""));

    let references = references(&html);
    let scripts = references.iter().filter(|r| r.ends_with(".js")).count();
    let styles = references.iter().filter(|r| r.ends_with(".css")).count();
    assert!(scripts >= 2 && styles >= 1, "{references:?}");
    for reference in &references {
        let url = page_url.join(reference).unwrap();
        assert_eq!(url.origin(), page_url.origin(), "{reference} is not served by this server");
        let response = server.client.get(url.clone()).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = match reference.rsplit('.').next() {
            Some("js") => "text/javascript",
            Some("css") => "text/css",
            Some("png") => "image/png",
            Some("json") => "application/json",
            _ => "",
        };
        assert!(content_type.starts_with(expected), "{url}: {content_type}");
        assert!(!response.bytes().await.unwrap().is_empty(), "{url} is empty");
    }
    // The starter points Swagger UI at this server's document, not at any other host.
    let starter = server.client.get(server.url("/docs/ferrum-docs.js")).send().await.unwrap().text().await.unwrap();
    assert!(starter.contains("\"openapi.json\"") && !starter.contains("http"), "{starter}");
    assert_eq!(server.status("/docs/index.html").await, 404);
    server.stop().await.unwrap();
}
