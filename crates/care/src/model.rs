//! Event types, events, and the rules their request bodies follow (SPEC 3). Money is integer
//! cents; an event carries the price its type had when it was created.

use chrono::{DateTime, Utc};
use ferrum_platform::http::FieldError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{error::CareError, instant};

/// The largest price of an event type, in cents (one billion SEK): far above any care event,
/// and low enough that no month's total of one caregiver can overflow 64 bits.
pub const MAX_AMOUNT_IN_CENTS: i64 = 100_000_000_000;
/// The longest event type name, in characters, after trimming.
const MAX_NAME: usize = 200;

/// The currency of every amount; the only one there is (SPEC 3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, ToSchema)]
pub enum Currency {
    /// Swedish kronor; amounts are in öre (cents).
    #[default]
    SEK,
}

/// A kind of care event and its current price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"id": 1, "name": "x-ray", "amount_in_cents": 25000, "currency": "SEK"}))]
pub struct EventType {
    /// Assigned by the database, never reused.
    pub id: i64,
    /// Unique, trimmed, 1 to 200 characters.
    pub name: String,
    /// The price of new events of this type, in cents.
    pub amount_in_cents: i64,
    /// Always `SEK`.
    pub currency: Currency,
}

/// A care event a caregiver registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"id": 7, "type_id": 1, "caregiver_id": 3, "start_time": "2017-10-28T21:28:23.456701Z",
    "amount_in_cents": 25000, "currency": "SEK", "reimbursed": false, "created_at": "2026-01-02T03:04:05.123456Z"}))]
pub struct Event {
    /// Assigned by the database, never reused.
    pub id: i64,
    /// Its event type.
    pub type_id: i64,
    /// Who performed it.
    pub caregiver_id: i64,
    /// When it took place: RFC 3339, UTC, microseconds.
    #[serde(serialize_with = "ferrum_platform::time::serialize")]
    pub start_time: DateTime<Utc>,
    /// Its price in cents: the type's price when the event was created.
    pub amount_in_cents: i64,
    /// Always `SEK`.
    pub currency: Currency,
    /// Whether it has been reimbursed.
    pub reimbursed: bool,
    /// When it was registered: RFC 3339, UTC, microseconds.
    #[serde(serialize_with = "ferrum_platform::time::serialize")]
    pub created_at: DateTime<Utc>,
}

/// The body of `POST /events/types`. Unknown fields are ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"name": "x-ray", "amount_in_cents": 25000, "currency": "SEK"}))]
pub struct EventTypeBody {
    /// Required: unique, 1 to 200 characters after trimming.
    #[schema(value_type = String, required = true)]
    pub name: Option<String>,
    /// Required: a whole number of cents from 0 to 100000000000 (`2500` or `2500.0`).
    #[serde(default, deserialize_with = "ferrum_platform::http::integer::optional_i64")]
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 100_000_000_000_i64)]
    pub amount_in_cents: Option<i64>,
    /// `SEK` (the default); anything else is `Invalid currency.`.
    #[schema(value_type = Option<String>)]
    pub currency: Option<serde_json::Value>,
}

/// The body of `PATCH /events/types/{id}`: a new name, a new price, or both.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"amount_in_cents": 30000}))]
pub struct EventTypePatch {
    /// A new unique name, 1 to 200 characters after trimming.
    #[schema(value_type = Option<String>)]
    pub name: Option<String>,
    /// A new price in cents, for events created from now on.
    #[serde(default, deserialize_with = "ferrum_platform::http::integer::optional_i64")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100_000_000_000_i64)]
    pub amount_in_cents: Option<i64>,
    /// `SEK` when present; anything else is `Invalid currency.`.
    #[schema(value_type = Option<String>)]
    pub currency: Option<serde_json::Value>,
}

