//! The care HTTP API (SPEC 3). Every route but `/ping` needs scope `care` (some one more);
//! every answer, refusals included, is in care's envelope.
//!
//! Each handler carries its `#[utoipa::path]`; [`routes()`] registers them with `routes!`, so
//! the router and the OpenAPI document are one list, and the token guard enforces what each
//! operation's `security` says.

mod events;
mod report;
mod types;

use axum::{
    extract::{FromRequest, FromRequestParts},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use ferrum_platform::{
    Platform, auth,
    http::{Json, LenientJson, Path, Query},
};
use serde::Serialize;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    SCOPE,
    envelope::{
        AlreadyReimbursed, CareForbidden, CarePayloadTooLarge, CareUnauthorized, CareUnavailable,
        CareUnsupportedMediaType, EventNotFound, EventTypeInUse, EventTypeNotFound, Fail, InvalidPayload,
        InvalidTypePayload, Message,
    },
    error::{CareError, TypeRejection},
    store::Store,
};

/// What the handlers share.
#[derive(Clone, Debug)]
struct CareState {
    store: Store,
}

type State = axum::extract::State<CareState>;

/// A JSON body (or `curl --data` JSON), refused in care's envelope.
#[derive(FromRequest)]
#[from_request(via(LenientJson), rejection(CareError))]
struct CareJson<T>(T);

/// An event id in the path; one that is no integer is `Event does not exist`.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(CareError))]
struct EventId<T>(T);

/// An event type id in the path; one that is no integer is `Event type does not exist.`.
#[derive(FromRequestParts)]
#[from_request(via(Path), rejection(TypeRejection))]
struct TypeId<T>(T);

/// Query parameters, refused in care's envelope (`Invalid payload.`).
#[derive(FromRequestParts)]
#[from_request(via(Query), rejection(CareError))]
struct CareQuery<T>(T);

/// The module's part of the OpenAPI document besides its paths: the tag, its decisions, and the
/// envelope's refusals.
#[derive(OpenApi)]
#[openapi(
    tags((name = "care", description = include_str!("../../docs/openapi-tag.md"))),
    components(
        schemas(Fail),
        responses(
            InvalidPayload, InvalidTypePayload, AlreadyReimbursed, EventTypeInUse, EventNotFound, EventTypeNotFound,
            CareUnauthorized, CareForbidden, CarePayloadTooLarge, CareUnsupportedMediaType, CareUnavailable,
        ),
    ),
)]
struct CareApi;

/// The care routes, guarded by scope `care` (and more where an operation says), with their
/// state and their OpenAPI paths; refusals, the guard's included, in care's envelope.
pub fn routes(platform: &Platform) -> OpenApiRouter {
    let state = CareState { store: Store::new(platform.db.clone()) };
    let router = OpenApiRouter::with_openapi(CareApi::openapi())
        .routes(routes!(ping))
        .routes(routes!(types::list_types, types::create_type))
        .routes(routes!(types::find_type, types::update_type, types::delete_type))
        .routes(routes!(events::list_events, events::create_event))
        .routes(routes!(events::find_event, events::delete_event))
        .routes(routes!(events::reimburse_event))
        .routes(routes!(report::report_by_query, report::report_by_body))
        .with_state(state);
    auth::require_as::<CareError, _>(router, platform.auth.clone(), SCOPE)
}

/// Answer if the service is up (no token, no database).
#[utoipa::path(
    get, path = "/ping", tag = "care", security(()),
    responses((status = 200, description = "Up.", body = Message, example = json!({"status": "success", "message": "pong!"}))),
)]
async fn ping() -> Json<Message> {
    Json(Message::new("pong!"))
}

/// An envelope answer with a status.
fn answer<T: Serialize>(status: StatusCode, body: T) -> Response {
    (status, Json(body)).into_response()
}
