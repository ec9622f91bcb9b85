//! The report's one statement: the totals of the whole months in its range, and the events of
//! the partial months at its two edges grouped the same way, read together in one snapshot.
//! Totals rows come back as they are (a group is one row already) and are folded in Rust.

use ferrum_platform::db::{self, Backend, FromRow, Row, dialect, query};

use super::Store;
use crate::report::{Figure, Plan, Report, ReportFilter};

/// The statement for `backend`: `$1`..`$2` the whole months, `$3`..`$4` and `$5`..`$6` the
/// edges, and, when `caregivers` is the `integers_in` subquery over `$7`, only those caregivers.
pub(super) fn statement(backend: Backend, caregivers: Option<&str>) -> String {
    let only = caregivers.map(|list| format!(" AND caregiver_id IN {list}")).unwrap_or_default();
    let month = dialect::month_start(backend, "start_time");
    let edge = |from: &str, to: &str| {
        format!(
            "SELECT caregiver_id, {month}, reimbursed, CAST(SUM(amount_in_cents) AS BIGINT), COUNT(*) FROM care_events \
             WHERE start_time >= {from} AND start_time < {to}{only} GROUP BY caregiver_id, {month}, reimbursed"
        )
    };
    format!(
        "SELECT caregiver_id, month, reimbursed, amount_in_cents, events FROM care_totals \
         WHERE month >= $1 AND month < $2{only} UNION ALL {} UNION ALL {}",
        edge("$3", "$4"),
        edge("$5", "$6")
    )
}

impl Store {
    /// The report for `filter`; its caregivers are already those the caller may see.
    pub async fn report(&self, filter: &ReportFilter) -> Result<Report, db::Error> {
        let plan = Plan::of(filter.min_time, filter.max_time);
        let (sql, list) = match filter.caregivers.bound() {
            None => (&self.sql.report_all, None),
            Some(list) => (&self.sql.report_some, Some(list)),
        };
        let mut statement = query(sql.clone()).bind(plan.months.from).bind(plan.months.to);
        for edge in plan.edges {
            statement = statement.bind(edge.from).bind(edge.to);
        }
        if let Some(list) = list {
            statement = statement.bind(list);
        }
        let figures: Vec<Figure> = self.db.scan(statement).await?;
        Ok(Report::fold(figures))
    }
}

impl FromRow for Figure {
    fn from_row(row: &Row<'_>) -> Result<Self, db::Error> {
        Ok(Figure {
            caregiver_id: row.get(0)?,
            month: row.get(1)?,
            reimbursed: row.get(2)?,
            amount_in_cents: row.get(3)?,
            events: row.get(4)?,
        })
    }
}
