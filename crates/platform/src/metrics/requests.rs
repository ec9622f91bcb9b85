//! The HTTP request series: `http_requests_total` and `http_request_duration_seconds`, per
//! method, route template and status, kept in plain atomics and written out in the text format
//! at scrape time.
//!
//! Written here rather than recorded through the exporter's handles: its histogram buffers
//! every sample (a lock-free bucket behind an epoch guard) until its upkeep folds them into
//! buckets, so memory grew with the request rate: about 10 MB more resident memory after four
//! seconds of load on `/health/live` (BENCHMARKS.md). Here a request is three relaxed atomic
//! adds, with nothing kept: its bucket, the count (which is also `http_requests_total`) and the
//! sum.

use std::{
    fmt::Write as _,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use super::{REQUEST_DURATION, REQUESTS};

/// Latency buckets in seconds: fine below 10 ms, where a healthy request lands, up to the
/// longest request timeout anyone should configure.
pub(super) const DURATION_BUCKETS: [f64; 14] =
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// [`DURATION_BUCKETS`] in whole nanoseconds, which a request's latency is compared with.
const BUCKET_NANOS: [u64; 14] = [
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// The count and latency of one method, route and status.
pub(super) struct RequestSeries {
    method: &'static str,
    status: u16,
    /// Requests per bucket: `buckets[i]` counts latencies above the previous bound and at most
    /// `DURATION_BUCKETS[i]`; those above the last bound are only in `count`.
    buckets: [AtomicU64; DURATION_BUCKETS.len()],
    count: AtomicU64,
    /// Whole nanoseconds: 584 years of latency before it wraps.
    sum_nanos: AtomicU64,
}

impl RequestSeries {
    pub(super) fn new(method: &'static str, status: u16) -> Self {
        Self { method, status, buckets: Default::default(), count: AtomicU64::new(0), sum_nanos: AtomicU64::new(0) }
    }

    pub(super) fn is(&self, method: &str, status: u16) -> bool {
        self.method == method && self.status == status
    }

    pub(super) fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        // `le` bounds are inclusive: the first bucket whose bound is not below the latency.
        // Looked for from the smallest, in integers: most requests land in the first bucket or
        // two, one or two well-predicted comparisons, where a binary search over the floats
        // took four and mispredicted.
        if let Some(bucket) = BUCKET_NANOS.iter().position(|bound| nanos <= *bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Appends both families of `series` (route template, then its series) to `text`; nothing when
/// there is no request yet.
pub(super) fn render<'a>(text: &mut String, series: impl Iterator<Item = (&'a str, &'a RequestSeries)> + Clone) {
    if series.clone().next().is_none() {
        return;
    }
    // Writing to a String cannot fail.
    let _ = writeln!(text, "# HELP {REQUESTS} HTTP requests served, by method, route template and status.");
    let _ = writeln!(text, "# TYPE {REQUESTS} counter");
    for (route, one) in series.clone() {
        let labels = labels(one.method, route, one.status);
        let _ = writeln!(text, "{REQUESTS}{{{labels}}} {}", one.count.load(Ordering::Relaxed));
    }
    let _ =
        writeln!(text, "\n# HELP {REQUEST_DURATION} Time from receiving an HTTP request to sending its response head.");
    let _ = writeln!(text, "# TYPE {REQUEST_DURATION} histogram");
    for (route, one) in series {
        let labels = labels(one.method, route, one.status);
        // Requests may be recorded while this reads: a bucket can then count one that the count,
        // read first, does not. Capped by the count, the buckets stay at most `+Inf`.
        let count = one.count.load(Ordering::Relaxed);
        let mut below = 0;
        for (bound, bucket) in DURATION_BUCKETS.iter().zip(&one.buckets) {
            below = (below + bucket.load(Ordering::Relaxed)).min(count);
            let _ = writeln!(text, "{REQUEST_DURATION}_bucket{{{labels},le=\"{bound}\"}} {below}");
        }
        let _ = writeln!(text, "{REQUEST_DURATION}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = Duration::from_nanos(one.sum_nanos.load(Ordering::Relaxed)).as_secs_f64();
        let _ = writeln!(text, "{REQUEST_DURATION}_sum{{{labels}}} {sum}");
        let _ = writeln!(text, "{REQUEST_DURATION}_count{{{labels}}} {count}");
    }
    text.push('\n');
}

/// The labels of one series. The method is one of a bounded set and the route one of ours, but
/// a label value is escaped anyway as the format asks (`\`, `"`, newline).
fn labels(method: &str, route: &str, status: u16) -> String {
    let mut labels = format!("method=\"{method}\",route=\"");
    for c in route.chars() {
        match c {
            '\\' => labels.push_str("\\\\"),
            '"' => labels.push_str("\\\""),
            '\n' => labels.push_str("\\n"),
            c => labels.push(c),
        }
    }
    let _ = write!(labels, "\",status=\"{status}\"");
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered(series: &[(&str, &RequestSeries)]) -> String {
        let mut text = String::new();
        render(&mut text, series.iter().copied());
        text
    }

    #[test]
    fn latencies_land_in_the_first_bucket_whose_bound_holds_them() {
        let series = RequestSeries::new("GET", 200);
        for micros in [0, 500, 501, 2_000, 10_000_000, 10_000_001, 60_000_000] {
            series.observe(Duration::from_micros(micros));
        }
        let text = rendered(&[("/x", &series)]);
        let bucket = |le: &str| {
            let prefix =
                format!("{REQUEST_DURATION}_bucket{{method=\"GET\",route=\"/x\",status=\"200\",le=\"{le}\"}} ");
            text.lines().find_map(|line| line.strip_prefix(&prefix)).map(str::to_owned)
        };
        assert_eq!(bucket("0.0005").as_deref(), Some("2"), "0 and exactly 0.5 ms: {text}");
        assert_eq!(bucket("0.001").as_deref(), Some("3"), "{text}");
        assert_eq!(bucket("0.0025").as_deref(), Some("4"), "{text}");
        assert_eq!(bucket("10").as_deref(), Some("5"), "exactly 10 s: {text}");
        assert_eq!(bucket("+Inf").as_deref(), Some("7"), "{text}");
        assert!(text.contains(&format!("{REQUESTS}{{method=\"GET\",route=\"/x\",status=\"200\"}} 7")), "{text}");
        assert!(text.contains(&format!("{REQUEST_DURATION}_count{{method=\"GET\",route=\"/x\",status=\"200\"}} 7")));
        let sum = 0.0005 + 0.000501 + 0.002 + 10.0 + 10.000001 + 60.0;
        let line = format!("{REQUEST_DURATION}_sum{{method=\"GET\",route=\"/x\",status=\"200\"}} ");
        let rendered_sum: f64 = text.lines().find_map(|l| l.strip_prefix(&line)).unwrap().parse().unwrap();
        assert!((rendered_sum - sum).abs() < 1e-9, "{rendered_sum} against {sum}");
    }

    #[test]
    fn the_integer_bounds_are_the_rendered_ones() {
        for (nanos, seconds) in BUCKET_NANOS.iter().zip(DURATION_BUCKETS) {
            assert_eq!(*nanos as f64 / 1e9, seconds, "{nanos}");
        }
    }

    #[test]
    fn families_are_typed_once_and_labels_are_escaped() {
        let (one, two) = (RequestSeries::new("GET", 200), RequestSeries::new("POST", 201));
        one.observe(Duration::from_millis(1));
        let text = rendered(&[("/a", &one), ("/b\"\\", &two)]);
        assert_eq!(text.matches(&format!("# TYPE {REQUESTS} counter")).count(), 1, "{text}");
        assert_eq!(text.matches(&format!("# TYPE {REQUEST_DURATION} histogram")).count(), 1, "{text}");
        assert!(text.contains(r#"route="/b\"\\",status="201"} 0"#), "{text}");
        assert!(rendered(&[]).is_empty());
    }
}
