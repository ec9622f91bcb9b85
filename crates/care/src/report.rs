//! The reimbursement report (SPEC 3): its plan (which whole months come from the monthly
//! totals and which partial months at its edges from the events themselves), the folding of
//! what the store reads into `year > month > caregiver > state`, and its JSON rendering, with
//! amounts as exact SEK numbers (`2500`, `12.5`, `112.49`).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Utc};
use serde::{Serialize, Serializer, ser::SerializeMap};
use serde_json::value::RawValue;
use utoipa::ToSchema;

use crate::{access::Caregivers, instant};

/// Month names as the report writes them.
pub const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A report's filter, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportFilter {
    /// The caregivers covered (already narrowed to those the caller may see).
    pub caregivers: Caregivers,
    /// Only events with `min_time <= start_time`.
    pub min_time: Option<DateTime<Utc>>,
    /// Only events with `start_time < max_time`.
    pub max_time: Option<DateTime<Utc>>,
}

/// A half-open range of instants, `from <= t < to`; empty when `from >= to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Included.
    pub from: DateTime<Utc>,
    /// Excluded.
    pub to: DateTime<Utc>,
}

impl Span {
    fn empty() -> Self {
        Span { from: instant::far_future(), to: instant::far_future() }
    }
}

/// Where a report's figures come from: whole months from the totals, the rest from events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Whole UTC months, read from the totals.
    pub months: Span,
    /// The partial month before them and the one after, read from the events.
    pub edges: [Span; 2],
}

impl Plan {
    /// The plan for `min_time <= t < max_time`, either bound open.
    pub fn of(min_time: Option<DateTime<Utc>>, max_time: Option<DateTime<Utc>>) -> Self {
        let from = min_time.unwrap_or_else(instant::far_past);
        let to = max_time.unwrap_or_else(instant::far_future);
        if from >= to {
            return Plan { months: Span::empty(), edges: [Span::empty(), Span::empty()] };
        }
        let first_whole =
            if instant::month_start(from) == from { from } else { instant::next_month(instant::month_start(from)) };
        let whole_end = instant::month_start(to);
        if first_whole < whole_end {
            let months = Span { from: first_whole, to: whole_end };
            Plan { months, edges: [Span { from, to: first_whole }, Span { from: whole_end, to }] }
        } else {
            // Within a month, or across one boundary with no whole month between: all events.
            Plan { months: Span::empty(), edges: [Span { from, to }, Span::empty()] }
        }
    }
}

/// One (caregiver, month, state) figure the store reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Figure {
    /// The caregiver.
    pub caregiver_id: i64,
    /// The first instant of the UTC month.
    pub month: DateTime<Utc>,
    /// Reimbursed or not.
    pub reimbursed: bool,
    /// The sum of the events' amounts, in cents.
    pub amount_in_cents: i64,
    /// How many events.
    pub events: i64,
}

/// A caregiver's month: the sum in cents and the count of its events, by state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// Not reimbursed yet: (cents, events).
    pub pending: Option<(i64, i64)>,
    /// Reimbursed: (cents, events).
    pub reimbursed: Option<(i64, i64)>,
}

/// The report: by (year, month number), by caregiver, ascending.
#[derive(Clone, Debug, Default, PartialEq, Eq, ToSchema)]
#[schema(value_type = Object, example = json!({"2017": {"Jan": {"3": {"non-reimbursed SEK": 12.5, "reimbursed SEK": 2500}}}}))]
pub struct Report(pub BTreeMap<(i32, u32), BTreeMap<i64, Amounts>>);

impl Report {
    /// Folds figures (in any order, a key possibly several times) into a report; keys without
    /// events are left out.
    pub fn fold(figures: impl IntoIterator<Item = Figure>) -> Self {
        let mut report = Report::default();
        for figure in figures.into_iter().filter(|figure| figure.events > 0) {
            let month = (figure.month.year(), figure.month.month());
            let amounts = report.0.entry(month).or_default().entry(figure.caregiver_id).or_default();
            let slot = if figure.reimbursed { &mut amounts.reimbursed } else { &mut amounts.pending };
            let (cents, events) = slot.get_or_insert((0, 0));
            *cents += figure.amount_in_cents;
            *events += figure.events;
        }
        report
    }

    /// Every figure, in report order: (year, month number, caregiver, reimbursed, cents, events).
    pub fn rows(&self) -> impl Iterator<Item = (i32, u32, i64, bool, i64, i64)> + '_ {
        self.0.iter().flat_map(|(&(year, month), caregivers)| {
            caregivers.iter().flat_map(move |(&caregiver, amounts)| {
                let pending = amounts.pending.map(|(cents, events)| (year, month, caregiver, false, cents, events));
                let reimbursed =
                    amounts.reimbursed.map(|(cents, events)| (year, month, caregiver, true, cents, events));
                pending.into_iter().chain(reimbursed)
            })
        })
    }
}

/// Cents as an exact decimal number of SEK: `2500`, `12.5`, `112.49`, `-0.05`.
pub fn sek(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let (whole, part) = (cents.unsigned_abs() / 100, cents.unsigned_abs() % 100);
    match part {
        0 => format!("{sign}{whole}"),
        p if p % 10 == 0 => format!("{sign}{whole}.{}", p / 10),
        p => format!("{sign}{whole}.{p:02}"),
    }
}

