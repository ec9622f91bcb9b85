//! The token guard on a module's routes (SPEC 1.5), read from the router's own OpenAPI
//! document: each operation admits the callers its `security` names, so what the document
//! promises and what the guard enforces are one list.
//!
//! - `security(("bearer" = ["care", "care:reimburse"]))`: a valid token holding every scope listed
//!   (several requirements are alternatives, as in OpenAPI).
//! - `security(())`: anyone, no token needed (care's `/ping`, chirps' register and login).
//! - no `security`: the router's scope, written into the operation's entry so that the document
//!   says it too. A route the document does not list gets the router's scope as well.
//!
//! Refusals are [`Rejection`]s: problem+json through [`require`], the module's own shape
//! through [`require_as`].

use std::{
    collections::HashMap,
    convert::Infallible,
    future::{Ready, ready},
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    extract::{MatchedPath, Request},
    http::{Method, StatusCode},
    response::{IntoResponse, Response},
};
use futures_util::future::Either;
use tower::{Layer, Service};
use utoipa::openapi::{PathItem, path::Operation, security::SecurityRequirement};
use utoipa_axum::router::OpenApiRouter;

use super::{AuthKeys, Claims, Scope, bearer};
use crate::{
    http::{Problem, Rejection},
    openapi::{self, BEARER},
};

/// Guards every route of `router`: 401 without a valid token, 403 with one that lacks the
/// scopes the route's operation names, the route itself otherwise, with the verified caller
/// for a [`super::Caller`] argument. Operations that name no scopes need `scope`; those marked
/// `security(())` are public (see the module documentation). One router holds a module's
/// public and protected routes alike.
///
/// A method the route does not serve is 405 whoever asks (SPEC 1.4), token or not. axum's
/// `route_layer` also wraps each route's answer for other methods, so the guard tells them
/// apart by the methods the document gives each path (the server's OpenAPI tests hold the
/// document to the routes), and the router then adds its `Allow`. Call this on a router whose
/// document has the paths as served (after any `nest`), once its routes are all added: a route
/// added afterwards is not guarded.
pub fn require<S: Clone + Send + Sync + 'static>(
    router: OpenApiRouter<S>,
    keys: Arc<AuthKeys>,
    scope: Scope,
) -> OpenApiRouter<S> {
    require_as::<Problem, S>(router, keys, scope)
}

/// [`require`], with its refusals (401, 403) answered as the module's error type `R` answers
/// them: `auth::require_as::<CareError, _>(router, keys, SCOPE)` puts care's 401 and 403 in its
/// envelope (SPEC 3).
pub fn require_as<R, S>(mut router: OpenApiRouter<S>, keys: Arc<AuthKeys>, scope: Scope) -> OpenApiRouter<S>
where
    R: From<Rejection> + IntoResponse,
    S: Clone + Send + Sync + 'static,
{
    let default = vec![SecurityRequirement::new(BEARER, [scope.name()])];
    let routes = Arc::new(DocumentedAccess::of(router.get_openapi_mut(), &default));
    let default = Access::Scopes(Box::new([Box::new([scope.name().into()])]));
    router.route_layer(Guard { keys, routes, default: Arc::new(default), refuse: refuse::<R> })
}

/// The answer of a refusal, as `R` renders it.
fn refuse<R: From<Rejection> + IntoResponse>(rejection: Rejection) -> Response {
    R::from(rejection).into_response()
}

/// Who may call one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Access {
    /// Anyone: no token is read.
    Public,
    /// A valid token holding every scope of at least one of these lists.
    Scopes(Box<[Box<[Box<str>]>]>),
}

