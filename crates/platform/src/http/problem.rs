//! RFC 9457 problem details: `application/problem+json` with type, title, status, detail and,
//! on validation failures, field-level `errors`.

use std::sync::Arc;

use axum::{
    http::{HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db;

/// One invalid field of a request body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"field": "email", "message": "must be an email address like name@example.org"}))]
pub struct FieldError {
    /// The field's name (a JSON path for nested fields).
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    /// A field and what is wrong with it.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The cause of a 5xx, kept out of the body and logged by the access log with the request id.
#[derive(Clone, Debug)]
pub struct InternalError(pub Arc<str>);

/// An error answer in problem+json form. Modules map their error enums into this in one place.
#[derive(Debug)]
pub struct Problem {
    status: StatusCode,
    detail: String,
    errors: Vec<FieldError>,
    headers: Vec<(HeaderName, HeaderValue)>,
    internal: Option<Arc<str>>,
}

/// RFC 9457 problem details: the body of every error answer, `application/problem+json`.
// The type that is serialised is also the schema the OpenAPI document shows: they cannot drift.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem, example = json!({"type": "about:blank", "title": "Not Found", "status": 404,
    "detail": "patient 42 does not exist"}))]
pub(crate) struct Body<'a> {
    /// Always `about:blank`: the status says what kind of problem it is.
    r#type: &'static str,
    /// The status's reason phrase.
    title: &'a str,
    /// The HTTP status, repeated.
    status: u16,
    /// What went wrong, for a person.
    detail: &'a str,
    /// On validation failures (422): every invalid field; absent otherwise.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    #[schema(required = false)]
    errors: &'a [FieldError],
}

impl Problem {
    /// A problem with a status and a detail for the client.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self { status, detail: detail.into(), errors: Vec::new(), headers: Vec::new(), internal: None }
    }

    /// 400 Bad Request.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, detail)
    }

    /// 404 Not Found.
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, detail)
    }

    /// 409 Conflict.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, detail)
    }

    /// 422 with field-level errors.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "the request body is invalid").with_errors(errors)
    }

    /// 500 whose cause is logged, never shown.
    pub fn internal(cause: impl Into<Arc<str>>) -> Self {
        let mut problem = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        problem.internal = Some(cause.into());
        problem
    }

    /// Sets the field-level errors, on any status (payments' 400 for a body of the wrong shape).
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// Adds a response header (`WWW-Authenticate`, `Allow`, `Retry-After`...).
    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The status this problem answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The client-facing detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let title = self.status.canonical_reason().unwrap_or("Error");
        let body = Body {
            r#type: "about:blank",
            title,
            status: self.status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let content_type = HeaderValue::from_static("application/problem+json");
        let mut response = super::answer::with_room(self.status, content_type, bytes.into());
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        if let Some(cause) = self.internal {
            response.extensions_mut().insert(InternalError(cause));
        }
        response
    }
}

impl From<db::Error> for Problem {
    fn from(error: db::Error) -> Self {
        match error {
            db::Error::Unavailable(cause) => {
                let mut problem =
                    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "the database is unavailable; try again later")
                        .with_header(header::RETRY_AFTER, HeaderValue::from_static("1"));
                problem.internal = Some(cause);
                problem
            }
            db::Error::UniqueViolation => Problem::conflict("the resource already exists"),
            db::Error::ForeignKeyViolation => Problem::conflict("the resource is referenced by or refers to another"),
            db::Error::Other(cause) => Problem::internal(cause),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    #[tokio::test]
    async fn renders_problem_json() {
        let response = Problem::invalid(vec![FieldError::new("email", "is not an email address")]).into_response();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"type":"about:blank","title":"Unprocessable Entity","status":422,
                "detail":"the request body is invalid","errors":[{"field":"email","message":"is not an email address"}]})
        );
    }

    #[tokio::test]
    async fn internal_causes_stay_out_of_the_body() {
        let response = Problem::from(db::Error::Other("syntax error near SELEKT".into())).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(response.extensions().get::<InternalError>().is_some());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert!(!String::from_utf8_lossy(&bytes).contains("SELEKT"));
    }
}