/// `cents` as a JSON number written from its exact text.
fn sek_number(cents: i64) -> Result<Box<RawValue>, serde_json::Error> {
    RawValue::from_string(sek(cents))
}

impl Serialize for Report {
    /// `{"2017": {"Jan": {"3": {"non-reimbursed SEK": 12.5, "reimbursed SEK": 2500}}}}`, keys in
    /// ascending time and caregiver order (not the text order a map of strings would give).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut years = serializer.serialize_map(None)?;
        let mut months = self.0.iter().peekable();
        while let Some(&(&(year, _), _)) = months.peek() {
            let mut of_year = Vec::new();
            while let Some((&(_, month), caregivers)) = months.next_if(|((y, _), _)| *y == year) {
                of_year.push((month, caregivers));
            }
            years.serialize_entry(&year.to_string(), &Year(&of_year))?;
        }
        years.end()
    }
}

struct Year<'a>(&'a [(u32, &'a BTreeMap<i64, Amounts>)]);

impl Serialize for Year<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut months = serializer.serialize_map(Some(self.0.len()))?;
        for (month, caregivers) in self.0 {
            let name = MONTHS.get((*month as usize).wrapping_sub(1)).copied().unwrap_or("?");
            months.serialize_entry(name, &Caregiver(caregivers))?;
        }
        months.end()
    }
}

struct Caregiver<'a>(&'a BTreeMap<i64, Amounts>);

impl Serialize for Caregiver<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut caregivers = serializer.serialize_map(Some(self.0.len()))?;
        for (caregiver, amounts) in self.0 {
            let mut states = BTreeMap::new();
            if let Some((cents, _)) = amounts.pending {
                states.insert("non-reimbursed SEK", sek_number(cents).map_err(S::Error::custom)?);
            }
            if let Some((cents, _)) = amounts.reimbursed {
                states.insert("reimbursed SEK", sek_number(cents).map_err(S::Error::custom)?);
            }
            caregivers.serialize_entry(&caregiver.to_string(), &states)?;
        }
        caregivers.end()
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap()
    }

    #[test]
    fn amounts_are_exact_sek() {
        let cases = [(250_000, "2500"), (1_250, "12.5"), (11_249, "112.49"), (5, "0.05"), (0, "0"), (-5, "-0.05")];
        for (cents, text) in cases {
            assert_eq!(sek(cents), text);
        }
        assert_eq!(sek(i64::MAX), "92233720368547758.07");
    }

    #[test]
    fn plans_read_whole_months_from_totals_and_edges_from_events() {
        let open = Plan::of(None, None);
        assert_eq!(open.months, Span { from: instant::far_past(), to: instant::far_future() });
        assert!(open.edges.iter().all(|edge| edge.from >= edge.to));

        let mid = Utc.with_ymd_and_hms(2017, 1, 15, 12, 0, 0).unwrap();
        let end = Utc.with_ymd_and_hms(2017, 4, 3, 8, 0, 0).unwrap();
        let plan = Plan::of(Some(mid), Some(end));
        assert_eq!(plan.months, Span { from: at(2017, 2, 1), to: at(2017, 4, 1) });
        assert_eq!(plan.edges, [Span { from: mid, to: at(2017, 2, 1) }, Span { from: at(2017, 4, 1), to: end }]);

        let aligned = Plan::of(Some(at(2017, 1, 1)), Some(at(2018, 1, 1)));
        assert_eq!(aligned.months, Span { from: at(2017, 1, 1), to: at(2018, 1, 1) });
        assert!(aligned.edges.iter().all(|edge| edge.from >= edge.to));

        let within = Plan::of(Some(mid), Some(Utc.with_ymd_and_hms(2017, 2, 10, 0, 0, 0).unwrap()));
        assert!(within.months.from >= within.months.to);
        assert_eq!(within.edges[0].from, mid);

        let backwards = Plan::of(Some(end), Some(mid));
        assert!(backwards.months.from >= backwards.months.to && backwards.edges.iter().all(|e| e.from >= e.to));
    }

    #[test]
    fn folds_into_ascending_years_months_and_caregivers() {
        let figure = |caregiver_id, month, reimbursed, amount_in_cents, events| Figure {
            caregiver_id,
            month,
            reimbursed,
            amount_in_cents,
            events,
        };
        let report = Report::fold([
            figure(10, at(2017, 2, 1), false, 100, 1),
            figure(9, at(2017, 2, 1), true, 1_250, 1),
            figure(9, at(2017, 2, 1), true, 11_249, 2),
            figure(9, at(2016, 12, 1), false, 250_000, 3),
            figure(3, at(2017, 10, 1), false, 0, 0),
        ]);
        let json = serde_json::to_string(&report).unwrap();
        assert_eq!(
            json,
            r#"{"2016":{"Dec":{"9":{"non-reimbursed SEK":2500}}},"2017":{"Feb":{"9":{"reimbursed SEK":124.99},"10":{"non-reimbursed SEK":1}}}}"#
        );
        assert_eq!(serde_json::to_string(&Report::default()).unwrap(), "{}");
        let rows: Vec<_> = report.rows().collect();
        assert_eq!(
            rows,
            [(2016, 12, 9, false, 250_000, 3), (2017, 2, 9, true, 12_499, 3), (2017, 2, 10, false, 100, 1)]
        );
    }
}