impl Access {
    /// The access an operation's `security` grants.
    fn of(requirements: &[SecurityRequirement]) -> Self {
        // No requirement at all (`security: []`) is how OpenAPI says "no token", too.
        if requirements.is_empty() {
            return Access::Public;
        }
        let mut alternatives = Vec::new();
        for requirement in requirements {
            // The requirement's scheme names and their scopes; utoipa keeps the map private.
            let value = serde_json::to_value(requirement).unwrap_or_default();
            let schemes = value.as_object().map(|schemes| schemes.values().collect::<Vec<_>>()).unwrap_or_default();
            if schemes.is_empty() {
                return Access::Public;
            }
            let scopes = schemes.iter().filter_map(|scopes| scopes.as_array()).flatten().filter_map(|s| s.as_str());
            alternatives.push(scopes.map(Box::from).collect());
        }
        Access::Scopes(alternatives.into())
    }

    /// The scope `claims` lack, if any: for a refusal, the first missing one of the first
    /// alternative.
    fn lacking(alternatives: &[Box<[Box<str>]>], claims: &Claims) -> Option<Box<str>> {
        if alternatives.iter().any(|all| all.iter().all(|scope| claims.grants(scope))) {
            return None;
        }
        let first = alternatives.first()?;
        first.iter().find(|scope| !claims.grants(scope)).cloned()
    }
}

/// The access of each method of each path template of an OpenAPI document.
struct DocumentedAccess(HashMap<String, Vec<(Method, Access)>, foldhash::fast::RandomState>);

/// What the document says of a request's route.
enum Lookup<'a> {
    /// The route's operation for the request's method.
    Found(&'a Access),
    /// A documented path that does not serve the method: 405.
    MethodNotServed,
    /// A route the document does not list.
    Unlisted,
}

impl DocumentedAccess {
    /// Reads each operation's access, first writing `default` into those that state none.
    fn of(document: &mut utoipa::openapi::OpenApi, default: &[SecurityRequirement]) -> Self {
        let paths = document.paths.paths.iter_mut().map(|(path, item)| {
            for operation in openapi::operations_mut(item) {
                operation.security.get_or_insert_with(|| default.to_vec());
            }
            (path.clone(), Self::methods(item))
        });
        Self(paths.collect())
    }

    fn methods(item: &PathItem) -> Vec<(Method, Access)> {
        let access = |operation: &Operation| Access::of(operation.security.as_deref().unwrap_or_default());
        openapi::operations_by_method(item).map(|(method, operation)| (method, access(operation))).collect()
    }

    fn lookup(&self, request: &Request) -> Lookup<'_> {
        let Some(route) = request.extensions().get::<MatchedPath>() else { return Lookup::Unlisted };
        let Some(methods) = self.0.get(route.as_str()) else { return Lookup::Unlisted };
        match methods.iter().find(|(method, _)| method == request.method()) {
            Some((_, access)) => Lookup::Found(access),
            None => Lookup::MethodNotServed,
        }
    }
}

/// The layer [`require`] puts on the routes: a named service and future rather than axum's
/// `from_fn`, which per request cloned the route's boxed service (an allocation), built a `Next`
/// and boxed the guard's `async` body; every check here is made before the route is called,
/// with nothing to wait for.
#[derive(Clone)]
struct Guard {
    keys: Arc<AuthKeys>,
    routes: Arc<DocumentedAccess>,
    /// The access of routes the document does not list: the router's scope.
    default: Arc<Access>,
    /// How the module answers a refusal.
    refuse: fn(Rejection) -> Response,
}

impl<S> Layer<S> for Guard {
    type Service = Guarded<S>;

    fn layer(&self, route: S) -> Guarded<S> {
        Guarded { guard: self.clone(), route }
    }
}

/// A route behind [`Guard`].
#[derive(Clone)]
struct Guarded<S> {
    guard: Guard,
    route: S,
}

impl<S> Service<Request> for Guarded<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.route.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match self.guard.refusal(&mut request) {
            None => Either::Right(self.route.call(request)),
            Some(refused) => Either::Left(ready(Ok(refused))),
        }
    }
}

