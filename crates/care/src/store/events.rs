//! Events: inserted in batches (one or many) in one transaction with the totals they change,
//! read, listed, deleted and reimbursed, each within the caregivers the caller may see.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use ferrum_platform::{
    db::{self, FromRow, Isolation, Row, Tx, query},
    http::paging::Limit,
    time,
};

use super::{Store, totals::TotalsDelta};
use crate::{
    access::Caregivers,
    error::CareError,
    model::{Currency, Event, NewEvent},
};

/// The columns every event statement returns, in the order [`Event`]'s mapping reads them.
const COLUMNS: &str = "id, type_id, caregiver_id, start_time, amount_in_cents, reimbursed, created_at";

const PRICE: &str = "SELECT amount_in_cents FROM care_event_types WHERE id = $1";

const INSERT: &str = "INSERT INTO care_events (type_id, caregiver_id, start_time, amount_in_cents, reimbursed, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";

/// `SELECT` of one event, if `visible` (over `$2`) admits its caregiver.
pub(super) fn find(visible: &str) -> String {
    format!("SELECT {COLUMNS} FROM care_events WHERE id = $1 AND {visible}")
}

/// Whether an event exists that `visible` (over `$2`) admits.
pub(super) fn exists(visible: &str) -> String {
    format!("SELECT COUNT(*) FROM care_events WHERE id = $1 AND {visible}")
}

/// One page of events by id after `$1`, with the optional filters `$2` to `$6` and `visible`
/// over `$7`; `$8` rows at most.
pub(super) fn list(visible: &str) -> String {
    format!(
        "SELECT {COLUMNS} FROM care_events WHERE id > $1 \
         AND caregiver_id = COALESCE($2, caregiver_id) AND type_id = COALESCE($3, type_id) \
         AND reimbursed = COALESCE($4, reimbursed) \
         AND start_time >= $5 AND start_time < $6 AND {visible} ORDER BY id LIMIT $8"
    )
}

/// Deletes an event `visible` admits, returning what the totals need.
pub(super) fn delete(visible: &str) -> String {
    format!(
        "DELETE FROM care_events WHERE id = $1 AND {visible} RETURNING caregiver_id, start_time, amount_in_cents, reimbursed"
    )
}

/// Marks an unreimbursed event reimbursed: the condition in the UPDATE itself is what lets
/// exactly one of two concurrent calls succeed.
pub(super) fn reimburse(visible: &str) -> String {
    format!(
        "UPDATE care_events SET reimbursed = TRUE WHERE id = $1 AND reimbursed = FALSE AND {visible} \
         RETURNING caregiver_id, start_time, amount_in_cents"
    )
}

/// The filters of the events list, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// Only ids above this (the cursor).
    pub after_id: i64,
    /// Only this caregiver's events.
    pub caregiver_id: Option<i64>,
    /// Only events of this type.
    pub type_id: Option<i64>,
    /// Only reimbursed (or only unreimbursed) events.
    pub reimbursed: Option<bool>,
    /// Only events with `min_time <= start_time`.
    pub min_time: DateTime<Utc>,
    /// Only events with `start_time < max_time`.
    pub max_time: DateTime<Utc>,
    /// The caregivers the caller may see.
    pub visible: Caregivers,
    /// The page's size.
    pub limit: Limit,
}

impl Store {
    /// Inserts events in one transaction, each at its type's current price, and adds them to
    /// the totals once per (caregiver, month, state); answers their ids in order. An unknown
    /// type is `Invalid payload.` and writes nothing.
    pub async fn insert_events(&self, events: Vec<NewEvent>) -> Result<Vec<i64>, CareError> {
        self.db
            .transaction(Isolation::ReadCommitted, move |tx| Box::pin(async move { insert_batch(tx, &events).await }))
            .await
    }

    /// The event with this id, if it exists and `visible` admits its caregiver.
    pub async fn find_event(&self, id: i64, visible: &Caregivers) -> Result<Option<Event>, db::Error> {
        self.db.fetch_optional(query(self.sql.find_event.clone()).bind(id).bind(visible.bound())).await
    }

