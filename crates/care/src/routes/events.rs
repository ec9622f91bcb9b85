//! `/events`, `/events/{id}` and `/events/{id}/reimburse`: care events, within the caregivers
//! the caller may see.

use axum::{http::StatusCode, response::Response};
use ferrum_platform::http::{
    object::Object,
    paging::{Page, PageSize, cursor},
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{CareJson, CareQuery, EventId, State, answer};
use crate::{
    access::Caregivers,
    envelope::{AlreadyReimbursed, Created, Data, EventNotFound, Guarded, InvalidPayload, Message, WithBody},
    error::CareError,
    instant,
    model::{Event, EventBody, NewEvent},
    store::EventQuery,
};

/// The events list's page size: 100 unless the client names one, at most 1000 (SPEC 3).
const PAGE_SIZE: PageSize = PageSize::new(100, 1000);

/// The query of `GET /events`. Every filter is optional; a value that cannot be read is
/// `Invalid payload.`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    /// Only this caregiver's events.
    #[param(minimum = 1)]
    caregiver_id: Option<i64>,
    /// Only events of this type.
    type_id: Option<i64>,
    /// Only reimbursed (`true`) or unreimbursed (`false`) events.
    reimbursed: Option<bool>,
    /// Only events with `min_time <= start_time` (RFC 3339, or ISO 8601 read as UTC).
    #[param(example = "2017-01-01T00:00:00Z")]
    min_time: Option<String>,
    /// Only events with `start_time < max_time`.
    #[param(example = "2018-01-01T00:00:00Z")]
    max_time: Option<String>,
    /// Page size: 1 to 1000, default 100; larger is served as 1000.
    #[param(minimum = 1)]
    limit: Option<i64>,
    /// The previous page's `next_cursor`.
    cursor: Option<String>,
}

/// `data` of the events list.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct EventPage {
    /// One page of events, ordered by id.
    events: Vec<Event>,
    /// Pass as `cursor` for the next page; null when no more events remain.
    next_cursor: Option<String>,
}

/// List events, ordered by id, a page at a time.
#[utoipa::path(
    get, path = "/events", tag = "care", params(ListParams),
    responses(
        (status = 200, description = "A page of events.", body = Data<EventPage>),
        (status = 400, response = InvalidPayload),
        Guarded,
    ),
)]
pub(super) async fn list_events(
    state: State,
    visible: Caregivers,
    CareQuery(params): CareQuery<ListParams>,
) -> Result<Response, CareError> {
    let limit = PAGE_SIZE.of(params.limit).map_err(|_| CareError::invalid("limit", "must be at least 1"))?;
    let after_id = match params.cursor.as_deref() {
        None => 0,
        Some(text) => {
            cursor::decode::<i64>(text).map_err(|_| CareError::invalid("cursor", "is not a cursor this API made"))?
        }
    };
    if params.caregiver_id.is_some_and(|caregiver| !visible.allows(caregiver)) {
        return Err(CareError::Forbidden);
    }
    let (min_time, max_time) = time_range(params.min_time.as_deref(), params.max_time.as_deref())?;
    let page = EventQuery {
        after_id,
        caregiver_id: params.caregiver_id,
        type_id: params.type_id,
        reimbursed: params.reimbursed,
        min_time: min_time.unwrap_or_else(instant::far_past),
        max_time: max_time.unwrap_or_else(instant::far_future),
        visible,
        limit,
    };
    let page = Page::of(state.store.list_events(&page).await?, limit);
    let next_cursor = page.next_key(|last| cursor::encode(&last.id));
    Ok(answer(StatusCode::OK, Data::new(EventPage { events: page.items, next_cursor })))
}

/// A filter's `min_time` and `max_time`, read; `min_time` after `max_time` is refused.
pub(super) type TimeRange = (Option<chrono::DateTime<chrono::Utc>>, Option<chrono::DateTime<chrono::Utc>>);

