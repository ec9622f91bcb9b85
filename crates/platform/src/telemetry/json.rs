//! The JSON log line: one object per event, written straight into the line buffer.
//!
//! It prints what tracing-subscriber's own JSON format prints with `flatten_event(true)` and
//! `with_span_list(true)` (`timestamp`, `level`, the event's fields, `target`, `spans`), but
//! without its per-event costs: that format allocates the timestamp, goes through serde for
//! every field and parses each span's fields back from JSON to print them again. Here a span's
//! fields are kept as ready-made JSON members ([`JsonMembers`]) and copied into each line.
//! A line logged while a request is served gets its `request_id` ([`super::context`]).

use std::{
    cell::RefCell,
    fmt::{self, Write as _},
    time::{SystemTime, UNIX_EPOCH},
};

use chrono::{DateTime, Utc};

use super::context;
use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{
    field::RecordFields,
    fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, format::Writer},
    registry::LookupSpan,
};

/// The event formatter, for a layer whose span fields are formatted by [`JsonMembers`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct JsonLine;

/// Formats a span's fields once, when it opens, as JSON members each preceded by a comma
/// (`,"request_id":"abc"`), ready to be copied into every line logged inside it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct JsonMembers;

impl<'w> FormatFields<'w> for JsonMembers {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut members = FieldWriter { out: &mut writer, result: Ok(()) };
        fields.record(&mut members);
        members.result
    }

    fn add_fields(&self, current: &'w mut FormattedFields<Self>, fields: &span::Record<'_>) -> fmt::Result {
        self.format_fields(current.as_writer(), fields)
    }
}

impl<S> FormatEvent<S, JsonMembers> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonMembers>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        writer.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut writer, SystemTime::now())?;
        write!(writer, "\",\"level\":\"{}\"", meta.level())?;
        let mut fields = FieldWriter { out: &mut writer, result: Ok(()) };
        event.record(&mut fields);
        fields.result?;
        context::with_request_id(|id| match id {
            Some(id) => {
                writer.write_str(",\"request_id\":")?;
                write_string(&mut writer, id)
            }
            None => Ok(()),
        })?;
        writer.write_str(",\"target\":")?;
        write_string(&mut writer, meta.target())?;

        let scope = event.parent().and_then(|id| ctx.span(id)).or_else(|| ctx.lookup_current());
        if let Some(scope) = scope {
            writer.write_str(",\"spans\":[")?;
            for (i, span) in scope.scope().from_root().enumerate() {
                if i > 0 {
                    writer.write_char(',')?;
                }
                writer.write_str("{\"name\":")?;
                write_string(&mut writer, span.name())?;
                if let Some(members) = span.extensions().get::<FormattedFields<JsonMembers>>() {
                    writer.write_str(&members.fields)?;
                }
                writer.write_char('}')?;
            }
            writer.write_char(']')?;
        }
        writer.write_str("}\n")
    }
}

/// Writes each field as `,"name":value`.
struct FieldWriter<'a, 'w> {
    out: &'a mut Writer<'w>,
    result: fmt::Result,
}

