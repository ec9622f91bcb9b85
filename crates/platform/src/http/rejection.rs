//! What the platform refuses on a module's routes, by kind: the extractors' rejections
//! ([`Json`](super::Json), [`LenientJson`](super::LenientJson), [`Path`](super::Path),
//! [`Query`](super::Query), [`Caller`](crate::auth::Caller)) and the token guard's. By default a
//! [`Rejection`] answers as a [`Problem`]; a module that answers in its own shape (care's
//! `{"status":"fail"}` envelope, SPEC 3) or with other statuses (payments' 400 for a body of the
//! wrong shape, SPEC 4) converts it into its error type, without a parser of its own:
//!
//! ```ignore
//! impl From<Rejection> for CareError {
//!     fn from(rejection: Rejection) -> Self {
//!         match rejection {
//!             Rejection::Unauthenticated(_) => CareError::Unauthenticated,
//!             Rejection::Forbidden { .. } => CareError::Forbidden,
//!             Rejection::InvalidPath { .. } => CareError::EventNotFound,
//!             _ => CareError::InvalidPayload,
//!         }
//!     }
//! }
//!
//! // The platform's extractors, answering in care's envelope (axum's derive, `macros` feature).
//! #[derive(FromRequest)]
//! #[from_request(via(ferrum_platform::http::Json), rejection(CareError))]
//! pub struct CareJson<T>(pub T);
//!
//! #[derive(FromRequestParts)]
//! #[from_request(via(ferrum_platform::http::Path), rejection(CareError))]
//! pub struct CarePath<T>(pub T);
//!
//! // The guard's 401 and 403 in care's envelope too.
//! auth::require_as::<CareError, _>(router, platform.auth.clone(), SCOPE)
//! ```
//!
//! Where the answer depends on the route (care's `Event does not exist` and `Event type does not
//! exist.` for a non-integer id), declare one extractor per case, each with its rejection type.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

use super::problem::{FieldError, Problem};
use crate::auth::AuthError;

/// Why the platform refused a request before its handler ran. Each variant's documentation
/// names the status it answers by default, as a [`Problem`]; new kinds may be added, so a
/// module's conversion ends with a catch-all arm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// 415: the body's `Content-Type` is not one the route reads; `expected` says which it reads.
    #[error("expected a request body of type {expected}")]
    UnsupportedMediaType {
        /// The content types the route reads, for a person.
        expected: &'static str,
    },
    /// 413: the body is larger than the cap.
    #[error("the request body is larger than the configured limit")]
    TooLarge,
    /// The body could not be read (the client stopped sending, say); `status` is the answer's.
    #[error("{detail}")]
    UnreadableBody {
        /// The status to answer with.
        status: StatusCode,
        /// What went wrong, for a person.
        detail: String,
    },
    /// 400: the body is not JSON: a syntax error, cut short, or followed by more than one value.
    #[error("malformed JSON: {detail}")]
    MalformedJson {
        /// The parser's message, with its position.
        detail: String,
    },
    /// 422: well-formed JSON of the wrong shape.
    #[error("the request body is invalid")]
    InvalidJson {
        /// The path of the offending value (`address.city`, `items[2]`); `body` for the whole.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// 400: a line of a body read line by line ([`NdjsonLines`](super::body::NdjsonLines)) that
    /// is not UTF-8.
    #[error("line {line} of the request body is not UTF-8")]
    NotUtf8 {
        /// The line's number, from 1.
        line: u64,
    },
    /// 400: a path parameter that does not parse as its type (`/patients/abc`).
    #[error("invalid path: {detail}")]
    InvalidPath {
        /// Which parameter and why.
        detail: String,
    },
    /// 400: a query string that does not parse as its type.
    #[error("{detail}")]
    InvalidQuery {
        /// Which parameter and why.
        detail: String,
    },
    /// 401 with `WWW-Authenticate`: no valid token, saying why.
    #[error(transparent)]
    Unauthenticated(AuthError),
    /// 403: a valid token that lacks a scope the route needs.
    #[error("the token lacks the `{scope}` scope")]
    Forbidden {
        /// The scope it lacks.
        scope: Box<str>,
    },
    /// 500: a handler takes a [`Caller`](crate::auth::Caller) on a route without the token guard
    /// (or takes it twice): a mistake in the module, logged, never shown.
    #[error("a handler takes a Caller on a route without a token guard (or takes it twice)")]
    NoCaller,
}