    /// One page of events, ordered by id.
    pub async fn list_events(&self, page: &EventQuery) -> Result<Vec<Event>, db::Error> {
        let list = query(self.sql.list_events.clone())
            .bind(page.after_id)
            .bind(page.caregiver_id)
            .bind(page.type_id)
            .bind(page.reimbursed)
            .bind(page.min_time)
            .bind(page.max_time)
            .bind(page.visible.bound())
            .bind(page.limit.fetch());
        // Filters may skip many rows before a page fills: keep it off the async threads.
        self.db.scan(list).await
    }

    /// Deletes an event `visible` admits, and takes it out of the totals.
    pub async fn delete_event(&self, id: i64, visible: &Caregivers) -> Result<(), CareError> {
        let delete = query(self.sql.delete_event.clone()).bind(id).bind(visible.bound());
        self.db
            .transaction(Isolation::ReadCommitted, move |tx| {
                Box::pin(async move {
                    let deleted: Option<(i64, DateTime<Utc>, i64, bool)> = tx.fetch_optional(delete).await?;
                    let (caregiver, start_time, cents, reimbursed) = deleted.ok_or(CareError::EventNotFound)?;
                    let mut delta = TotalsDelta::default();
                    delta.add(caregiver, start_time, reimbursed, -cents, -1);
                    Ok(delta.apply(tx).await?)
                })
            })
            .await
    }

    /// Reimburses an event `visible` admits, once, moving it between the totals' states.
    pub async fn reimburse(&self, id: i64, visible: &Caregivers) -> Result<(), CareError> {
        let reimburse = query(self.sql.reimburse.clone()).bind(id).bind(visible.bound());
        let exists = query(self.sql.is_visible.clone()).bind(id).bind(visible.bound());
        self.db
            .transaction(Isolation::ReadCommitted, move |tx| {
                Box::pin(async move {
                    let Some((caregiver, start_time, cents)) =
                        tx.fetch_optional::<(i64, DateTime<Utc>, i64)>(reimburse).await?
                    else {
                        // Another call reimbursed it first, or there is no such event.
                        return match tx.fetch_one::<i64>(exists).await? {
                            0 => Err(CareError::EventNotFound),
                            _ => Err(CareError::AlreadyReimbursed),
                        };
                    };
                    let mut delta = TotalsDelta::default();
                    delta.add(caregiver, start_time, false, -cents, -1);
                    delta.add(caregiver, start_time, true, cents, 1);
                    Ok(delta.apply(tx).await?)
                })
            })
            .await
    }
}

/// Inserts `events` inside `tx`: each type's price is read once, and the totals are written
/// once per (caregiver, month, state) after the rows, however many there are.
pub async fn insert_batch(tx: &mut Tx<'_>, events: &[NewEvent]) -> Result<Vec<i64>, CareError> {
    let created_at = time::now();
    let mut prices: HashMap<i64, i64> = HashMap::new();
    let mut delta = TotalsDelta::default();
    let mut ids = Vec::with_capacity(events.len());
    for event in events {
        let price = match prices.get(&event.type_id) {
            Some(&price) => price,
            None => {
                let price = tx.fetch_optional::<i64>(query(PRICE).bind(event.type_id)).await?.ok_or_else(|| {
                    CareError::invalid("type_id", format!("event type {} does not exist", event.type_id))
                })?;
                *prices.entry(event.type_id).or_insert(price)
            }
        };
        let insert = query(INSERT)
            .bind(event.type_id)
            .bind(event.caregiver_id)
            .bind(event.start_time)
            .bind(price)
            .bind(false)
            .bind(created_at);
        let id = tx.fetch_one::<i64>(insert).await.map_err(|error| match error {
            // The type was deleted since its price was read.
            db::Error::ForeignKeyViolation => CareError::invalid("type_id", "the event type does not exist"),
            other => CareError::Db(other),
        })?;
        ids.push(id);
        delta.add(event.caregiver_id, event.start_time, false, price, 1);
    }
    delta.apply(tx).await?;
    Ok(ids)
}

impl FromRow for Event {
    fn from_row(row: &Row<'_>) -> Result<Self, db::Error> {
        Ok(Event {
            id: row.get(0)?,
            type_id: row.get(1)?,
            caregiver_id: row.get(2)?,
            start_time: row.get(3)?,
            amount_in_cents: row.get(4)?,
            currency: Currency::SEK,
            reimbursed: row.get(5)?,
            created_at: row.get(6)?,
        })
    }
}