/// The body of `POST /events`. `id`, `reimbursed` and other fields are ignored.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(example = json!({"type_id": 1, "caregiver_id": 3, "start_time": "2017-10-28T23:28:23.456701+02:00"}))]
pub struct EventBody {
    /// Required: an existing event type.
    #[serde(default, deserialize_with = "ferrum_platform::http::integer::optional_i64")]
    #[schema(value_type = i64, required = true, minimum = 1)]
    pub type_id: Option<i64>,
    /// Required: a positive integer.
    #[serde(default, deserialize_with = "ferrum_platform::http::integer::optional_i64")]
    #[schema(value_type = i64, required = true, minimum = 1)]
    pub caregiver_id: Option<i64>,
    /// Required: RFC 3339 (the offset is honoured) or ISO 8601 without an offset (read as UTC),
    /// in years 0001 to 9998.
    #[schema(value_type = String, required = true)]
    pub start_time: Option<String>,
}

/// A valid new event type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEventType {
    /// Trimmed name.
    pub name: String,
    /// Price in cents.
    pub amount_in_cents: i64,
}

/// A valid change to an event type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TypeChanges {
    /// A new trimmed name.
    pub name: Option<String>,
    /// A new price in cents.
    pub amount_in_cents: Option<i64>,
}

/// A valid new event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    /// An event type's id (its existence is checked as the event is inserted).
    pub type_id: i64,
    /// A positive caregiver id.
    pub caregiver_id: i64,
    /// When it took place, UTC, microseconds.
    pub start_time: DateTime<Utc>,
}

impl TryFrom<EventTypeBody> for NewEventType {
    type Error = CareError;

    fn try_from(body: EventTypeBody) -> Result<Self, CareError> {
        let name = required("name", body.name).and_then(|name| type_name(&name));
        let amount = required("amount_in_cents", body.amount_in_cents).and_then(amount);
        let (name, amount_in_cents) = all_valid((name, amount))?;
        currency(body.currency.as_ref())?;
        Ok(NewEventType { name, amount_in_cents })
    }
}

impl TryFrom<EventTypePatch> for TypeChanges {
    type Error = CareError;

    fn try_from(body: EventTypePatch) -> Result<Self, CareError> {
        if body.name.is_none() && body.amount_in_cents.is_none() {
            return Err(CareError::invalid("body", "name or amount_in_cents is required"));
        }
        let name = body.name.map(|name| type_name(&name)).transpose();
        let amount = body.amount_in_cents.map(amount).transpose();
        let (name, amount_in_cents) = all_valid((name, amount))?;
        currency(body.currency.as_ref())?;
        Ok(TypeChanges { name, amount_in_cents })
    }
}

impl TryFrom<EventBody> for NewEvent {
    type Error = CareError;

    fn try_from(body: EventBody) -> Result<Self, CareError> {
        let type_id = required("type_id", body.type_id).and_then(|id| positive("type_id", id));
        let caregiver_id = required("caregiver_id", body.caregiver_id).and_then(|id| positive("caregiver_id", id));
        let start_time = required("start_time", body.start_time).and_then(|text| {
            instant::parse_start_time(&text).ok_or_else(|| {
                FieldError::new("start_time", "must be an RFC 3339 or ISO 8601 date and time in years 0001 to 9998")
            })
        });
        let errors: Vec<FieldError> = [type_id.as_ref().err(), caregiver_id.as_ref().err(), start_time.as_ref().err()]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        match (type_id, caregiver_id, start_time) {
            (Ok(type_id), Ok(caregiver_id), Ok(start_time)) => Ok(NewEvent { type_id, caregiver_id, start_time }),
            _ => Err(CareError::InvalidPayload(errors)),
        }
    }
}

/// Both values, or `Invalid payload.` with every field error.
fn all_valid<A, B>(pair: (Result<A, FieldError>, Result<B, FieldError>)) -> Result<(A, B), CareError> {
    match pair {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(CareError::InvalidPayload([a.err(), b.err()].into_iter().flatten().collect())),
    }
}

fn required<T>(field: &str, value: Option<T>) -> Result<T, FieldError> {
    value.ok_or_else(|| FieldError::new(field, "is required"))
}

fn positive(field: &str, id: i64) -> Result<i64, FieldError> {
    if id >= 1 { Ok(id) } else { Err(FieldError::new(field, "must be a positive integer")) }
}

fn type_name(name: &str) -> Result<String, FieldError> {
    let name = name.trim();
    let length = name.chars().count();
    if (1..=MAX_NAME).contains(&length) && !name.contains('\0') {
        Ok(name.to_owned())
    } else {
        Err(FieldError::new("name", format!("must be 1 to {MAX_NAME} characters after trimming, without U+0000")))
    }
}

