//! Time on the wire and in storage: UTC, RFC 3339, microsecond precision everywhere.
//!
//! The instants Ferrum writes all have one shape, `2026-01-02T03:04:05.123456Z`: they are
//! rendered and read in that shape by hand, on the stack, and anything else goes through
//! chrono. chrono's RFC 3339 text is a `String` made through `fmt` (about 730 instructions
//! per instant) and its parser is general (about 430 more, after the row's text was copied into
//! a `String`); a patient answer has two instants, and together they were about 8% of
//! `GET /api/v1/patients/{id}` (BENCHMARKS.md).

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// The length of an instant's text: `2026-01-02T03:04:05.123456Z`.
const TEXT_LEN: usize = 27;

/// Now, truncated to microseconds so SQLite and PostgreSQL store the same instant.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.nanosecond() / 1_000 * 1_000;
    now.with_nanosecond(micros).unwrap_or(now)
}

/// Renders an instant as `2026-01-02T03:04:05.123456Z`.
pub fn to_rfc3339(at: &DateTime<Utc>) -> String {
    match text_of(at) {
        Some(text) => text.iter().map(|&b| char::from(b)).collect(),
        None => at.to_rfc3339_opts(SecondsFormat::Micros, true),
    }
}

/// Parses what [`to_rfc3339`] renders (and any other RFC 3339 instant).
pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    match parse_own(text.as_bytes()) {
        Some(at) => Ok(at),
        None => DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc)),
    }
}

/// `serialize_with` helper: an instant as an RFC 3339 UTC string with microseconds.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    match text_of(at).as_ref().and_then(|text| std::str::from_utf8(text).ok()) {
        Some(text) => serializer.serialize_str(text),
        None => serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::Micros, true)),
    }
}

/// `at`'s text in Ferrum's shape; `None` for what that shape cannot say (a year outside
/// 0000-9999, a leap second), which chrono renders.
fn text_of(at: &DateTime<Utc>) -> Option<[u8; TEXT_LEN]> {
    let year = u32::try_from(at.year()).ok().filter(|year| *year <= 9999)?;
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    let fields = [
        (0..4, year),
        (5..7, at.month()),
        (8..10, at.day()),
        (11..13, at.hour()),
        (14..16, at.minute()),
        (17..19, at.second()),
        (20..26, nanos / 1_000),
    ];
    for (range, mut value) in fields {
        for digit in text[range].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    Some(text)
}

/// Reads text in Ferrum's shape; `None` for anything else (another offset, other precision, an
/// invalid date), which chrono parses or refuses.
fn parse_own(text: &[u8]) -> Option<DateTime<Utc>> {
    if text.len() != TEXT_LEN || text[TEXT_LEN - 1] != b'Z' {
        return None;
    }
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.')];
    if separators.iter().any(|&(at, separator)| text[at] != separator) {
        return None;
    }
    let number = |from: usize, to: usize| {
        text[from..to].iter().try_fold(0u32, |value, &b| b.is_ascii_digit().then(|| value * 10 + u32::from(b - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(i32::try_from(number(0, 4)?).ok()?, number(5, 7)?, number(8, 10)?)?;
    let time = date.and_hms_micro_opt(number(11, 13)?, number(14, 16)?, number(17, 19)?, number(20, 26)?)?;
    Some(time.and_utc())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    fn chrono_text(at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    #[test]
    fn renders_and_parses_micros_in_utc() {
        let at = parse_rfc3339("2026-01-02T05:04:05.123456+02:00").unwrap();
        assert_eq!(to_rfc3339(&at), "2026-01-02T03:04:05.123456Z");
        assert_eq!(now().nanosecond() % 1_000, 0);
    }

    #[test]
    fn the_own_shape_is_what_chrono_writes_and_reads() {
        let fixed = [
            Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(2000, 2, 29, 23, 59, 59).unwrap() + chrono::Duration::microseconds(999_999),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            now(),
        ];
        let random = (0..2_000).map(|_| {
            let micros = fastrand::i64(-62_135_596_800_000_000..253_402_300_799_999_999);
            DateTime::from_timestamp_micros(micros).unwrap()
        });
        for at in fixed.into_iter().chain(random) {
            let text = to_rfc3339(&at);
            assert_eq!(text, chrono_text(&at));
            assert_eq!(parse_own(text.as_bytes()), Some(at), "{text}");
            assert_eq!(parse_rfc3339(&text), Ok(at));
            let json = serde_json::to_string(&Stamp(at)).unwrap();
            assert_eq!(json, format!("\"{text}\""));
        }
    }

    #[derive(serde::Serialize)]
    struct Stamp(#[serde(serialize_with = "serialize")] DateTime<Utc>);

    #[test]
    fn other_shapes_go_to_chrono() {
        // Not Ferrum's shape, but RFC 3339: chrono reads them.
        for text in ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.1Z", "2026-01-02t03:04:05.123456z"] {
            assert_eq!(parse_own(text.as_bytes()), None, "{text}");
            assert!(parse_rfc3339(text).is_ok(), "{text}");
        }
        // In the shape but no instant: refused, as chrono refuses them.
        for text in ["2026-02-30T03:04:05.123456Z", "2026-01-02T24:04:05.123456Z", "2026-01-02T03:04:05.12345xZ"] {
            assert_eq!(parse_own(text.as_bytes()), None, "{text}");
            assert!(parse_rfc3339(text).is_err(), "{text}");
        }
        // What the shape cannot say is rendered by chrono.
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31).unwrap().and_hms_micro_opt(23, 59, 59, 1_500_000).unwrap();
        let leap = leap.and_utc();
        assert_eq!(text_of(&leap), None);
        assert_eq!(to_rfc3339(&leap), chrono_text(&leap));
        let far = Utc.with_ymd_and_hms(12_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(to_rfc3339(&far), chrono_text(&far));
    }
}
