//! Per-route limits: a route that takes more than the platform's body cap and deadline allow
//! (care's bulk import: tens of MiB in one request, tens of seconds) raises them for itself,
//! with values from its module's settings; every other route keeps the platform's.
//!
//! A module declares them on the `OpenApiRouter` it returns, with [`raise`]: they are written
//! into the route's operation in the router's document (extension `x-route-limits`), where the
//! token guard reads each route's scopes too. So they follow the route through `merge` and
//! `nest`, the published document tells clients the route's cap and deadline, and the edge
//! reads them with the route templates it already matches every request against
//! ([`super::routes::RouteTemplates`]): a route without limits of its own costs nothing more.

use std::time::Duration;

use axum::http::Method;
use utoipa::openapi::{Ref, RefOr, path::Operation};
use utoipa_axum::router::OpenApiRouter;

use crate::openapi;

/// The name of the operation extension that carries a route's limits in the document.
pub const EXTENSION: &str = "x-route-limits";

/// A body cap and a request deadline. The platform's apply to every route
/// ([`super::middleware::HttpSettings`]); a route may raise them for itself with [`raise`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteLimits {
    /// The largest request body, in bytes, declared or streamed; beyond it: 413.
    pub max_body_bytes: usize,
    /// The whole-request deadline, from the request's arrival; beyond it: 504.
    pub request_timeout: Duration,
}

impl RouteLimits {
    /// Each limit the larger of `self`'s and `floor`'s: a route raises the platform's limits,
    /// never lowers them below what an operator set for every route.
    pub(crate) fn at_least(self, floor: RouteLimits) -> Self {
        Self {
            max_body_bytes: self.max_body_bytes.max(floor.max_body_bytes),
            request_timeout: self.request_timeout.max(floor.request_timeout),
        }
    }

    /// As the document carries them: `{"max_body_bytes": 67108864, "request_timeout": "1m"}`.
    fn to_json(self) -> serde_json::Value {
        serde_json::json!({
            "max_body_bytes": self.max_body_bytes,
            "request_timeout": humantime::format_duration(self.request_timeout).to_string(),
        })
    }

    /// The limits an operation's extension declares, if any; a malformed declaration (written
    /// by hand in a `#[utoipa::path]`) is logged and ignored.
    pub(crate) fn of_operation(path: &str, operation: &Operation) -> Option<Self> {
        let declared = operation.extensions.as_ref()?.get(EXTENSION)?;
        let max_body_bytes = declared.get("max_body_bytes").and_then(serde_json::Value::as_u64);
        let request_timeout = declared.get("request_timeout").and_then(serde_json::Value::as_str);
        let parsed = match (max_body_bytes.and_then(|bytes| usize::try_from(bytes).ok()), request_timeout) {
            (Some(max_body_bytes), Some(timeout)) => {
                humantime::parse_duration(timeout).ok().map(|request_timeout| Self { max_body_bytes, request_timeout })
            }
            _ => None,
        };
        if parsed.is_none() {
            tracing::error!(path, %declared, "malformed {EXTENSION}; the route keeps the platform's limits");
        }
        parsed
    }
}

/// [`raise`] was asked for a route the router's document does not list.
#[derive(Debug, thiserror::Error)]
#[error("cannot raise the limits of {method} {path}: the router documents no such operation")]
pub struct UnknownRoute {
    method: Method,
    path: String,
}

