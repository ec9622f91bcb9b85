//! The platform's share of the OpenAPI 3.1 document (SPEC 1.6): its frame (title, version, the
//! decisions the contract leaves open), the bearer JWT scheme, the problem+json schema and the
//! error responses every module refers to with `(status = 404, response = NotFound)`.
//!
//! Each module contributes its paths as a `utoipa_axum` `OpenApiRouter`; the server merges the
//! enabled ones and `docs::mount` puts the result into [`base`].

use axum::http::{Method, StatusCode};
use utoipa::{
    Modify, OpenApi, ToResponse,
    openapi::{
        ContentBuilder, PathItem, Ref, RefOr,
        path::Operation,
        response::{Response, ResponseBuilder},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use crate::{
    BuildInfo,
    http::{FieldError, problem::Body as ProblemBody, rate_limit},
};

/// The name of the bearer JWT security scheme, as operations cite it:
/// `security((BEARER = ["patients"]))` (the list holds the scope the operation needs).
pub const BEARER: &str = "bearer";

/// The content type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The document's frame, before any module's paths are merged into it.
pub fn base(build: BuildInfo) -> utoipa::openapi::OpenApi {
    let mut doc = Frame::openapi();
    build.version.clone_into(&mut doc.info.version);
    doc
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Ferrum",
        description = include_str!("../assets/openapi-description.md"),
        license(name = "MIT", identifier = "MIT"),
    ),
    components(
        schemas(ProblemBody<'_>, FieldError),
        responses(
            BadRequest, Unauthorized, Forbidden, NotFound, Conflict, PayloadTooLarge,
            UnsupportedMediaType, UnprocessableEntity, TooManyRequests, ServiceUnavailable, GatewayTimeout,
        ),
    ),
    modifiers(&BearerScheme),
)]
struct Frame;

/// Adds the bearer JWT scheme (SPEC 1.5).
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("JWT")
            .description(Some(
                "`Authorization: Bearer <JWT>`, HS256 only (`alg: none` and every other algorithm are \
                 refused), `exp` and `nbf` checked with 30 s of leeway. The space-separated `scope` claim \
                 grants scopes; `admin: true` grants every scope. Each operation lists the scope it needs \
                 (`patients` for the patients API). A missing or invalid token is 401 with \
                 `WWW-Authenticate: Bearer`; a valid token without the scope is 403.",
            ))
            .build();
        doc.components.get_or_insert_with(Default::default).add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// Adds the 429 of the rate limiter to every operation it may refuse: all but the probes it
/// exempts. The limiter sits in the middleware stack, outside any handler, so the handlers'
/// annotations cannot say it.
pub(crate) fn add_rate_limit_responses(doc: &mut utoipa::openapi::OpenApi) {
    for (_, item) in doc.paths.paths.iter_mut().filter(|(path, _)| !rate_limit::is_exempt(path)) {
        for operation in operations_mut(item) {
            let too_many = RefOr::Ref(Ref::from_response_name("TooManyRequests"));
            operation.responses.responses.entry("429".to_owned()).or_insert(too_many);
        }
    }
}

/// The operations of a path, whatever their methods.
pub(crate) fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    let operations = [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ];
    operations.into_iter().flatten()
}

/// The operation of each method a path serves; HEAD is the GET operation unless the path
/// documents one of its own (axum answers HEAD with the GET handler).
pub(crate) fn operations_by_method(item: &PathItem) -> impl Iterator<Item = (Method, &Operation)> {
    let operations = [
        (&item.get, Method::GET),
        (if item.head.is_some() { &item.head } else { &item.get }, Method::HEAD),
        (&item.post, Method::POST),
        (&item.put, Method::PUT),
        (&item.delete, Method::DELETE),
        (&item.patch, Method::PATCH),
        (&item.options, Method::OPTIONS),
        (&item.trace, Method::TRACE),
    ];
    operations.into_iter().filter_map(|(operation, method)| Some((method, operation.as_ref()?)))
}

/// The operation a path documents for `method`, if any.
pub(crate) fn operation_mut<'a>(item: &'a mut PathItem, method: &Method) -> Option<&'a mut Operation> {
    let operation = match *method {
        Method::GET => &mut item.get,
        Method::HEAD => &mut item.head,
        Method::POST => &mut item.post,
        Method::PUT => &mut item.put,
        Method::DELETE => &mut item.delete,
        Method::PATCH => &mut item.patch,
        Method::OPTIONS => &mut item.options,
        Method::TRACE => &mut item.trace,
        _ => return None,
    };
    operation.as_mut()
}