impl Guard {
    /// The answer that refuses `request`, if any; when none, the request goes on to its route,
    /// with its verified [`Claims`] in its extensions when the route needs a token.
    fn refusal(&self, request: &mut Request) -> Option<Response> {
        let alternatives = match self.routes.lookup(request) {
            Lookup::Found(Access::Scopes(alternatives)) => alternatives,
            Lookup::Found(Access::Public) => {
                // Claims the rate limiter verified are not this route's caller: a public route
                // has none.
                request.extensions_mut().remove::<Claims>();
                return None;
            }
            // As the router answers it: a bare 405, given its `Allow` by the router and its
            // problem body by the edge.
            Lookup::MethodNotServed => return Some(StatusCode::METHOD_NOT_ALLOWED.into_response()),
            Lookup::Unlisted => match &*self.default {
                Access::Scopes(alternatives) => alternatives,
                Access::Public => return None,
            },
        };
        // The rate limiter may have verified this request's token already.
        let verified = request.extensions_mut().remove::<Claims>().map(Ok);
        let claims = match verified.unwrap_or_else(|| bearer(request).and_then(|token| self.keys.verify(token))) {
            Ok(claims) => claims,
            Err(error) => return Some((self.refuse)(Rejection::Unauthenticated(error))),
        };
        if let Some(scope) = Access::lacking(alternatives, &claims) {
            return Some((self.refuse)(Rejection::Forbidden { scope }));
        }
        request.extensions_mut().insert(claims);
        None
    }
}

#[cfg(test)]
mod tests {
    use axum::{
        Router,
        body::Body,
        http::{Request, header},
    };
    use http_body_util::BodyExt as _;
    use serde_json::{Value, json};
    use tower::ServiceExt as _;
    use utoipa_axum::routes;

    use super::*;
    use crate::{auth::Caller, http::Json};

