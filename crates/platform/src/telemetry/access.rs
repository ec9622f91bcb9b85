//! The access log (SPEC 1.7): one line per request, target `ferrum::access`, with the method,
//! route template, path, status, latency, bytes, client and request id.
//!
//! In the JSON format the line is written straight from the values to the log writer. As a
//! `tracing` event it cost about 6,800 instructions per request (each field visited through
//! `dyn Visit` and written through `dyn fmt::Write`, the client address through `Display`),
//! a sixth of `/health/live` (BENCHMARKS.md); written here it costs a fraction of that. The
//! `ferrum::access` target's filter still decides whether it is written
//! (`--log-level info,ferrum::access=off` turns it off). In the pretty format, which is read by
//! people rather than machines, the line is an ordinary `tracing` event.

use std::{
    cell::RefCell,
    fmt::Write as _,
    net::IpAddr,
    sync::OnceLock,
    time::{Duration, SystemTime},
};

use tracing::Level;

use super::json::{write_string, write_timestamp};

/// What the access line says about one request.
#[derive(Clone, Copy, Debug)]
pub struct AccessRecord<'a> {
    /// The request id, as sent back in `X-Request-Id`: visible ASCII without `"` or `\`, so it
    /// is written without an escaping check (the edge keeps no other client id).
    pub request_id: &'a str,
    /// The request method.
    pub method: &'a str,
    /// The matched route template; `None` when no route matched.
    pub route: Option<&'a str>,
    /// The request path, without the query.
    pub path: &'a str,
    /// The response status.
    pub status: u16,
    /// From the request's arrival to its response head.
    pub latency: Duration,
    /// The response body's length, when known up front.
    pub bytes: Option<u64>,
    /// The peer's address.
    pub client: Option<IpAddr>,
    /// What went wrong inside, for a 500: the line is then written at `error`.
    pub error: Option<&'a str>,
}

type Sink = Box<dyn Fn(&[u8]) + Send + Sync>;

/// Where JSON access lines go: the log subscriber's writer, set once by `telemetry::init`.
static JSON_SINK: OnceLock<JsonSink> = OnceLock::new();

struct JsonSink {
    write: Sink,
    /// Whether the `ferrum::access` filter lets through lines at `info` and at `error`. Read
    /// once: the filter is set at start-up and never changes, and asking the subscriber on
    /// every request cost about 150 instructions.
    info: bool,
    error: bool,
}

thread_local! {
    /// Each thread's line buffer, so that a line costs no allocation.
    static LINE: RefCell<Line> = const { RefCell::new(Line::new()) };
}

/// A line being written, and the text of the last client address written on this thread.
struct Line {
    text: String,
    client: LastClient,
}

impl Line {
    const fn new() -> Self {
        Self { text: String::new(), client: LastClient { ip: None, text: String::new() } }
    }
}

/// The last client address written and its text: consecutive requests on a thread mostly come
/// from one address (a connection's, or the proxy's in front), and formatting it every time was
/// a tenth of the line's cost.
struct LastClient {
    ip: Option<IpAddr>,
    text: String,
}

impl LastClient {
    /// The text of `ip`, formatted only when it is not the last one.
    fn text_of(&mut self, ip: IpAddr) -> Result<&str, std::fmt::Error> {
        if self.ip != Some(ip) {
            self.text.clear();
            match ip {
                IpAddr::V4(ip) => {
                    for (i, octet) in ip.octets().into_iter().enumerate() {
                        if i > 0 {
                            self.text.push('.');
                        }
                        self.text.push_str(itoa::Buffer::new().format(octet));
                    }
                }
                IpAddr::V6(ip) => write!(self.text, "{ip}")?,
            }
            self.ip = Some(ip);
        }
        Ok(&self.text)
    }
}

/// Sends JSON access lines to `sink` from now on (only the first call counts). Called once the
/// global subscriber is installed, whose filter decides which lines are written.
pub(super) fn write_json_to(sink: Sink) {
    let info = tracing::enabled!(target: "ferrum::access", Level::INFO);
    let error = tracing::enabled!(target: "ferrum::access", Level::ERROR);
    let _ = JSON_SINK.set(JsonSink { write: sink, info, error });
}

/// Writes the access line for one request, if the `ferrum::access` filter lets it through.
pub fn log_access(record: &AccessRecord<'_>) {
    let Some(sink) = JSON_SINK.get() else {
        return log_as_event(record);
    };
    if !(if record.error.is_some() { sink.error } else { sink.info }) {
        return;
    }
    LINE.with_borrow_mut(|line| {
        if write_json(line, record, SystemTime::now()).is_ok() {
            (sink.write)(line.text.as_bytes());
        }
    });
}