/// A problem+json response for the document; modules build their own special cases on it.
pub fn problem_response(status: StatusCode, description: &str, detail: &str) -> ResponseBuilder {
    let example = serde_json::json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).example(Some(example)).build();
    ResponseBuilder::new().description(description).content(PROBLEM_JSON, content)
}

/// A response header holding text, for the document: `Retry-After`, `WWW-Authenticate`...
pub fn string_header(description: &str) -> utoipa::openapi::Header {
    utoipa::openapi::HeaderBuilder::new()
        .schema(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::String))
        .description(Some(description))
        .build()
}

/// Declares a reusable problem+json response: a marker type implementing `ToResponse`.
macro_rules! problem_responses {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident = $status:ident, $description:literal, $detail:literal $(, header $header:literal: $header_doc:literal)*;
    )*) => {$(
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let response = problem_response(StatusCode::$status, $description, $detail);
                $(let response = response.header($header, string_header($header_doc));)*
                (stringify!($name), response.build().into())
            }
        }
    )*};
}

problem_responses! {
    /// 400.
    BadRequest = BAD_REQUEST,
        "Malformed JSON, a path or query parameter of the wrong type, or a header that cannot be understood.",
        "malformed JSON: EOF while parsing an object at line 1 column 1";
    /// 401, with `WWW-Authenticate`.
    Unauthorized = UNAUTHORIZED,
        "No bearer token, or one that is malformed, badly signed, expired or of the wrong algorithm: the detail says which.",
        "token expired",
        header "WWW-Authenticate": "`Bearer` (no token) or `Bearer error=\"invalid_token\"`.";
    /// 403.
    Forbidden = FORBIDDEN, "The token is valid but lacks the scope this operation needs.",
        "the token lacks the `patients` scope";
    /// 404.
    NotFound = NOT_FOUND, "The resource does not exist.", "patient 42 does not exist";
    /// 409.
    Conflict = CONFLICT, "The request conflicts with the resource's current state.",
        "the resource already exists";
    /// 413.
    PayloadTooLarge = PAYLOAD_TOO_LARGE,
        "The body is larger than the configured cap (`FERRUM_HTTP_MAX_POST_SIZE`, 1 MiB by default, or the operation's own `x-route-limits`), declared or chunked.",
        "the request body is larger than the configured limit";
    /// 415.
    UnsupportedMediaType = UNSUPPORTED_MEDIA_TYPE, "The body is not of a content type this operation reads.",
        "expected a request body of type application/json";
    /// 422, with field-level `errors`.
    UnprocessableEntity = UNPROCESSABLE_ENTITY,
        "Well-formed JSON that breaks the field rules or has the wrong shape; `errors` names every bad field.",
        "the request body is invalid";
    /// 429, with `Retry-After`.
    TooManyRequests = TOO_MANY_REQUESTS,
        "Over the rate limit (only when `FERRUM_RATE_LIMIT` is set). The client is the token's `sub`, else its address.",
        "rate limit exceeded; retry in 2 s",
        header "Retry-After": "Seconds until a request will be admitted.",
        header "X-RateLimit-Limit": "The burst allowed (sent on every limited answer).",
        header "X-RateLimit-Remaining": "Requests left in the burst (sent on every limited answer).",
        header "X-RateLimit-Reset": "Seconds until the allowance is whole again (sent on every limited answer).";
    /// 503, with `Retry-After`.
    ServiceUnavailable = SERVICE_UNAVAILABLE,
        "The database is unreachable (or the server is still starting); try again later.",
        "the database is unavailable; try again later",
        header "Retry-After": "Seconds to wait before retrying.";
    /// 504.
    GatewayTimeout = GATEWAY_TIMEOUT,
        "The request did not finish within the request deadline (`FERRUM_HTTP_REQUEST_TIMEOUT`, 3 s by default, or the operation's own `x-route-limits`); a write that had not started by then is not performed.",
        "the request did not finish within 3s";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frame_is_openapi_3_1_with_the_shared_parts() {
        let doc = base(BuildInfo { version: "1.2.3", build_date: "today" });
        let json = serde_json::to_value(&doc).unwrap();
        assert!(json["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(json["info"]["version"], "1.2.3");
        assert_eq!(json["components"]["securitySchemes"][BEARER]["scheme"], "bearer");
        let problem = &json["components"]["schemas"]["Problem"];
        let required: Vec<_> = problem["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert_eq!(required, ["type", "title", "status", "detail"]);
        let unauthorized = &json["components"]["responses"]["Unauthorized"];
        assert!(unauthorized["headers"]["WWW-Authenticate"].is_object(), "{unauthorized}");
        assert!(unauthorized["content"][PROBLEM_JSON]["schema"]["$ref"].as_str().unwrap().ends_with("/Problem"));
    }
}