impl FieldWriter<'_, '_> {
    fn entry(&mut self, field: &Field, value: impl FnOnce(&mut Writer<'_>) -> fmt::Result) {
        if self.result.is_ok() {
            // Field names are Rust identifiers: nothing in them needs escaping.
            self.result = (|| {
                self.out.write_str(",\"")?;
                self.out.write_str(field.name())?;
                self.out.write_str("\":")?;
                value(self.out)
            })();
        }
    }
}

impl Visit for FieldWriter<'_, '_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.entry(field, |out| write_string(out, value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.entry(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.entry(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.entry(field, |out| write!(out, "{value}"));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity.
        self.entry(field, |out| {
            let mut digits = ryu::Buffer::new();
            out.write_str(if value.is_finite() { digits.format_finite(value) } else { "null" })
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.entry(field, |out| write_displayed(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.entry(field, |out| {
            out.write_char('"')?;
            write!(Escaping(out), "{value:?}")?;
            out.write_char('"')
        });
    }
}

fn write_displayed(out: &mut Writer<'_>, value: &dyn fmt::Display) -> fmt::Result {
    out.write_char('"')?;
    write!(Escaping(out), "{value}")?;
    out.write_char('"')
}

/// A JSON string literal.
pub(super) fn write_string(out: &mut impl fmt::Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaping(out).write_str(text)?;
    out.write_char('"')
}

/// Escapes what passes through for the inside of a JSON string.
struct Escaping<'a, W: fmt::Write + ?Sized>(&'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        // Nearly every string logged needs no escaping: one pass to check, one write.
        if !needs_escaping(text.as_bytes()) {
            return self.0.write_str(text);
        }
        let mut clean_from = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..0x20 => "",
                _ => continue,
            };
            // Only ASCII bytes are escaped, so `at` is always a character boundary.
            self.0.write_str(&text[clean_from..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            clean_from = at + 1;
        }
        self.0.write_str(&text[clean_from..])
    }
}

/// True when `text` holds a byte a JSON string must escape: `"`, `\\` or a control character.
///
/// Eight bytes at a time (the classic "has a zero byte" test on a `u64`), the three tests of a
/// word merged without branches, and the last bytes padded to a word: every access line checks
/// a request id and a path, and a byte-at-a-time loop was a fifth of the line's cost.
fn needs_escaping(text: &[u8]) -> bool {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of a byte of the result is set if that byte of `x` is below `n` (n <= 0x80);
    // exact as to whether any byte is, not which.
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x;
    let bad_in =
        |x: u64| below(x, 0x20) | below(x ^ (ONES * u64::from(b'"')), 1) | below(x ^ (ONES * u64::from(b'\\')), 1);
    let mut chunks = text.chunks_exact(8);
    // Always eight bytes; were it not, a quote says "escape", the safe answer.
    let mut bad =
        chunks.by_ref().fold(0, |bad, chunk| bad | bad_in(u64::from_ne_bytes(chunk.try_into().unwrap_or([b'"'; 8]))));
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut last = [b' '; 8];
        last[..rest.len()].copy_from_slice(rest);
        bad |= bad_in(u64::from_ne_bytes(last));
    }
    bad & HIGHS != 0
}

thread_local! {
    /// The second last formatted on this thread and its `YYYY-MM-DDTHH:MM:SS` text: most lines
    /// fall in the same second as the one before.
    static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// RFC 3339 in UTC with microseconds, as tracing-subscriber prints it.
pub(super) fn write_timestamp(out: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    SECOND.with_borrow_mut(|(cached, text)| {
        if *cached != seconds {
            text.clear();
            let date = DateTime::<Utc>::from(UNIX_EPOCH + std::time::Duration::from_secs(seconds));
            write!(text, "{}", date.format("%Y-%m-%dT%H:%M:%S"))?;
            *cached = seconds;
        }
        out.write_str(text)?;
        // Six digits with leading zeros: the digits of 1,000,000 + micros after the leading 1.
        let mut digits = itoa::Buffer::new();
        let micros = digits.format(1_000_000 + since_epoch.subsec_micros());
        out.write_char('.')?;
        out.write_str(&micros[1..])?;
        out.write_char('Z')
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_escaping_check_finds_every_byte_that_needs_it_wherever_it_is() {
        let naive = |text: &[u8]| text.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\');
        // Around each byte: plain text, UTF-8 continuation bytes, and the edges of the ranges.
        for filler in [b'a', 0x80, 0xff, 0x20, b'!'] {
            for len in 0..20 {
                for at in 0..len {
                    for byte in 0..=255u8 {
                        let mut text = vec![filler; len];
                        text[at] = byte;
                        assert_eq!(
                            super::needs_escaping(&text),
                            naive(&text),
                            "{byte:#x} at {at} of {len} in {filler:#x}"
                        );
                    }
                }
            }
        }
        let clean = "0d9c2f0e-5a3b-4c1d-9e8f-7a6b5c4d3e2f/api/v1/patients/42?x=ü";
        assert!(!super::needs_escaping(clean.as_bytes()));
    }

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::telemetry::test_lines::Lines;

    fn logged(emit: impl FnOnce()) -> Vec<serde_json::Value> {
        let lines = Lines::default();
        let layer =
            tracing_subscriber::fmt::layer().fmt_fields(JsonMembers).event_format(JsonLine).with_writer(lines.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), emit);
        lines.text().lines().map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"))).collect()
    }

    #[test]
    fn prints_fields_target_and_spans_as_one_json_object() {
        let lines = logged(|| {
            let span = tracing::info_span!("request", request_id = "r-1", n = 3, late = tracing::field::Empty);
            span.record("late", "yes");
            let _entered = span.enter();
            tracing::warn!(target: "ferrum::access", status = 404u16, latency_ms = 1.5, ok = false, method = %"GET", "done");
        });
        assert_eq!(lines.len(), 1);
        let line = &lines[0];
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["message"], "done");
        assert_eq!(line["target"], "ferrum::access");
        assert_eq!(line["status"], 404);
        assert_eq!(line["latency_ms"], 1.5);
        assert_eq!(line["ok"], false);
        assert_eq!(line["method"], "GET");
        assert_eq!(line["spans"], serde_json::json!([{"name": "request", "request_id": "r-1", "n": 3, "late": "yes"}]));
        let timestamp = line["timestamp"].as_str().unwrap();
        assert!(crate::time::parse_rfc3339(timestamp).is_ok(), "{timestamp}");
        assert_eq!(timestamp.len(), "2026-11-23T17:40:00.123456Z".len(), "{timestamp}");
    }

    #[tokio::test]
    async fn lines_logged_inside_a_request_carry_its_id() {
        let request = context::in_request(axum::http::HeaderValue::from_static("r-9"), async {
            logged(|| tracing::warn!(store = "sqlite", "slow query"))
        });
        let lines = request.await;
        assert_eq!(lines[0]["request_id"], "r-9");
        assert_eq!(lines[0]["store"], "sqlite");
        assert!(logged(|| tracing::warn!("outside")).first().is_some_and(|line| line.get("request_id").is_none()));
    }

    #[test]
    fn escapes_quotes_backslashes_and_control_characters() {
        let nasty = "a\"b\\c\nd\u{1}e\u{7f}é";
        let lines = logged(|| tracing::info!(text = nasty, debug = ?nasty, f = f64::NAN, "x"));
        assert_eq!(lines[0]["text"], nasty);
        assert_eq!(lines[0]["debug"], format!("{nasty:?}"));
        assert_eq!(lines[0]["f"], serde_json::Value::Null);
        assert!(lines[0].get("spans").is_none());
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        let mut text = String::new();
        write_timestamp(&mut text, UNIX_EPOCH + std::time::Duration::from_micros(1_795_000_000_000_042)).unwrap();
        assert_eq!(text, "2026-11-18T11:06:40.000042Z");
        text.clear();
        write_timestamp(&mut text, UNIX_EPOCH + std::time::Duration::from_micros(1_795_000_001_500_000)).unwrap();
        assert_eq!(text, "2026-11-18T11:06:41.500000Z");
    }
}