/// `router`, with the route `method path` (its template as the router's document lists it,
/// `/events/bulk`, before any `nest`) under `limits` instead of the platform's body cap and
/// deadline. The platform's 413 and 504 answers are unchanged; they come at the route's own
/// limits. A limit below the platform's does not lower it. Call it once the route is added;
/// a route the document does not list is an error, as a misspelt template would otherwise
/// raise nothing.
///
/// ```ignore
/// let limits = RouteLimits { max_body_bytes: config.bulk_max_body, request_timeout: config.bulk_timeout };
/// let router = limits::raise(router, Method::POST, "/events/bulk", limits)?;
/// ```
pub fn raise<S: Clone + Send + Sync + 'static>(
    mut router: OpenApiRouter<S>,
    method: Method,
    path: &str,
    limits: RouteLimits,
) -> Result<OpenApiRouter<S>, UnknownRoute> {
    let item = router.get_openapi_mut().paths.paths.get_mut(path);
    let Some(operation) = item.and_then(|item| openapi::operation_mut(item, &method)) else {
        return Err(UnknownRoute { method, path: path.to_owned() });
    };
    operation.extensions.get_or_insert_with(Default::default).insert(EXTENSION.to_owned(), limits.to_json());
    // The route answers these at its own limits: the document says so even if the handler's
    // annotation did not.
    for (status, name) in [("413", "PayloadTooLarge"), ("504", "GatewayTimeout")] {
        operation.responses.responses.entry(status.to_owned()).or_insert(RefOr::Ref(Ref::from_response_name(name)));
    }
    Ok(router)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use utoipa_axum::routes;

    use super::*;
    use crate::http::routes::RouteTemplates;

    #[utoipa::path(post, path = "/bulk", responses((status = 200, description = "Taken.")))]
    async fn import() -> StatusCode {
        StatusCode::OK
    }

    #[utoipa::path(get, path = "/bulk", responses((status = 200, description = "Listed.")))]
    async fn list() -> StatusCode {
        StatusCode::OK
    }

    const BULK: RouteLimits = RouteLimits { max_body_bytes: 64 << 20, request_timeout: Duration::from_secs(90) };

    fn bulk_router() -> OpenApiRouter {
        OpenApiRouter::new().routes(routes!(import, list))
    }

    #[test]
    fn raised_limits_are_read_back_for_their_method_only() {
        let router = raise(bulk_router(), Method::POST, "/bulk", BULK).unwrap();
        let templates = RouteTemplates::of_document(&router.into_openapi());
        assert_eq!(templates.limits_of(&Method::POST, "/bulk"), Some(BULK));
        assert_eq!(templates.limits_of(&Method::GET, "/bulk"), None);
        assert_eq!(templates.limits_of(&Method::POST, "/other"), None);
    }

    #[test]
    fn the_document_tells_clients_the_route_s_limits_and_answers() {
        let router = raise(bulk_router(), Method::POST, "/bulk", BULK).unwrap();
        let document = serde_json::to_value(router.into_openapi()).unwrap();
        let operation = &document["paths"]["/bulk"]["post"];
        assert_eq!(operation[EXTENSION], serde_json::json!({"max_body_bytes": 67108864, "request_timeout": "1m 30s"}));
        assert_eq!(operation["responses"]["413"]["$ref"], "#/components/responses/PayloadTooLarge");
        assert_eq!(operation["responses"]["504"]["$ref"], "#/components/responses/GatewayTimeout");
        assert!(document["paths"]["/bulk"]["get"].get(EXTENSION).is_none());
    }

    #[test]
    fn limits_follow_the_route_through_nest_and_merge_and_head_follows_get() {
        let router = raise(bulk_router(), Method::GET, "/bulk", BULK).unwrap();
        let nested = OpenApiRouter::new().nest("/admin", router).merge(OpenApiRouter::new().routes(routes!(import)));
        let templates = RouteTemplates::of_document(&nested.into_openapi());
        assert_eq!(templates.limits_of(&Method::GET, "/admin/bulk"), Some(BULK));
        assert_eq!(templates.limits_of(&Method::HEAD, "/admin/bulk"), Some(BULK));
        assert_eq!(templates.limits_of(&Method::POST, "/admin/bulk"), None);
        assert_eq!(templates.limits_of(&Method::POST, "/bulk"), None);
        let mut merged = RouteTemplates::new(["/health"]);
        merged.merge(&templates);
        assert_eq!(merged.limits_of(&Method::GET, "/admin/bulk"), Some(BULK));
    }

    #[test]
    fn a_route_the_document_does_not_list_is_an_error() {
        let Err(error) = raise(bulk_router(), Method::POST, "/bulks", BULK) else { panic!("raised") };
        assert_eq!(error.to_string(), "cannot raise the limits of POST /bulks: the router documents no such operation");
        let Err(error) = raise(bulk_router(), Method::DELETE, "/bulk", BULK) else { panic!("raised") };
        assert!(error.to_string().contains("DELETE /bulk"), "{error}");
    }

    #[test]
    fn a_route_never_gets_less_than_the_platform_s_limits() {
        let low = RouteLimits { max_body_bytes: 10, request_timeout: Duration::from_secs(100) };
        let router = raise(bulk_router(), Method::POST, "/bulk", low).unwrap();
        let mut templates = RouteTemplates::of_document(&router.into_openapi());
        let platform = RouteLimits { max_body_bytes: 1 << 20, request_timeout: Duration::from_secs(3) };
        templates.at_least(platform);
        let expected = RouteLimits { max_body_bytes: 1 << 20, request_timeout: Duration::from_secs(100) };
        assert_eq!(templates.limits_of(&Method::POST, "/bulk"), Some(expected));
    }

    #[test]
    fn a_malformed_declaration_is_ignored() {
        let mut router = bulk_router();
        let item = router.get_openapi_mut().paths.paths.get_mut("/bulk").unwrap();
        let operation = openapi::operation_mut(item, &Method::POST).unwrap();
        let declared = serde_json::json!({"max_body_bytes": "lots", "request_timeout": "1m"});
        operation.extensions.get_or_insert_with(Default::default).insert(EXTENSION.to_owned(), declared);
        let templates = RouteTemplates::of_document(&router.into_openapi());
        assert_eq!(templates.limits_of(&Method::POST, "/bulk"), None);
        assert_eq!(templates.find("/bulk"), Some("/bulk"));
    }
}