fn amount(cents: i64) -> Result<i64, FieldError> {
    if (0..=MAX_AMOUNT_IN_CENTS).contains(&cents) {
        Ok(cents)
    } else {
        Err(FieldError::new(
            "amount_in_cents",
            format!("must be a whole number of cents from 0 to {MAX_AMOUNT_IN_CENTS}"),
        ))
    }
}

/// `SEK` or absent; anything else is `Invalid currency.`.
fn currency(value: Option<&serde_json::Value>) -> Result<Currency, CareError> {
    match value {
        None | Some(serde_json::Value::Null) => Ok(Currency::SEK),
        Some(serde_json::Value::String(text)) if text == "SEK" => Ok(Currency::SEK),
        Some(_) => Err(CareError::InvalidCurrency),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn new_type(body: serde_json::Value) -> Result<NewEventType, CareError> {
        NewEventType::try_from(serde_json::from_value::<EventTypeBody>(body).unwrap())
    }

    fn fields(error: CareError) -> Vec<String> {
        match error {
            CareError::InvalidPayload(errors) => errors.into_iter().map(|e| e.field).collect(),
            other => vec![other.to_string()],
        }
    }

    #[test]
    fn event_types_need_a_name_and_a_price_in_sek() {
        let ok = new_type(json!({"name": " x-ray ", "amount_in_cents": 2500})).unwrap();
        assert_eq!(ok, NewEventType { name: "x-ray".into(), amount_in_cents: 2500 });
        assert!(new_type(json!({"name": "a", "amount_in_cents": 0, "currency": "SEK"})).is_ok());
        assert_eq!(fields(new_type(json!({})).unwrap_err()), ["name", "amount_in_cents"]);
        assert_eq!(
            fields(new_type(json!({"name": "  ", "amount_in_cents": -1})).unwrap_err()),
            ["name", "amount_in_cents"]
        );
        let too_dear = json!({"name": "a", "amount_in_cents": MAX_AMOUNT_IN_CENTS + 1});
        assert_eq!(fields(new_type(too_dear).unwrap_err()), ["amount_in_cents"]);
        for currency in [json!("EUR"), json!("sek"), json!(1), json!([])] {
            let error = new_type(json!({"name": "a", "amount_in_cents": 1, "currency": currency})).unwrap_err();
            assert!(matches!(error, CareError::InvalidCurrency), "{currency}");
        }
        // A bad payload is reported before a bad currency.
        assert_eq!(fields(new_type(json!({"currency": "EUR"})).unwrap_err()), ["name", "amount_in_cents"]);
    }

    #[test]
    fn a_patch_changes_a_name_or_a_price() {
        let patch = |body| TypeChanges::try_from(serde_json::from_value::<EventTypePatch>(body).unwrap());
        assert_eq!(patch(json!({"amount_in_cents": 3})).unwrap(), TypeChanges { name: None, amount_in_cents: Some(3) });
        assert_eq!(fields(patch(json!({})).unwrap_err()), ["body"]);
        assert_eq!(fields(patch(json!({"currency": "SEK"})).unwrap_err()), ["body"]);
        assert!(matches!(patch(json!({"name": "b", "currency": "EUR"})).unwrap_err(), CareError::InvalidCurrency));
    }

    #[test]
    fn events_need_a_type_a_caregiver_and_a_time() {
        let event = |body| NewEvent::try_from(serde_json::from_value::<EventBody>(body).unwrap());
        let ok = event(json!({"type_id": 1, "caregiver_id": 3, "start_time": "2017-10-28T23:28:23+02:00", "id": 9}));
        assert_eq!(ok.unwrap().start_time, instant::parse_start_time("2017-10-28T21:28:23Z").unwrap());
        assert_eq!(fields(event(json!({})).unwrap_err()), ["type_id", "caregiver_id", "start_time"]);
        let bad = json!({"type_id": 0, "caregiver_id": -3, "start_time": "now"});
        assert_eq!(fields(event(bad).unwrap_err()), ["type_id", "caregiver_id", "start_time"]);
    }
}