    /// Open to anyone.
    #[utoipa::path(get, path = "/ping", security(()), responses((status = 200, description = "pong")))]
    async fn ping() -> &'static str {
        "pong!"
    }

    /// The caller, as the handler sees it; the router's scope (no `security`).
    #[utoipa::path(get, path = "/me", responses((status = 200, description = "the caller")))]
    async fn me(caller: Caller) -> Json<Value> {
        Json(json!({
            "sub": caller.subject(),
            "name": caller.name(),
            "scopes": caller.scopes().collect::<Vec<_>>(),
            "admin": caller.is_admin(),
            "reimburses": caller.has_scope(Scope::new("care:reimburse")),
        }))
    }

    /// Two scopes at once.
    #[utoipa::path(post, path = "/reimburse", security(("bearer" = ["care", "care:reimburse"])),
        responses((status = 200, description = "done")))]
    async fn reimburse(caller: Caller) -> String {
        caller.subject().unwrap_or("nobody").to_owned()
    }

    fn keys() -> Arc<AuthKeys> {
        Arc::new(crate::auth::test_keys("k"))
    }

    fn guarded(keys: Arc<AuthKeys>) -> (Router, utoipa::openapi::OpenApi) {
        let router = OpenApiRouter::new().routes(routes!(ping)).routes(routes!(me)).routes(routes!(reimburse));
        require(router, keys, Scope::new("care")).split_for_parts()
    }

    async fn call(router: &Router, method: Method, path: &str, token: Option<&str>) -> (StatusCode, Response) {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let response = router.clone().oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
        (response.status(), response)
    }

    async fn body(response: Response) -> Value {
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
    }

    #[tokio::test]
    async fn a_protected_route_refuses_without_a_token_or_its_scope() {
        let keys = keys();
        let (router, _) = guarded(keys.clone());
        let (status, response) = call(&router, Method::GET, "/me", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body(response).await["detail"], "missing bearer token");

        let (status, response) = call(&router, Method::GET, "/me", Some("not.a.jwt")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body(response).await["detail"], "malformed token");

        let payments = keys.mint(Some("u1".into()), false, Some("payments".into()), None).unwrap();
        let (status, response) = call(&router, Method::GET, "/me", Some(&payments)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body(response).await["detail"], "the token lacks the `care` scope");
    }

    #[tokio::test]
    async fn a_public_route_answers_anyone() {
        let keys = keys();
        let (router, _) = guarded(keys.clone());
        for token in
            [None, Some("not.a.jwt".to_owned()), Some(keys.mint(None, false, Some("payments".into()), None).unwrap())]
        {
            let (status, response) = call(&router, Method::GET, "/ping", token.as_deref()).await;
            assert_eq!(status, StatusCode::OK, "{token:?}");
            assert_eq!(body(response).await, "pong!", "{token:?}");
        }
        // Still 405 for a method it does not serve, with the router's `Allow`.
        let (status, response) = call(&router, Method::DELETE, "/ping", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET,HEAD");
        let (status, _) = call(&router, Method::DELETE, "/me", None).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "405 before 401, token or not");
    }

    #[tokio::test]
    async fn the_caller_is_the_verified_token() {
        let keys = keys();
        let (router, _) = guarded(keys.clone());
        let token = keys.mint(Some("u1".into()), false, Some("care care:reimburse".into()), None).unwrap();
        let (status, response) = call(&router, Method::GET, "/me", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body(response).await,
            json!({"sub": "u1", "name": "ferrum", "scopes": ["care", "care:reimburse"], "admin": false, "reimburses": true})
        );
        let admin = keys.mint(None, true, None, None).unwrap();
        let (status, response) = call(&router, Method::GET, "/me", Some(&admin)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            body(response).await,
            json!({"sub": null, "name": "ferrum", "scopes": [], "admin": true, "reimburses": true})
        );
    }

    #[tokio::test]
    async fn an_operation_may_need_several_scopes() {
        let keys = keys();
        let (router, _) = guarded(keys.clone());
        let care = keys.mint(Some("u1".into()), false, Some("care".into()), None).unwrap();
        let (status, response) = call(&router, Method::POST, "/reimburse", Some(&care)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body(response).await["detail"], "the token lacks the `care:reimburse` scope");
        let reimburser = keys.mint(Some("u2".into()), false, Some("care:reimburse care".into()), None).unwrap();
        let (status, response) = call(&router, Method::POST, "/reimburse", Some(&reimburser)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body(response).await, "u2");
    }

    #[tokio::test]
    async fn the_document_says_what_the_guard_enforces() {
        let (_, document) = guarded(keys());
        let document = serde_json::to_value(&document).unwrap();
        let security = |path: &str, method: &str| document["paths"][path][method]["security"].clone();
        assert_eq!(security("/ping", "get"), json!([{}]));
        assert_eq!(security("/me", "get"), json!([{"bearer": ["care"]}]), "the router's scope, written in");
        assert_eq!(security("/reimburse", "post"), json!([{"bearer": ["care", "care:reimburse"]}]));
    }

    #[tokio::test]
    async fn a_caller_outside_the_guard_is_a_mistake_of_the_module() {
        let router: Router = OpenApiRouter::new().routes(routes!(me)).into();
        let (status, response) = call(&router, Method::GET, "/me", None).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body(response).await["detail"], "internal error");
    }

    #[test]
    fn access_reads_requirements_as_alternatives() {
        let care = SecurityRequirement::new(BEARER, ["care"]);
        let admin = SecurityRequirement::new(BEARER, ["admin"]);
        assert_eq!(Access::of(&[]), Access::Public);
        assert_eq!(Access::of(&[SecurityRequirement::default()]), Access::Public);
        let either = Access::of(&[care, admin]);
        let Access::Scopes(alternatives) = &either else { panic!("{either:?}") };
        let claims = |scope: &str| Claims { scope: Some(scope.into()), ..Claims::default() };
        assert_eq!(Access::lacking(alternatives, &claims("admin")), None);
        assert_eq!(Access::lacking(alternatives, &claims("care")), None);
        assert_eq!(Access::lacking(alternatives, &claims("payments")).as_deref(), Some("care"));
    }
}
