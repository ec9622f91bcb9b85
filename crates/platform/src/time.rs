//! Time on the wire and in storage: UTC, RFC 3339, microsecond precision everywhere.

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use serde::Serializer;

/// Now, truncated to microseconds so SQLite and PostgreSQL store the same instant.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    let micros = now.nanosecond() / 1_000 * 1_000;
    now.with_nanosecond(micros).unwrap_or(now)
}

/// Renders an instant as `2026-01-02T03:04:05.123456Z`.
pub fn to_rfc3339(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses what [`to_rfc3339`] renders (and any other RFC 3339 instant).
pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|at| at.with_timezone(&Utc))
}

/// `serialize_with` helper: an instant as an RFC 3339 UTC string with microseconds.
pub fn serialize<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&to_rfc3339(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_micros_in_utc() {
        let at = parse_rfc3339("2026-01-02T05:04:05.123456+02:00").unwrap();
        assert_eq!(to_rfc3339(&at), "2026-01-02T03:04:05.123456Z");
        assert_eq!(now().nanosecond() % 1_000, 0);
    }
}
