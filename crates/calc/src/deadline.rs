//! When a call must be answered by (SPEC 6: "every call honours the client deadline and the
//! server's request timeout"): the sooner of the client's `grpc-timeout` and the server's
//! `FERRUM_HTTP_REQUEST_TIMEOUT`. tonic enforces `grpc-timeout` only in its own server, not in
//! routes mounted on axum, so it is read here.

use std::time::Duration;

use tonic::metadata::MetadataMap;

/// The header a gRPC client states its deadline in (gRPC over HTTP/2, "Timeout").
const GRPC_TIMEOUT: &str = "grpc-timeout";

/// The time a call may take: the client's deadline when it sent one and it is sooner than
/// `server_timeout`, else `server_timeout`. An unreadable `grpc-timeout` is ignored, as
/// gRPC servers do, rather than failing a call that would otherwise succeed.
pub fn time_allowed(metadata: &MetadataMap, server_timeout: Duration) -> Duration {
    let client = metadata.get(GRPC_TIMEOUT).and_then(|value| value.to_str().ok()).and_then(parse_grpc_timeout);
    client.map_or(server_timeout, |client| client.min(server_timeout))
}

/// `TimeoutValue TimeoutUnit`: at most 8 digits, then H, M, S, m, u or n.
fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let digits = &text[..text.len() - unit.len_utf8()];
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = digits.parse().ok()?;
    Some(match unit {
        'H' => Duration::from_secs(value * 3600),
        'M' => Duration::from_secs(value * 60),
        'S' => Duration::from_secs(value),
        'm' => Duration::from_millis(value),
        'u' => Duration::from_micros(value),
        'n' => Duration::from_nanos(value),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_unit() {
        assert_eq!(parse_grpc_timeout("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_grpc_timeout("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse_grpc_timeout("10S"), Some(Duration::from_secs(10)));
        assert_eq!(parse_grpc_timeout("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse_grpc_timeout("99999999u"), Some(Duration::from_micros(99_999_999)));
        assert_eq!(parse_grpc_timeout("1n"), Some(Duration::from_nanos(1)));
    }

    #[test]
    fn refuses_what_the_protocol_does_not_allow() {
        for bad in ["", "S", "100", "123456789S", "10s", "-1S", "1.5S", "10 S", "5é"] {
            assert_eq!(parse_grpc_timeout(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_sooner_deadline_wins() {
        let server = Duration::from_secs(3);
        let mut metadata = MetadataMap::new();
        assert_eq!(time_allowed(&metadata, server), server);
        metadata.insert(GRPC_TIMEOUT, "100m".parse().unwrap());
        assert_eq!(time_allowed(&metadata, server), Duration::from_millis(100));
        metadata.insert(GRPC_TIMEOUT, "1M".parse().unwrap());
        assert_eq!(time_allowed(&metadata, server), server);
        metadata.insert(GRPC_TIMEOUT, "soon".parse().unwrap());
        assert_eq!(time_allowed(&metadata, server), server);
    }
}
