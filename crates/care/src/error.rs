//! The care module's errors and their single mapping to HTTP, in the original service's
//! envelope: `{"status":"fail","message":"..."}`, with the original's messages word for word
//! (SPEC 3), plus `errors` naming the field where that helps.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use ferrum_platform::{
    auth::AuthError,
    db,
    http::{FieldError, Json, Rejection, problem::InternalError},
};

use crate::envelope::Fail;

/// What can go wrong serving a care request.
#[derive(Debug, thiserror::Error)]
pub enum CareError {
    /// 400: the body, query or filter cannot be read, or breaks a rule; `errors` may say where.
    #[error("Invalid payload.")]
    InvalidPayload(Vec<FieldError>),
    /// 400: an event type's currency is not `SEK`.
    #[error("Invalid currency.")]
    InvalidCurrency,
    /// 404: no such event (or not one the caller may see), or a path id that is no integer.
    #[error("Event does not exist")]
    EventNotFound,
    /// 404: no such event type, or a path id that is no integer.
    #[error("Event type does not exist.")]
    EventTypeNotFound,
    /// 400: the event was reimbursed before.
    #[error("Event already reimbursed")]
    AlreadyReimbursed,
    /// 400: events refer to the event type, so it cannot be deleted.
    #[error("Event type is used in existing events.")]
    EventTypeInUse,
    /// 401 with `WWW-Authenticate`: no valid token; `errors` says why.
    #[error("Unauthorized.")]
    Unauthenticated(AuthError),
    /// 403: a scope is missing, or the caller's `caregivers` claim does not cover the request.
    #[error("Forbidden.")]
    Forbidden,
    /// 413: the body is over the configured cap.
    #[error("Payload too large.")]
    PayloadTooLarge,
    /// 415: a body that is not JSON (nor `curl --data` JSON).
    #[error("Unsupported media type.")]
    UnsupportedMediaType,
    /// 503 or 500, from the database.
    #[error(transparent)]
    Db(#[from] db::Error),
    /// 500: a mistake of the module's own; the cause is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CareError {
    /// `Invalid payload.` naming the field and why.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        CareError::InvalidPayload(vec![FieldError::new(field, message)])
    }

    /// The status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            CareError::InvalidPayload(_)
            | CareError::InvalidCurrency
            | CareError::AlreadyReimbursed
            | CareError::EventTypeInUse => StatusCode::BAD_REQUEST,
            CareError::EventNotFound | CareError::EventTypeNotFound => StatusCode::NOT_FOUND,
            CareError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            CareError::Forbidden => StatusCode::FORBIDDEN,
            CareError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            CareError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            CareError::Db(db::Error::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            CareError::Db(_) | CareError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for CareError {
    fn into_response(self) -> Response {
        let status = self.status();
        let (message, errors, cause) = match self {
            CareError::InvalidPayload(errors) => ("Invalid payload.", errors, None),
            CareError::Unauthenticated(why) => {
                let mut response =
                    fail(status, "Unauthorized.", vec![FieldError::new("Authorization", why.to_string())]);
                response.headers_mut().insert(header::WWW_AUTHENTICATE, why.challenge());
                return response;
            }
            CareError::Db(db::Error::Unavailable(cause)) => {
                let mut response = fail(status, "Service unavailable, try again later.", Vec::new());
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response.extensions_mut().insert(InternalError(cause));
                return response;
            }
            CareError::Db(error) => ("Internal error.", Vec::new(), Some(error.to_string())),
            CareError::Internal(cause) => ("Internal error.", Vec::new(), Some(cause)),
            CareError::InvalidCurrency => ("Invalid currency.", Vec::new(), None),
            CareError::EventNotFound => ("Event does not exist", Vec::new(), None),
            CareError::EventTypeNotFound => ("Event type does not exist.", Vec::new(), None),
            CareError::AlreadyReimbursed => ("Event already reimbursed", Vec::new(), None),
            CareError::EventTypeInUse => ("Event type is used in existing events.", Vec::new(), None),
            CareError::Forbidden => ("Forbidden.", Vec::new(), None),
            CareError::PayloadTooLarge => ("Payload too large.", Vec::new(), None),
            CareError::UnsupportedMediaType => ("Unsupported media type.", Vec::new(), None),
        };
        let mut response = fail(status, message, errors);
        if let Some(cause) = cause {
            // The access log writes it with the request id.
            response.extensions_mut().insert(InternalError(cause.into()));
        }
        response
    }
}

fn fail(status: StatusCode, message: &'static str, errors: Vec<FieldError>) -> Response {
    (status, Json(Fail::new(message, errors))).into_response()
}

impl From<Rejection> for CareError {
    /// The platform's refusals in care's words. A path id that is no integer names no event:
    /// 404, as an unknown id is (event type routes say so through [`TypeRejection`]).
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Unauthenticated(why) => CareError::Unauthenticated(why),
            Rejection::Forbidden { .. } => CareError::Forbidden,
            Rejection::InvalidPath { .. } => CareError::EventNotFound,
            Rejection::TooLarge => CareError::PayloadTooLarge,
            Rejection::UnsupportedMediaType { .. } => CareError::UnsupportedMediaType,
            Rejection::InvalidJson { field, message } => CareError::invalid(&field, message),
            Rejection::NoCaller => CareError::Internal(Rejection::NoCaller.to_string()),
            other if other.status().is_client_error() => CareError::InvalidPayload(Vec::new()),
            other => CareError::Internal(other.to_string()),
        }
    }
}