/// The line as the JSON event formatter would print the same event, in `buffer.text`.
fn write_json(buffer: &mut Line, record: &AccessRecord<'_>, now: SystemTime) -> std::fmt::Result {
    let Line { text: line, client: last_client } = buffer;
    let client = match record.client {
        Some(ip) => last_client.text_of(ip)?,
        None => "-",
    };
    line.clear();
    line.push_str("{\"timestamp\":\"");
    write_timestamp(line, now)?;
    line.push_str(if record.error.is_some() { "\",\"level\":\"ERROR\"" } else { "\",\"level\":\"INFO\"" });
    line.push_str(",\"request_id\":");
    write_plain_string(line, record.request_id);
    line.push_str(",\"method\":");
    write_plain_string(line, record.method);
    line.push_str(",\"route\":");
    write_plain_string(line, record.route.unwrap_or("-"));
    line.push_str(",\"path\":");
    write_string(line, record.path)?;
    line.push_str(",\"status\":");
    line.push_str(itoa::Buffer::new().format(record.status));
    // Milliseconds with three decimals, from whole microseconds in integer arithmetic (a u64:
    // half a million years; formatting a u128 costs twice as much).
    let micros = u64::try_from(record.latency.as_micros()).unwrap_or(u64::MAX);
    line.push_str(",\"latency_ms\":");
    line.push_str(itoa::Buffer::new().format(micros / 1000));
    line.push('.');
    line.push_str(&itoa::Buffer::new().format(1000 + micros % 1000)[1..]);
    if let Some(bytes) = record.bytes {
        line.push_str(",\"bytes\":");
        line.push_str(itoa::Buffer::new().format(bytes));
    }
    line.push_str(",\"client\":\"");
    line.push_str(client);
    line.push('"');
    match record.error {
        Some(error) => {
            line.push_str(",\"error\":");
            write_string(line, error)?;
            line.push_str(",\"message\":\"request failed\"");
        }
        None => line.push_str(",\"message\":\"request\""),
    }
    line.push_str(",\"target\":\"ferrum::access\"}\n");
    Ok(())
}

/// A JSON string literal of text that needs no escaping: a method is an HTTP token, a route
/// template is ours and a request id is checked when it arrives; none has quotes, backslashes
/// or control characters. Skipping the check matters here: it runs for every request.
fn write_plain_string(line: &mut String, text: &str) {
    debug_assert!(!text.bytes().any(|byte| byte < 0x20 || byte == b'"' || byte == b'\\'), "{text}");
    line.push('"');
    line.push_str(text);
    line.push('"');
}

/// The same line as a `tracing` event, for the pretty format (and for a process whose
/// subscriber was not installed by `telemetry::init`, such as a test's).
fn log_as_event(record: &AccessRecord<'_>) {
    let AccessRecord { request_id, method, route, path, status, latency, bytes, client, error } = *record;
    let route = route.unwrap_or("-");
    let latency_ms = latency.as_micros() as f64 / 1000.0;
    let client = tracing::field::display(Peer(client));
    match error {
        Some(error) => tracing::error!(
            target: "ferrum::access", request_id, method, route, path, status, latency_ms, bytes, client, error,
            "request failed"
        ),
        None => tracing::info!(
            target: "ferrum::access", request_id, method, route, path, status, latency_ms, bytes, client, "request"
        ),
    }
}

/// The peer's address, or `-`.
struct Peer(Option<IpAddr>);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(ip) => ip.fmt(f),
            None => f.write_str("-"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn record() -> AccessRecord<'static> {
        AccessRecord {
            request_id: "r-1",
            method: "GET",
            route: Some("/api/v1/patients/{id}"),
            path: "/api/v1/patients/7",
            status: 200,
            latency: Duration::from_micros(1_042),
            bytes: Some(57),
            client: Some("10.0.0.255".parse().unwrap()),
            error: None,
        }
    }

    fn json(record: &AccessRecord<'_>) -> serde_json::Value {
        let mut buffer = Line::new();
        write_json(&mut buffer, record, UNIX_EPOCH + Duration::from_micros(1_795_000_000_000_042)).unwrap();
        let line = buffer.text;
        assert!(line.ends_with("}\n") && line.matches('\n').count() == 1, "{line}");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    #[test]
    fn a_line_holds_every_field_spec_names() {
        assert_eq!(
            json(&record()),
            serde_json::json!({
                "timestamp": "2026-11-18T11:06:40.000042Z", "level": "INFO", "message": "request",
                "target": "ferrum::access", "request_id": "r-1", "method": "GET",
                "route": "/api/v1/patients/{id}", "path": "/api/v1/patients/7", "status": 200,
                "latency_ms": 1.042, "bytes": 57, "client": "10.0.0.255",
            })
        );
    }

    #[test]
    fn failures_unknown_values_and_odd_text_stay_valid_json() {
        let failed = AccessRecord {
            route: None,
            path: "/a\"b\\c\u{1}",
            status: 500,
            latency: Duration::from_micros(7),
            bytes: None,
            client: Some("::1".parse().unwrap()),
            error: Some("disk \"full\"\n"),
            ..record()
        };
        let line = json(&failed);
        assert_eq!(line["level"], "ERROR");
        assert_eq!(line["message"], "request failed");
        assert_eq!(line["error"], "disk \"full\"\n");
        assert_eq!(line["route"], "-");
        assert_eq!(line["path"], "/a\"b\\c\u{1}");
        assert_eq!(line["latency_ms"], 0.007);
        assert_eq!(line["client"], "::1");
        assert!(line.get("bytes").is_none());
        assert_eq!(json(&AccessRecord { client: None, ..record() })["client"], "-");
    }

    #[test]
    fn a_thread_s_lines_name_each_request_s_own_client() {
        let mut buffer = Line::new();
        let mut client_of = |client: Option<&str>| {
            let record = AccessRecord { client: client.map(|ip| ip.parse().unwrap()), ..record() };
            write_json(&mut buffer, &record, UNIX_EPOCH).unwrap();
            serde_json::from_str::<serde_json::Value>(&buffer.text).unwrap()["client"].clone()
        };
        for client in ["10.0.0.1", "10.0.0.1", "192.168.7.20", "2001:db8::7", "10.0.0.1"] {
            assert_eq!(client_of(Some(client)), client);
        }
        assert_eq!(client_of(None), "-");
        assert_eq!(client_of(Some("10.0.0.1")), "10.0.0.1");
    }
}
