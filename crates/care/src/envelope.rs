//! The answers' shapes (SPEC 3): `{"status":"success", "data" | "message" | "id": ...}` and
//! `{"status":"fail","message":"..."}`. The handlers serialise these types and the OpenAPI
//! document shows them, so the two cannot drift.

use ferrum_platform::http::FieldError;
use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::{
    IntoResponses, ToResponse, ToSchema,
    openapi::{ContentBuilder, Ref, RefOr, response::Response, response::ResponseBuilder},
};

/// Always `success`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Success {
    /// The request did what it asked.
    Success,
}

/// Always `fail`.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Failure {
    /// The request was refused; `message` says why.
    Fail,
}

/// A success that says what was done: `pong!`, `Event deleted.`, `Event reimbursed.`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "success", "message": "Event deleted."}))]
pub struct Message {
    /// `success`.
    pub status: Success,
    /// What was done, in the original's words.
    #[schema(value_type = String)]
    pub message: &'static str,
}

impl Message {
    /// A success with this message.
    pub fn new(message: &'static str) -> Self {
        Self { status: Success::Success, message }
    }
}

/// A success that created something: its message and its id.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"status": "success", "message": "Event created.", "id": 7}))]
pub struct Created {
    /// `success`.
    pub status: Success,
    /// `Event created.` or `Event type created.`.
    #[schema(value_type = String)]
    pub message: &'static str,
    /// The new id.
    pub id: i64,
}

impl Created {
    /// A creation with this message.
    pub fn new(message: &'static str, id: i64) -> Self {
        Self { status: Success::Success, message, id }
    }
}

/// A success that answers with data.
#[derive(Debug, Serialize, ToSchema)]
pub struct Data<T> {
    /// `success`.
    pub status: Success,
    /// The answer.
    pub data: T,
}

impl<T> Data<T> {
    /// A success carrying `data`.
    pub fn new(data: T) -> Self {
        Self { status: Success::Success, data }
    }
}

/// A refusal: every error care answers, 401 and 403 included.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CareFail, example = json!({"status": "fail", "message": "Invalid payload."}))]
pub struct Fail {
    /// `fail`.
    pub status: Failure,
    /// Why, in the original's words: `Invalid payload.`, `Event does not exist`...
    #[schema(value_type = String)]
    pub message: &'static str,
    /// Where the request went wrong, when that helps (a field and why); absent otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
}

impl Fail {
    /// A refusal with this message.
    pub fn new(message: &'static str, errors: Vec<FieldError>) -> Self {
        Self { status: Failure::Fail, message, errors }
    }
}

/// A refusal in the OpenAPI document: the envelope with an example message.
fn fail_response(description: &str, message: &str) -> ResponseBuilder {
    let example = serde_json::json!({"status": "fail", "message": message});
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("CareFail"))).example(Some(example)).build();
    ResponseBuilder::new().description(description).content("application/json", content)
}

/// Declares the refusals care documents, each a marker type implementing `ToResponse`.
macro_rules! fail_responses {
    ($($(#[doc = $doc:literal])* $name:ident = $description:literal, $message:literal $(, header $header:literal: $header_doc:literal)*;)*) => {$(
        $(#[doc = $doc])*
        #[derive(Clone, Copy, Debug)]
        pub struct $name;

        impl<'r> ToResponse<'r> for $name {
            fn response() -> (&'r str, RefOr<Response>) {
                let response = fail_response($description, $message);
                $(let response = response.header($header, ferrum_platform::openapi::string_header($header_doc));)*
                (stringify!($name), response.build().into())
            }
        }
    )*};
}

fail_responses! {
    /// 400 `Invalid payload.`
    InvalidPayload = "`Invalid payload.`: malformed JSON, an array or scalar where an object belongs, a missing \
        or mistyped field, a value that breaks its rule, or a bad query parameter; `errors` names the field when it can.",
        "Invalid payload.";
    /// 400 on an event type body.
    InvalidTypePayload = "`Invalid payload.` (as for any body, or a duplicate name, or an amount that is not a \
        whole number of cents from 0 to 100000000000), or `Invalid currency.` (anything but `SEK`).",
        "Invalid currency.";
    /// 400 `Event already reimbursed`.
    AlreadyReimbursed = "`Event already reimbursed`: of two concurrent calls, exactly one succeeds.",
        "Event already reimbursed";
    /// 400 `Event type is used in existing events.`
    EventTypeInUse = "`Event type is used in existing events.`", "Event type is used in existing events.";
    /// 404 `Event does not exist`.
    EventNotFound = "`Event does not exist`: no such event, an id that is no integer, or an event of a caregiver \
        the token's `caregivers` claim does not list.", "Event does not exist";
    /// 404 `Event type does not exist.`
    EventTypeNotFound = "`Event type does not exist.`: no such type, or an id that is no integer.",
        "Event type does not exist.";
    /// 401 in the envelope.
    CareUnauthorized = "`Unauthorized.`: no bearer token, or one that is malformed, badly signed, expired or of \
        the wrong algorithm; `errors[0].message` says which.", "Unauthorized.",
        header "WWW-Authenticate": "`Bearer` (no token) or `Bearer error=\"invalid_token\"`.";
    /// 403 in the envelope.
    CareForbidden = "`Forbidden.`: the token lacks a scope this operation needs, or its `caregivers` claim does \
        not cover the caregivers the request names.", "Forbidden.";
    /// 413 in the envelope.
    CarePayloadTooLarge = "`Payload too large.`: the body is over `FERRUM_HTTP_MAX_POST_SIZE`.", "Payload too large.";
    /// 415 in the envelope.
    CareUnsupportedMediaType = "`Unsupported media type.`: the body is neither `application/json` nor JSON sent \
        as `curl --data` (`application/x-www-form-urlencoded`).", "Unsupported media type.";
    /// 503 in the envelope.
    CareUnavailable = "The database is unreachable; try again later.", "Service unavailable, try again later.",
        header "Retry-After": "Seconds to wait before retrying.";
}

/// References to documented responses, by status.
fn refs(responses: &[(&str, &str)]) -> BTreeMap<String, RefOr<Response>> {
    responses.iter().map(|(status, name)| ((*status).to_owned(), RefOr::Ref(Ref::from_response_name(*name)))).collect()
}

/// What every guarded care operation may answer besides its own: 401, 403, 503, and the
/// platform's 504 (the deadline is the edge's, answered as problem+json).
#[derive(Clone, Copy, Debug)]
pub struct Guarded;

impl IntoResponses for Guarded {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[
            ("401", "CareUnauthorized"),
            ("403", "CareForbidden"),
            ("503", "CareUnavailable"),
            ("504", "GatewayTimeout"),
        ])
    }
}

/// What every care operation with a body may answer besides [`Guarded`]'s: 413 and 415.
#[derive(Clone, Copy, Debug)]
pub struct WithBody;

impl IntoResponses for WithBody {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        refs(&[("413", "CarePayloadTooLarge"), ("415", "CareUnsupportedMediaType")])
    }
}