/// The refusals of event type routes: as [`CareError`]'s, but a path id that is no integer is
/// `Event type does not exist.`.
#[derive(Debug)]
pub struct TypeRejection(pub CareError);

impl From<Rejection> for TypeRejection {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::InvalidPath { .. } => TypeRejection(CareError::EventTypeNotFound),
            other => TypeRejection(other.into()),
        }
    }
}

impl IntoResponse for TypeRejection {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

    use super::*;

    async fn answered(error: CareError) -> (StatusCode, HeaderValue, serde_json::Value, bool) {
        let response = error.into_response();
        let (status, retry) = (response.status(), response.headers().get(header::RETRY_AFTER).cloned());
        let logged = response.extensions().get::<InternalError>().is_some();
        let body = to_bytes(response.into_body(), 4096).await.unwrap();
        (status, retry.unwrap_or(HeaderValue::from_static("-")), serde_json::from_slice(&body).unwrap(), logged)
    }

    #[tokio::test]
    async fn database_failures_answer_in_the_envelope_without_their_cause() {
        let (status, retry, body, logged) = answered(CareError::Db(db::Error::Unavailable("refused".into()))).await;
        assert_eq!((status, retry), (StatusCode::SERVICE_UNAVAILABLE, HeaderValue::from_static("1")));
        assert_eq!(body, serde_json::json!({"status": "fail", "message": "Service unavailable, try again later."}));
        assert!(logged);
        let (status, _, body, logged) =
            answered(CareError::Db(db::Error::Other("syntax error near SELEKT".into()))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body, serde_json::json!({"status": "fail", "message": "Internal error."}));
        assert!(logged);
    }

    #[test]
    fn rejections_read_as_care_errors() {
        let status = |rejection: Rejection| CareError::from(rejection).status();
        assert_eq!(status(Rejection::InvalidPath { detail: "id".into() }), StatusCode::NOT_FOUND);
        assert!(matches!(
            TypeRejection::from(Rejection::InvalidPath { detail: "id".into() }).0,
            CareError::EventTypeNotFound
        ));
        assert_eq!(status(Rejection::MalformedJson { detail: "EOF".into() }), StatusCode::BAD_REQUEST);
        assert_eq!(status(Rejection::InvalidQuery { detail: "limit".into() }), StatusCode::BAD_REQUEST);
        assert_eq!(status(Rejection::TooLarge), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(status(Rejection::NoCaller), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
