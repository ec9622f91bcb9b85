//! `/events/types` and `/events/types/{id}`: event types and their prices.

use axum::{http::StatusCode, response::Response};
use ferrum_platform::http::object::Object;
use serde::Serialize;
use utoipa::ToSchema;

use super::{CareJson, State, TypeId, answer};
use crate::{
    envelope::{Created, Data, EventTypeInUse, EventTypeNotFound, Guarded, InvalidTypePayload, Message, WithBody},
    error::CareError,
    model::{EventType, EventTypeBody, EventTypePatch, NewEventType, TypeChanges},
};

/// `data` of the types list.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EventTypes {
    /// Every event type, ordered by id.
    event_types: Vec<EventType>,
}

/// List event types, ordered by id.
#[utoipa::path(
    get, path = "/events/types", tag = "care",
    responses(
        (status = 200, description = "Every event type.", body = Data<EventTypes>),
        Guarded,
    ),
)]
pub(super) async fn list_types(state: State) -> Result<Response, CareError> {
    let event_types = state.store.list_types().await?;
    Ok(answer(StatusCode::OK, Data::new(EventTypes { event_types })))
}

/// Create an event type.
///
/// `name` unique (1 to 200 characters after trimming), `amount_in_cents` a whole number of cents
/// from 0 to 100000000000, `currency` `SEK` or absent.
#[utoipa::path(
    post, path = "/events/types", tag = "care", security(("bearer" = ["care", "care:manage"])),
    request_body(content = EventTypeBody, content_type = "application/json"),
    responses(
        (status = 201, description = "`Event type created.` and its id.", body = Created,
            example = json!({"status": "success", "message": "Event type created.", "id": 1})),
        (status = 400, response = InvalidTypePayload),
        WithBody,
        Guarded,
    ),
)]
pub(super) async fn create_type(
    state: State,
    CareJson(Object(body)): CareJson<Object<EventTypeBody>>,
) -> Result<Response, CareError> {
    let created = state.store.insert_type(NewEventType::try_from(body)?).await?;
    Ok(answer(StatusCode::CREATED, Created::new("Event type created.", created.id)))
}

/// Find an event type.
#[utoipa::path(
    get, path = "/events/types/{id}", tag = "care",
    params(("id" = i64, Path, description = "The type's id; not an integer: 404.")),
    responses(
        (status = 200, description = "The event type.", body = Data<EventType>),
        (status = 404, response = EventTypeNotFound),
        Guarded,
    ),
)]
pub(super) async fn find_type(state: State, TypeId(id): TypeId<i64>) -> Result<Response, CareError> {
    let found = state.store.find_type(id).await?.ok_or(CareError::EventTypeNotFound)?;
    Ok(answer(StatusCode::OK, Data::new(found)))
}

/// Change an event type's name or price.
///
/// A new price applies to events created from now on: events keep the price they were created
/// with.
#[utoipa::path(
    patch, path = "/events/types/{id}", tag = "care", security(("bearer" = ["care", "care:manage"])),
    params(("id" = i64, Path, description = "The type's id; not an integer: 404.")),
    request_body(content = EventTypePatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed event type.", body = Data<EventType>),
        (status = 400, response = InvalidTypePayload),
        (status = 404, response = EventTypeNotFound),
        WithBody,
        Guarded,
    ),
)]
pub(super) async fn update_type(
    state: State,
    TypeId(id): TypeId<i64>,
    CareJson(Object(body)): CareJson<Object<EventTypePatch>>,
) -> Result<Response, CareError> {
    let changes = TypeChanges::try_from(body)?;
    let changed = state.store.update_type(id, changes).await?.ok_or(CareError::EventTypeNotFound)?;
    Ok(answer(StatusCode::OK, Data::new(changed)))
}

/// Delete an event type no event refers to.
#[utoipa::path(
    delete, path = "/events/types/{id}", tag = "care", security(("bearer" = ["care", "care:manage"])),
    params(("id" = i64, Path, description = "The type's id; not an integer: 404.")),
    responses(
        (status = 200, description = "`Event type deleted.`", body = Message,
            example = json!({"status": "success", "message": "Event type deleted."})),
        (status = 400, response = EventTypeInUse),
        (status = 404, response = EventTypeNotFound),
        Guarded,
    ),
)]
pub(super) async fn delete_type(state: State, TypeId(id): TypeId<i64>) -> Result<Response, CareError> {
    state.store.delete_type(id).await?;
    Ok(answer(StatusCode::OK, Message::new("Event type deleted.")))
}