/// Reads a filter's bounds (see [`instant::parse_bound`]).
pub(super) fn time_range(min_time: Option<&str>, max_time: Option<&str>) -> Result<TimeRange, CareError> {
    let bound = |field: &str, text: Option<&str>| {
        text.map(|text| {
            instant::parse_bound(text).ok_or_else(|| {
                CareError::invalid(field, "must be an RFC 3339 or ISO 8601 date and time in years 0001 to 9998")
            })
        })
        .transpose()
    };
    let (min, max) = (bound("min_time", min_time)?, bound("max_time", max_time)?);
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(CareError::invalid("min_time", "must not be after max_time"));
        }
    }
    Ok((min, max))
}

/// Register a care event.
///
/// It takes its type's current price. A token confined to some caregivers (`caregivers` claim)
/// may register events of those only (403 otherwise).
#[utoipa::path(
    post, path = "/events", tag = "care",
    request_body(content = EventBody, content_type = "application/json"),
    responses(
        (status = 201, description = "`Event created.` and its id.", body = Created,
            example = json!({"status": "success", "message": "Event created.", "id": 7})),
        (status = 400, response = InvalidPayload),
        WithBody,
        Guarded,
    ),
)]
pub(super) async fn create_event(
    state: State,
    visible: Caregivers,
    CareJson(Object(body)): CareJson<Object<EventBody>>,
) -> Result<Response, CareError> {
    let event = NewEvent::try_from(body)?;
    if !visible.allows(event.caregiver_id) {
        return Err(CareError::Forbidden);
    }
    let ids = state.store.insert_events(vec![event]).await?;
    let id = ids.first().copied().ok_or_else(|| CareError::Internal("an insert returned no id".into()))?;
    Ok(answer(StatusCode::CREATED, Created::new("Event created.", id)))
}

/// Find an event.
#[utoipa::path(
    get, path = "/events/{id}", tag = "care",
    params(("id" = i64, Path, description = "The event's id; not an integer: 404.")),
    responses(
        (status = 200, description = "The event.", body = Data<Event>),
        (status = 404, response = EventNotFound),
        Guarded,
    ),
)]
pub(super) async fn find_event(
    state: State,
    visible: Caregivers,
    EventId(id): EventId<i64>,
) -> Result<Response, CareError> {
    let event = state.store.find_event(id, &visible).await?.ok_or(CareError::EventNotFound)?;
    Ok(answer(StatusCode::OK, Data::new(event)))
}

/// Delete an event (and take it out of the reports).
#[utoipa::path(
    delete, path = "/events/{id}", tag = "care", security(("bearer" = ["care", "care:manage"])),
    params(("id" = i64, Path, description = "The event's id; not an integer: 404.")),
    responses(
        (status = 200, description = "`Event deleted.`", body = Message,
            example = json!({"status": "success", "message": "Event deleted."})),
        (status = 404, response = EventNotFound),
        Guarded,
    ),
)]
pub(super) async fn delete_event(
    state: State,
    visible: Caregivers,
    EventId(id): EventId<i64>,
) -> Result<Response, CareError> {
    state.store.delete_event(id, &visible).await?;
    Ok(answer(StatusCode::OK, Message::new("Event deleted.")))
}

/// Reimburse an event, once.
///
/// Atomic: of two concurrent calls for one event, exactly one answers 200.
#[utoipa::path(
    post, path = "/events/{id}/reimburse", tag = "care", security(("bearer" = ["care", "care:reimburse"])),
    params(("id" = i64, Path, description = "The event's id; not an integer: 404.")),
    responses(
        (status = 200, description = "`Event reimbursed.`", body = Message,
            example = json!({"status": "success", "message": "Event reimbursed."})),
        (status = 400, response = AlreadyReimbursed),
        (status = 404, response = EventNotFound),
        Guarded,
    ),
)]
pub(super) async fn reimburse_event(
    state: State,
    visible: Caregivers,
    EventId(id): EventId<i64>,
) -> Result<Response, CareError> {
    state.store.reimburse(id, &visible).await?;
    Ok(answer(StatusCode::OK, Message::new("Event reimbursed.")))
}