impl Rejection {
    /// The status the platform answers this rejection with.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::UnreadableBody { status, .. } => *status,
            Rejection::MalformedJson { .. }
            | Rejection::NotUtf8 { .. }
            | Rejection::InvalidPath { .. }
            | Rejection::InvalidQuery { .. } => StatusCode::BAD_REQUEST,
            Rejection::InvalidJson { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Rejection::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Rejection::Forbidden { .. } => StatusCode::FORBIDDEN,
            Rejection::NoCaller => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<Rejection> for Problem {
    /// The platform's answer: RFC 9457, the rejection's status and message.
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::InvalidJson { field, message } => Problem::invalid(vec![FieldError::new(field, message)]),
            Rejection::Unauthenticated(error) => Problem::new(StatusCode::UNAUTHORIZED, error.to_string())
                .with_header(header::WWW_AUTHENTICATE, error.challenge()),
            Rejection::NoCaller => Problem::internal(Rejection::NoCaller.to_string()),
            other => Problem::new(other.status(), other.to_string()),
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        Problem::from(self).into_response()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::{
        Router,
        body::{Body, Bytes},
        extract::{FromRequest, FromRequestParts},
        http::{HeaderMap, HeaderValue, Method, Request},
    };
    use http_body_util::{BodyExt as _, Limited};
    use serde::Deserialize;
    use serde_json::{Value, json};
    use tower::ServiceExt as _;
    use utoipa_axum::{router::OpenApiRouter, routes};

    use super::*;
    use crate::{
        auth::{self, AuthKeys, Scope},
        http::{Json, LenientJson, Path, Query},
    };

    /// A module that answers every error in an envelope of its own, as care does (SPEC 3).
    #[derive(Debug)]
    struct Envelope {
        status: StatusCode,
        message: &'static str,
        errors: Vec<FieldError>,
        challenge: Option<HeaderValue>,
    }

    impl Envelope {
        fn fail(status: StatusCode, message: &'static str) -> Self {
            Self { status, message, errors: Vec::new(), challenge: None }
        }
    }

    impl From<Rejection> for Envelope {
        fn from(rejection: Rejection) -> Self {
            match rejection {
                Rejection::Unauthenticated(error) => Envelope {
                    challenge: Some(error.challenge()),
                    ..Envelope::fail(StatusCode::UNAUTHORIZED, "Unauthorized.")
                },
                Rejection::Forbidden { .. } => Envelope::fail(StatusCode::FORBIDDEN, "Forbidden."),
                // A non-integer id names no thing: 404, not 400.
                Rejection::InvalidPath { .. } => Envelope::fail(StatusCode::NOT_FOUND, "Thing does not exist"),
                Rejection::TooLarge => Envelope::fail(StatusCode::PAYLOAD_TOO_LARGE, "Payload too large."),
                Rejection::UnsupportedMediaType { .. } => {
                    Envelope::fail(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported media type.")
                }
                Rejection::InvalidJson { field, message } => Envelope {
                    errors: vec![FieldError::new(field, message)],
                    ..Envelope::fail(StatusCode::BAD_REQUEST, "Invalid payload.")
                },
                Rejection::MalformedJson { .. } | Rejection::InvalidQuery { .. } | Rejection::UnreadableBody { .. } => {
                    Envelope::fail(StatusCode::BAD_REQUEST, "Invalid payload.")
                }
                _ => Envelope::fail(StatusCode::INTERNAL_SERVER_ERROR, "Internal error."),
            }
        }
    }

    impl IntoResponse for Envelope {
        fn into_response(self) -> Response {
            let mut body = json!({"status": "fail", "message": self.message});
            if !self.errors.is_empty() {
                body["errors"] = json!(self.errors);
            }
            let mut response = (self.status, axum::Json(body)).into_response();
            if let Some(challenge) = self.challenge {
                response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
            }
            response
        }
    }

    #[derive(FromRequest)]
    #[from_request(via(Json), rejection(Envelope))]
    struct EnvelopeJson<T>(T);

    #[derive(FromRequest)]
    #[from_request(via(LenientJson), rejection(Envelope))]
    struct EnvelopeLenientJson<T>(T);

    #[derive(FromRequestParts)]
    #[from_request(via(Path), rejection(Envelope))]
    struct EnvelopePath<T>(T);

    #[derive(FromRequestParts)]
    #[from_request(via(Query), rejection(Envelope))]
    struct EnvelopeQuery<T>(T);

    /// A module that keeps problem+json but answers a body of the wrong shape 400, as payments
    /// does (SPEC 4).
    struct Payments(Problem);

    impl From<Rejection> for Payments {
        fn from(rejection: Rejection) -> Self {
            match rejection {
                Rejection::InvalidJson { field, message } => Payments(
                    Problem::bad_request("the request body is invalid")
                        .with_errors(vec![FieldError::new(field, message)]),
                ),
                other => Payments(other.into()),
            }
        }
    }

    impl IntoResponse for Payments {
        fn into_response(self) -> Response {
            self.0.into_response()
        }
    }

    #[derive(FromRequest)]
    #[from_request(via(Json), rejection(Payments))]
    struct PaymentsJson<T>(T);

    #[derive(Deserialize)]
    struct Thing {
        name: String,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[derive(Deserialize)]
    struct Page {
        limit: Option<u32>,
    }

    #[utoipa::path(post, path = "/things", responses((status = 200, description = "the name")))]
    async fn create_thing(EnvelopeJson(thing): EnvelopeJson<Thing>) -> String {
        format!("{} {}", thing.name, thing.tags.len())
    }

    #[utoipa::path(post, path = "/things/lenient", responses((status = 200, description = "the name")))]
    async fn create_thing_leniently(EnvelopeLenientJson(thing): EnvelopeLenientJson<Thing>) -> String {
        thing.name
    }

    #[utoipa::path(get, path = "/things/{id}", params(("id" = i64, Path, description = "The thing")),
        responses((status = 200, description = "the id and limit")))]
    async fn find_thing(EnvelopePath(id): EnvelopePath<i64>, EnvelopeQuery(page): EnvelopeQuery<Page>) -> String {
        format!("{id} {:?}", page.limit)
    }

    #[utoipa::path(post, path = "/payments", responses((status = 200, description = "the name")))]
    async fn create_payment(PaymentsJson(thing): PaymentsJson<Thing>) -> String {
        thing.name
    }

    struct Module {
        router: Router,
        keys: Arc<AuthKeys>,
    }

    impl Module {
        fn new() -> Self {
            let keys = Arc::new(auth::test_keys("k"));
            let router = OpenApiRouter::new()
                .routes(routes!(create_thing))
                .routes(routes!(create_thing_leniently))
                .routes(routes!(find_thing))
                .routes(routes!(create_payment));
            let router = auth::require_as::<Envelope, _>(router, keys.clone(), Scope::new("things")).into();
            Self { router, keys }
        }

        fn token(&self, scope: &str) -> String {
            self.keys.mint(None, false, Some(scope.into()), None).unwrap()
        }

        /// Sends `body` (as `content_type`) with a token of scope `things`, unless `headers`
        /// says otherwise.
        async fn send(
            &self,
            method: Method,
            path: &str,
            content_type: &str,
            body: Body,
        ) -> (StatusCode, HeaderMap, Value) {
            let token = self.token("things");
            self.send_with(
                method,
                path,
                &[("content-type", content_type), ("authorization", &format!("Bearer {token}"))],
                body,
            )
            .await
        }

        async fn send_with(
            &self,
            method: Method,
            path: &str,
            headers: &[(&str, &str)],
            body: Body,
        ) -> (StatusCode, HeaderMap, Value) {
            let mut request = Request::builder().method(method).uri(path);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            let response = self.router.clone().oneshot(request.body(body).unwrap()).await.unwrap();
            let (status, headers) = (response.status(), response.headers().clone());
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let body = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
            (status, headers, body)
        }
    }

    fn fail(message: &str) -> Value {
        json!({"status": "fail", "message": message})
    }

    #[tokio::test]
    async fn a_module_answers_the_extractors_rejections_in_its_own_shape() {
        let module = Module::new();
        let json = "application/json";
        let cases: [(Method, &str, &str, Body, StatusCode, Value); 9] = [
            (
                Method::POST,
                "/things",
                json,
                Body::from("{\"name\":"),
                StatusCode::BAD_REQUEST,
                fail("Invalid payload."),
            ),
            (
                Method::POST,
                "/things",
                json,
                Body::from(r#"{"name":"x"} {}"#),
                StatusCode::BAD_REQUEST,
                fail("Invalid payload."),
            ),
            (
                Method::POST,
                "/things",
                json,
                Body::from(r#"{"name":"x","tags":["a",7]}"#),
                StatusCode::BAD_REQUEST,
                json!({"status": "fail", "message": "Invalid payload.",
                    "errors": [{"field": "tags[1]", "message": "invalid type: integer `7`, expected a string"}]}),
            ),
            (
                Method::POST,
                "/things",
                "text/plain",
                Body::from(r#"{"name":"x"}"#),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                fail("Unsupported media type."),
            ),
            (
                Method::POST,
                "/things/lenient",
                "text/plain",
                Body::from(r#"{"name":"x"}"#),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                fail("Unsupported media type."),
            ),
            (
                Method::POST,
                "/things",
                json,
                Body::new(Limited::new(Body::from(r#"{"name":"longer than the cap"}"#), 8)),
                StatusCode::PAYLOAD_TOO_LARGE,
                fail("Payload too large."),
            ),
            (
                Method::POST,
                "/things",
                json,
                Body::from_stream(futures_util::stream::iter([Err::<Bytes, _>(std::io::Error::other("reset"))])),
                StatusCode::BAD_REQUEST,
                fail("Invalid payload."),
            ),
            (Method::GET, "/things/abc", json, Body::empty(), StatusCode::NOT_FOUND, fail("Thing does not exist")),
            (Method::GET, "/things/7?limit=x", json, Body::empty(), StatusCode::BAD_REQUEST, fail("Invalid payload.")),
        ];
        for (method, path, content_type, body, status, answer) in cases {
            let label = format!("{method} {path} {content_type} -> {answer}");
            let (got_status, headers, got) = module.send(method, path, content_type, body).await;
            assert_eq!((got_status, &got), (status, &answer), "{label}");
            assert_eq!(headers[header::CONTENT_TYPE], "application/json", "{label}");
        }
        // The same extractors let good requests through.
        let ok = module.send(Method::POST, "/things", json, Body::from(r#"{"name":"x","tags":["a"]}"#)).await;
        assert_eq!((ok.0, ok.2), (StatusCode::OK, Value::from("x 1")));
        let ok = module
            .send(Method::POST, "/things/lenient", "application/x-www-form-urlencoded", Body::from(r#"{"name":"y"}"#))
            .await;
        assert_eq!((ok.0, ok.2), (StatusCode::OK, Value::from("y")));
        let ok = module.send(Method::GET, "/things/7?limit=3", json, Body::empty()).await;
        assert_eq!((ok.0, ok.2), (StatusCode::OK, Value::from("7 Some(3)")));
    }

    #[tokio::test]
    async fn a_module_answers_the_guards_refusals_in_its_own_shape() {
        let module = Module::new();
        let (status, headers, body) = module.send_with(Method::GET, "/things/7", &[], Body::empty()).await;
        assert_eq!((status, body), (StatusCode::UNAUTHORIZED, fail("Unauthorized.")));
        assert_eq!(headers[header::WWW_AUTHENTICATE], "Bearer");
        let bearer = format!("Bearer {}", module.token("payments"));
        let (status, _, body) =
            module.send_with(Method::GET, "/things/7", &[("authorization", &bearer)], Body::empty()).await;
        assert_eq!((status, body), (StatusCode::FORBIDDEN, fail("Forbidden.")));
    }

    #[tokio::test]
    async fn a_module_may_keep_problems_with_its_own_statuses() {
        let module = Module::new();
        let (status, headers, body) =
            module.send(Method::POST, "/payments", "application/json", Body::from(r#"{"name":1}"#)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(headers[header::CONTENT_TYPE], "application/problem+json");
        assert_eq!(body["detail"], "the request body is invalid");
        assert_eq!(
            body["errors"],
            json!([{"field": "name", "message": "invalid type: integer `1`, expected a string"}])
        );
        // Every other rejection stays the platform's.
        let (status, _, body) = module.send(Method::POST, "/payments", "application/json", Body::from("{")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["detail"], "malformed JSON: EOF while parsing an object at line 1 column 1");
    }

    /// By default each kind answers the platform's problem, with the statuses and details
    /// modules without a shape of their own (patients) have always answered.
    #[tokio::test]
    async fn by_default_a_rejection_is_the_platforms_problem() {
        let cases = [
            (
                Rejection::UnsupportedMediaType { expected: "application/json" },
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a request body of type application/json",
            ),
            (
                Rejection::TooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than the configured limit",
            ),
            (
                Rejection::UnreadableBody { status: StatusCode::BAD_REQUEST, detail: "reset".into() },
                StatusCode::BAD_REQUEST,
                "reset",
            ),
            (Rejection::MalformedJson { detail: "EOF".into() }, StatusCode::BAD_REQUEST, "malformed JSON: EOF"),
            (
                Rejection::InvalidJson { field: "email".into(), message: "not an address".into() },
                StatusCode::UNPROCESSABLE_ENTITY,
                "the request body is invalid",
            ),
            (
                Rejection::InvalidPath { detail: "id: not a number".into() },
                StatusCode::BAD_REQUEST,
                "invalid path: id: not a number",
            ),
            (Rejection::InvalidQuery { detail: "limit: bad".into() }, StatusCode::BAD_REQUEST, "limit: bad"),
            (Rejection::Unauthenticated(AuthError::Expired), StatusCode::UNAUTHORIZED, "token expired"),
            (Rejection::Forbidden { scope: "care".into() }, StatusCode::FORBIDDEN, "the token lacks the `care` scope"),
            (Rejection::NoCaller, StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
        ];
        for (rejection, status, detail) in cases {
            let label = format!("{rejection:?}");
            assert_eq!(rejection.status(), status, "{label}");
            let response = rejection.into_response();
            assert_eq!(response.status(), status, "{label}");
            let www_authenticate = response.headers().get(header::WWW_AUTHENTICATE).cloned();
            assert_eq!(www_authenticate.is_some(), status == StatusCode::UNAUTHORIZED, "{label}");
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(body["detail"], detail, "{label}");
            assert_eq!(body["status"], status.as_u16(), "{label}");
        }
    }
}
