//! The patients module's errors and their single mapping to HTTP.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use ferrum_platform::{
    db,
    http::{FieldError, Problem},
    openapi::problem_response,
};
use utoipa::openapi::{HeaderBuilder, ObjectBuilder, RefOr, Type, response::Response as ResponseDoc};

/// What can go wrong serving a patients request.
#[derive(Debug, thiserror::Error)]
pub enum PatientsError {
    /// 404: no patient has this id.
    #[error("patient {0} does not exist")]
    PatientNotFound(i64),
    /// 409: the client's version is not the current one.
    #[error("patient {id} is at version {current}, not {expected}")]
    VersionConflict {
        /// The patient.
        id: i64,
        /// The version the client sent.
        expected: i64,
        /// The version stored.
        current: i64,
    },
    /// 422: the body breaks the field rules.
    #[error("the request body is invalid")]
    Invalid(Vec<FieldError>),
    /// 400: a query parameter or header that cannot be understood.
    #[error("{0}")]
    BadRequest(String),
    /// 503 or 500, from the database.
    #[error(transparent)]
    Db(#[from] db::Error),
}

impl IntoResponse for PatientsError {
    fn into_response(self) -> Response {
        let problem = match self {
            PatientsError::PatientNotFound(_) => Problem::not_found(self.to_string()),
            PatientsError::VersionConflict { current, .. } => {
                let etag = HeaderValue::from_str(&format!("\"{current}\"")).unwrap_or(HeaderValue::from_static("\"\""));
                Problem::new(StatusCode::CONFLICT, self.to_string()).with_header(header::ETAG, etag)
            }
            PatientsError::Invalid(errors) => Problem::invalid(errors),
            PatientsError::BadRequest(detail) => Problem::bad_request(detail),
            PatientsError::Db(error) => Problem::from(error),
        };
        problem.into_response()
    }
}

/// The 409 of a conditional write in the OpenAPI document: a problem with the current `ETag`.
#[derive(Clone, Copy, Debug)]
pub struct VersionConflict;

impl<'r> utoipa::ToResponse<'r> for VersionConflict {
    fn response() -> (&'r str, RefOr<ResponseDoc>) {
        let etag = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some("The current version in quotes: retry with it in `If-Match`."))
            .build();
        let response = problem_response(
            StatusCode::CONFLICT,
            "`If-Match` or the body's `version` is not the patient's current version.",
            "patient 42 is at version 3, not 2",
        )
        .header("ETag", etag);
        ("VersionConflict", response.build().into())
    }
}
