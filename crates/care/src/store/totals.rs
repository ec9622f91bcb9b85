//! The monthly totals: per caregiver, UTC month and reimbursed state, the sum in cents and the
//! count of events. Every write to events changes them in its own transaction, through a
//! [`TotalsDelta`] gathered over the write and applied once per (caregiver, month, state), so
//! a batch of any size costs one statement per group, not per event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ferrum_platform::db::{self, Tx, query};

use crate::instant;

const ADD: &str = "INSERT INTO care_totals (caregiver_id, month, reimbursed, amount_in_cents, events) \
    VALUES ($1, $2, $3, $4, $5) ON CONFLICT (caregiver_id, month, reimbursed) DO UPDATE SET \
    amount_in_cents = care_totals.amount_in_cents + excluded.amount_in_cents, \
    events = care_totals.events + excluded.events";

// A group left with no events is no group: the report shows only keys with events.
const DROP_EMPTY: &str =
    "DELETE FROM care_totals WHERE caregiver_id = $1 AND month = $2 AND reimbursed = $3 AND events = 0";

/// Changes to the totals, by (caregiver, month, reimbursed): (cents, events) to add.
#[derive(Debug, Default)]
pub struct TotalsDelta(BTreeMap<(i64, DateTime<Utc>, bool), (i64, i64)>);

impl TotalsDelta {
    /// Adds `cents` and `events` (negative to take away) to the group of an event of
    /// `caregiver` at `start_time` in state `reimbursed`.
    pub fn add(&mut self, caregiver: i64, start_time: DateTime<Utc>, reimbursed: bool, cents: i64, events: i64) {
        let group = self.0.entry((caregiver, instant::month_start(start_time), reimbursed)).or_default();
        group.0 += cents;
        group.1 += events;
    }

    /// Writes the changes inside `tx`, one upsert per group (in key order, so concurrent
    /// transactions lock groups in one order and cannot deadlock on them).
    pub async fn apply(self, tx: &mut Tx<'_>) -> Result<(), db::Error> {
        for ((caregiver, month, reimbursed), (cents, events)) in self.0 {
            if cents == 0 && events == 0 {
                continue;
            }
            tx.execute(query(ADD).bind(caregiver).bind(month).bind(reimbursed).bind(cents).bind(events)).await?;
            if events < 0 {
                tx.execute(query(DROP_EMPTY).bind(caregiver).bind(month).bind(reimbursed)).await?;
            }
        }
        Ok(())
    }
}
