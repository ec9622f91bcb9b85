//! Times in care (SPEC 3): what `start_time`, `min_time` and `max_time` accept, and UTC months.
//!
//! Accepted: RFC 3339 with any offset (honoured, then kept in UTC), or ISO 8601 without an
//! offset (`2017-10-28T23:28:23.456701`, `2017-10-28 23:28:23`, `2017-10-28T23:28`, or a bare
//! date `2017-10-28` for midnight), read as UTC. Refused: anything else (`now`, `infinity`), dates
//! that do not exist (`2017-02-30`), and instants outside years 0001 to 9998, which keeps every
//! stored instant in one fixed text shape and leaves room for the sentinels below.
//!
//! Instants are stored with microseconds. A finer `start_time` is cut to the microsecond below;
//! a finer filter bound is raised to the microsecond above, which selects exactly the stored
//! instants the exact bound would (`min <= t` and `t < max`, both for whole microseconds).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};

/// Before every accepted instant: the lower bound of an open-ended range.
pub fn far_past() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// After every accepted instant: the upper bound of an open-ended range.
pub fn far_future() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// An event's `start_time`: the instant, cut to the microsecond.
pub fn parse_start_time(text: &str) -> Option<DateTime<Utc>> {
    let at = parse(text)?;
    let nanos = at.nanosecond() % 1_000;
    Some(at - TimeDelta::nanoseconds(i64::from(nanos)))
}

/// A filter's `min_time` or `max_time`: the instant, raised to the microsecond.
pub fn parse_bound(text: &str) -> Option<DateTime<Utc>> {
    let at = parse(text)?;
    let nanos = at.nanosecond() % 1_000;
    let at = if nanos == 0 { at } else { at + TimeDelta::nanoseconds(i64::from(1_000 - nanos)) };
    (at <= far_future()).then_some(at)
}

fn parse(text: &str) -> Option<DateTime<Utc>> {
    let at = DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc)).ok().or_else(|| naive(text))?;
    (far_past() <= at && at < far_future()).then_some(at)
}

/// ISO 8601 without an offset, read as UTC.
fn naive(text: &str) -> Option<DateTime<Utc>> {
    // Four-digit years only: chrono's `%Y` would also take `+20170` or `17`.
    if text.len() < 10 || !text.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
        return None;
    }
    if text.len() == 10 {
        return NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
    }
    let formats = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"];
    formats.iter().find_map(|format| NaiveDateTime::parse_from_str(text, format).ok()).map(|at| at.and_utc())
}

/// The first instant of the UTC month `at` falls in.
pub fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0).single().unwrap_or(at)
}

/// The first instant of the month after the month starting at `month`.
pub fn next_month(month: DateTime<Utc>) -> DateTime<Utc> {
    let (year, month_number) =
        if month.month() == 12 { (month.year() + 1, 1) } else { (month.year(), month.month() + 1) };
    Utc.with_ymd_and_hms(year, month_number, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn reads_rfc_3339_and_naive_iso_8601_as_utc() {
        let cases = [
            ("2017-10-28T23:28:23.456701Z", "2017-10-28T23:28:23.456701Z"),
            ("2017-10-28T23:28:23.456701+02:00", "2017-10-28T21:28:23.456701Z"),
            ("2017-10-31T23:30:00-01:00", "2017-11-01T00:30:00Z"),
            ("2017-10-28T23:28:23.456701", "2017-10-28T23:28:23.456701Z"),
            ("2017-10-28T23:28:23", "2017-10-28T23:28:23Z"),
            ("2017-10-28 23:28:23.5", "2017-10-28T23:28:23.5Z"),
            ("2017-10-28T23:28", "2017-10-28T23:28:00Z"),
            ("2017-10-28", "2017-10-28T00:00:00Z"),
            ("2017-10-28T23:28:23.456701999Z", "2017-10-28T23:28:23.456701Z"),
            ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_start_time(text), Some(utc(expected)), "{text}");
        }
    }

    #[test]
    fn refuses_what_is_no_instant() {
        for text in [
            "now",
            "infinity",
            "-infinity",
            "",
            "2017-02-30T00:00:00",
            "2017-13-01",
            "2017-10-28T24:00:00",
            "2017-10-28T23:28:23+25:00",
            "17-10-28",
            "+2017-10-28",
            "9999-01-01T00:00:00Z",
            "0000-12-31T23:59:59Z",
            "2017-10-28T23:28:23 ",
            "1509233303",
        ] {
            assert_eq!(parse_start_time(text), None, "{text}");
            assert_eq!(parse_bound(text), None, "{text}");
        }
    }

    #[test]
    fn bounds_round_up_and_start_times_down() {
        let text = "2017-10-28T23:28:23.0000001Z";
        assert_eq!(parse_start_time(text), Some(utc("2017-10-28T23:28:23Z")));
        assert_eq!(parse_bound(text), Some(utc("2017-10-28T23:28:23.000001Z")));
        assert_eq!(parse_bound("2017-10-28T23:28:23Z"), Some(utc("2017-10-28T23:28:23Z")));
    }

    #[test]
    fn months_are_utc_months() {
        assert_eq!(month_start(utc("2017-10-31T23:59:59.999999Z")), utc("2017-10-01T00:00:00Z"));
        assert_eq!(next_month(utc("2017-12-01T00:00:00Z")), utc("2018-01-01T00:00:00Z"));
        assert_eq!(next_month(utc("2017-01-01T00:00:00Z")), utc("2017-02-01T00:00:00Z"));
    }
}
