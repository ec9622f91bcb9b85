//! What a router really mounts, for the tests that hold the OpenAPI document to it.
//!
//! axum has no API that lists a router's routes, so [`mounted_paths`] reads its routing table
//! from the `Debug` output (`Node { paths: {RouteId(1): "/health", ...} }`), and
//! [`allowed_methods`] asks the running server which methods a path answers: a request with a
//! method no route uses gets 405 with an `Allow` header listing them. Should axum ever change
//! its `Debug` output, [`mounted_paths`] finds nothing and the tests fail rather than pass.

use std::collections::BTreeSet;

use axum::Router;

/// Paths axum adds for its own bookkeeping (fallbacks, nest tails), not routes of ours.
const PRIVATE_PATH: &str = "__private__axum";

/// A method token no route will ever use, to provoke a 405.
const PROBE_METHOD: &str = "FERRUM-PROBE";

/// The path templates `router` routes (`/api/v1/patients/{id}`...).
pub fn mounted_paths<S>(router: &Router<S>) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    // `Router { path_router: .., fallback_router: .., .. }`: the fallback router's paths (`/` and
    // a catch-all) are how axum routes unmatched requests, not routes of ours.
    let routes = debug.split("fallback_router:").next().unwrap_or("");
    let mut paths = BTreeSet::new();
    let mut rest = routes;
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at + "RouteId(".len()..];
        // A route id in the `paths` map is followed by `): "<path>"`; elsewhere it is not.
        let Some(after_id) = rest.find(')').map(|end| &rest[end + 1..]) else { break };
        if let Some(quoted) = after_id.strip_prefix(": \"") {
            if let Some(end) = quoted.find('"') {
                let path = &quoted[..end];
                if !path.contains(PRIVATE_PATH) {
                    paths.insert(path.to_owned());
                }
            }
        }
    }
    paths
}

/// A concrete URL path for a template: every `{param}` (or `{*rest}`) becomes `1`.
pub fn concrete_path(template: &str) -> String {
    template
        .split('/')
        .map(|segment| if segment.starts_with('{') && segment.ends_with('}') { "1" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// The methods the server at `url` answers, from the `Allow` header of a 405, without `HEAD`
/// (axum answers it for every `GET`). `Err` says why the server did not answer with a 405.
pub async fn allowed_methods(client: &reqwest::Client, url: &str, token: &str) -> Result<BTreeSet<String>, String> {
    let method = reqwest::Method::from_bytes(PROBE_METHOD.as_bytes()).map_err(|e| e.to_string())?;
    let response = client.request(method, url).bearer_auth(token).send().await.map_err(|e| e.to_string())?;
    if response.status() != reqwest::StatusCode::METHOD_NOT_ALLOWED {
        return Err(format!("{url} answered {} to {PROBE_METHOD}, not 405", response.status()));
    }
    let allow = response.headers().get(reqwest::header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or("");
    Ok(allow.split(',').map(|m| m.trim().to_ascii_uppercase()).filter(|m| !m.is_empty() && m != "HEAD").collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};

    #[test]
    fn reads_the_routing_table() {
        let nested = Router::new().route("/inner/{id}", post(|| async {}));
        let router: Router = Router::new()
            .route("/a", get(|| async {}))
            .route("/b/{id}", get(|| async {}).delete(|| async {}))
            .nest("/n", nested)
            .fallback(|| async {});
        let expected: BTreeSet<String> = ["/a", "/b/{id}", "/n/inner/{id}"].map(String::from).into();
        assert_eq!(mounted_paths(&router), expected);
    }

    #[test]
    fn makes_concrete_paths() {
        assert_eq!(concrete_path("/api/v1/patients/{id}"), "/api/v1/patients/1");
        assert_eq!(concrete_path("/docs/{*file}"), "/docs/1");
        assert_eq!(concrete_path("/health"), "/health");
    }
}
