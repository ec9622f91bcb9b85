//! `/admin/*` (SPEC 1.1 `--admin`, 1.5): the operators' routes, all behind scope `admin`.
//!
//! The server and each module contribute admin routes with paths relative to `/admin` (a
//! handler at `/repo` answers `/admin/repo`); [`mount`] nests them under [`PREFIX`], writes
//! scope `admin` into every operation's OpenAPI entry (whatever the contributor wrote there) and
//! guards them with [`auth::require`], which reads it, so a contributed route can neither skip
//! the guard nor leave it undocumented. The server calls [`mount`] only when started with
//! `--admin`; otherwise no admin path exists (404).

use std::sync::Arc;

use utoipa::{
    OpenApi,
    openapi::{Ref, RefOr, security::SecurityRequirement},
};
use utoipa_axum::router::OpenApiRouter;

use crate::{
    auth::{self, AuthKeys, Scope},
    openapi::{self, BEARER},
};

/// Where the admin routes are mounted.
pub const PREFIX: &str = "/admin";

#[derive(OpenApi)]
#[openapi(tags((name = "admin", description = "Operators' routes, mounted only with `--admin` \
    (`FERRUM_ADMIN=true`). Every one needs a token with scope `admin` (or `admin: true`): without a \
    valid token 401, without the scope 403.")))]
struct AdminApi;

/// The contributed admin routes under [`PREFIX`], behind scope `admin`, documented as such.
pub fn mount(contributions: impl IntoIterator<Item = OpenApiRouter>, keys: Arc<AuthKeys>) -> OpenApiRouter {
    let routes = contributions.into_iter().fold(OpenApiRouter::new(), OpenApiRouter::merge);
    // Guarded once nested: the guard reads the paths as served from the document, and each
    // operation's scopes, written here first so that no contribution can open itself up.
    let mut nested = OpenApiRouter::with_openapi(AdminApi::openapi()).nest(PREFIX, routes);
    document_guard(nested.get_openapi_mut());
    auth::require(nested, keys, Scope::ADMIN)
}

/// Every admin operation needs the bearer scheme with scope `admin` and may answer 401 or 403.
fn document_guard(doc: &mut utoipa::openapi::OpenApi) {
    for (_, item) in doc.paths.paths.iter_mut() {
        for operation in openapi::operations_mut(item) {
            operation.security = Some(vec![SecurityRequirement::new(BEARER, [Scope::ADMIN.name()])]);
            for (status, name) in [("401", "Unauthorized"), ("403", "Forbidden")] {
                let response = RefOr::Ref(Ref::from_response_name(name));
                operation.responses.responses.entry(status.to_owned()).or_insert(response);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::{
        Router,
        body::Body,
        http::{Request, StatusCode, header},
    };
    use tower::ServiceExt as _;
    use utoipa_axum::routes;

    use super::*;

    /// Answers 200 with "pong".
    #[utoipa::path(get, path = "/ping", responses((status = 200, description = "pong")))]
    async fn ping() -> &'static str {
        "pong"
    }

    fn keys() -> Arc<AuthKeys> {
        Arc::new(auth::test_keys("k"))
    }

    async fn status(router: &Router, path: &str, token: Option<&str>) -> StatusCode {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap().status()
    }

    #[tokio::test]
    async fn contributions_answer_under_the_prefix_behind_scope_admin() {
        let keys = keys();
        let contributed = OpenApiRouter::new().routes(routes!(ping));
        let (router, doc) = mount([contributed], keys.clone()).split_for_parts();
        let scoped = keys.mint(None, false, Some("patients admin".into()), None).unwrap();
        let patients_only = keys.mint(None, false, Some("patients".into()), None).unwrap();
        assert_eq!(status(&router, "/admin/ping", Some(&scoped)).await, StatusCode::OK);
        assert_eq!(status(&router, "/admin/ping", None).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(&router, "/admin/ping", Some(&patients_only)).await, StatusCode::FORBIDDEN);
        assert_eq!(status(&router, "/ping", Some(&scoped)).await, StatusCode::NOT_FOUND);
        // A method the route does not serve is 405 with `Allow`, token or not (SPEC 1.4).
        for token in [None, Some(&patients_only), Some(&scoped)] {
            let mut request = Request::delete("/admin/ping");
            if let Some(token) = token {
                request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
            }
            let answer = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
            assert_eq!(answer.status(), StatusCode::METHOD_NOT_ALLOWED, "{token:?}");
            assert_eq!(answer.headers()[header::ALLOW], "GET,HEAD", "{token:?}");
        }
        let head = Request::head("/admin/ping").body(Body::empty()).unwrap();
        assert_eq!(router.clone().oneshot(head).await.unwrap().status(), StatusCode::UNAUTHORIZED, "HEAD is GET's");

        let doc = serde_json::to_value(&doc).unwrap();
        let operation = &doc["paths"]["/admin/ping"]["get"];
        assert_eq!(operation["security"], serde_json::json!([{"bearer": ["admin"]}]), "{doc}");
        for status in ["200", "401", "403"] {
            assert!(operation["responses"][status].is_object(), "{status} missing: {operation}");
        }
        assert!(doc["paths"]["/ping"].is_null(), "{doc}");
    }
}
