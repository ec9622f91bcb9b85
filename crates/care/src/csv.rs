//! The report as CSV (`Accept: text/csv`, SPEC 3): one line per caregiver, month and state,
//! in the JSON report's order. Every value is a number or a fixed word, so nothing needs quoting.

use std::fmt::Write as _;

use crate::report::{MONTHS, Report, sek};

/// The header line's columns.
pub const HEADER: &str = "year,month,caregiver_id,reimbursed,amount_sek,events";

/// The report as CSV text, header first, lines ended by CRLF (RFC 4180).
pub fn render(report: &Report) -> String {
    let mut text = String::with_capacity(64 * (1 + report.0.len()));
    text.push_str(HEADER);
    text.push_str("\r\n");
    for (year, month, caregiver, reimbursed, cents, events) in report.rows() {
        let month = MONTHS.get((month as usize).wrapping_sub(1)).copied().unwrap_or("?");
        // Writing to a String cannot fail.
        let _ = write!(text, "{year},{month},{caregiver},{reimbursed},{},{events}\r\n", sek(cents));
    }
    text
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone as _, Utc};

    use super::*;
    use crate::report::Figure;

    #[test]
    fn renders_one_line_per_caregiver_month_and_state() {
        let month = Utc.with_ymd_and_hms(2017, 1, 1, 0, 0, 0).unwrap();
        let figure = |caregiver_id, reimbursed, amount_in_cents, events| Figure {
            caregiver_id,
            month,
            reimbursed,
            amount_in_cents,
            events,
        };
        let report = Report::fold([figure(4, false, 1_250, 1), figure(3, true, 250_000, 2), figure(3, false, 5, 1)]);
        assert_eq!(
            render(&report),
            "year,month,caregiver_id,reimbursed,amount_sek,events\r\n\
             2017,Jan,3,false,0.05,1\r\n2017,Jan,3,true,2500,2\r\n2017,Jan,4,false,12.5,1\r\n"
        );
        assert_eq!(render(&Report::default()), format!("{HEADER}\r\n"));
    }
}
