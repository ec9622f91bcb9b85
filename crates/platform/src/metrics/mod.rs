//! Prometheus metrics (SPEC 1.6): `GET /metrics` in the text format, no auth.
//!
//! HTTP request series are recorded by the edge through [`Metrics::record_request`], into
//! atomics of our own (`requests`, which says why), gRPC calls by the layer [`track_grpc`] puts
//! on the gRPC routes;
//! gauges (in-flight requests, database connections) and the process series are read when
//! Prometheus scrapes, so they cost nothing between scrapes. The series are listed in README.md.
//!
//! Each server owns its recorder instead of installing the process-global one: tests run many
//! servers in one process, a global recorder can be installed only once, and one shared registry
//! would mix their counts. The exporter's series are registered through the `metrics` macros under
//! [`metrics::with_local_recorder`], which only needs the recorder for the registration itself;
//! the returned handles then record into it from any thread.

mod grpc;
mod process;
mod requests;

use std::{
    collections::HashMap,
    fmt,
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicI64, Ordering},
    },
    time::Duration,
};

use axum::{
    extract::State,
    http::{HeaderValue, Method, StatusCode, header},
    response::IntoResponse,
};
use metrics::Unit;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use parking_lot::RwLock;
use utoipa_axum::{router::OpenApiRouter, routes};

use self::requests::{DURATION_BUCKETS, RequestSeries};
use crate::{
    BuildInfo, Db,
    db::{PoolStats, SqliteStats},
};

pub use grpc::{GRPC_HANDLED, GRPC_HANDLING, track_grpc};

/// Requests served, per method, route template and status.
pub const REQUESTS: &str = "http_requests_total";
/// Time to the response head, per method, route template and status.
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";
/// Requests being served right now.
pub const IN_FLIGHT: &str = "http_requests_in_flight";
/// `1`, labelled with the version and build date.
pub const BUILD_INFO: &str = "ferrum_build_info";

/// The route label of requests that matched no route: the raw path would be unbounded.
pub const UNMATCHED: &str = "unmatched";

/// How often buffered gRPC latency samples are folded into the histogram buckets. The exporter
/// buffers every sample until then, so this bounds that memory when nobody scrapes. (The HTTP
/// request series are counted into their buckets at once: `requests`.)
pub const UPKEEP_PERIOD: Duration = Duration::from_secs(5);

/// One server's metrics: its recorder and the handles the request path records into.
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    in_flight: AtomicI64,
    /// Request series by route template, kept here rather than in the exporter
    /// (`requests`): recording a request costs a map lookup and three atomic adds, with no
    /// allocation.
    series: RwLock<HashMap<Box<str>, Vec<RequestSeries>, foldhash::fast::RandomState>>,
    /// gRPC call series, recorded by [`track_grpc`].
    grpc: grpc::GrpcSeries,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").field("in_flight", &self.in_flight).finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry holding the build info series.
    pub fn new(build: BuildInfo) -> Self {
        let builder = PrometheusBuilder::new();
        // This only refuses an empty bucket list, which DURATION_BUCKETS is not.
        let builder = builder
            .set_buckets_for_metric(Matcher::Full(GRPC_HANDLING.into()), &DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            metrics::gauge!(BUILD_INFO, "version" => build.version, "build_date" => build.build_date).set(1.0);
        });
        Self {
            recorder,
            handle,
            in_flight: AtomicI64::new(0),
            series: RwLock::new(HashMap::default()),
            grpc: grpc::GrpcSeries::default(),
        }
    }

    /// Runs `register` with this server's recorder installed, so the series the `metrics`
    /// macros create in it belong to this registry.
    fn with_recorder<T>(&self, register: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, register)
    }

    /// Counts a request as in flight until the returned guard drops (also when the client
    /// goes away and the request's future is dropped). The guard owns a handle on the metrics,
    /// so a request's future can keep it with no borrow, and record through it.
    pub fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// Records one finished request. `route` is the matched route template, `None` when no
    /// route matched; never the raw path, so ids do not become series.
    pub fn record_request(&self, method: &Method, route: Option<&str>, status: StatusCode, elapsed: Duration) {
        let method = method_label(method);
        let route = route.unwrap_or(UNMATCHED);
        let status = status.as_u16();
        if let Some(known) = self.series.read().get(route).and_then(|list| list.iter().find(|s| s.is(method, status))) {
            known.observe(elapsed);
            return;
        }
        // First request of this method, route and status: register its series once.
        let mut series = self.series.write();
        let list = series.entry(route.into()).or_default();
        let index = match list.iter().position(|s| s.is(method, status)) {
            Some(index) => index,
            None => {
                list.push(RequestSeries::new(method, status));
                list.len() - 1
            }
        };
        list[index].observe(elapsed);
    }

    /// Renders every series, reading the gauges now: in-flight requests, the database's
    /// connections (when connected) and the process.
    pub fn render(&self, db: Option<&Db>) -> String {
        metrics::with_local_recorder(&self.recorder, || {
            metrics::gauge!(IN_FLIGHT).set(self.in_flight.load(Ordering::Relaxed) as f64);
            if let Some(db) = db {
                record_pool(db.pool_stats());
            }
        });
        let mut text = self.handle.render();
        {
            let series = self.series.read();
            let each = series.iter().flat_map(|(route, list)| list.iter().map(move |one| (&**route, one)));
            requests::render(&mut text, each);
        }
        process::render(&mut text);
        text
    }

    /// Folds buffered gRPC latency samples into their histograms every [`UPKEEP_PERIOD`] until
    /// `stop` resolves. Spawn it beside the server.
    pub async fn run_upkeep(self: Arc<Self>, stop: impl Future<Output = ()>) {
        let mut every = tokio::time::interval(UPKEEP_PERIOD);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                _ = every.tick() => self.handle.run_upkeep(),
                () = &mut stop => return,
            }
        }
    }
}

/// Keeps a request counted in `http_requests_in_flight` while it lives.
#[derive(Debug)]
pub struct InFlight(Arc<Metrics>);

impl InFlight {
    /// The metrics this request counts in.
    pub fn metrics(&self) -> &Metrics {
        &self.0
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /metrics`, with its part of the OpenAPI document; `db` is `None` while the server still
/// waits for its database.
pub fn routes(metrics: Arc<Metrics>, db: Option<Db>) -> OpenApiRouter {
    OpenApiRouter::default().routes(routes!(scrape)).with_state((metrics, db))
}

/// Prometheus metrics (mounted unless --metrics false).
///
/// The text exposition format: requests by method, route template and status, their latency,
/// requests in flight, the database pool, the process and the build. Never rate limited.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "The series, Prometheus text format 0.0.4.",
        content((String = "text/plain; version=0.0.4")))))]
async fn scrape(State((metrics, db)): State<(Arc<Metrics>, Option<Db>)>) -> impl IntoResponse {
    // A few hundred lines, and /proc reads that take microseconds: no need to leave the thread.
    let text = metrics.render(db.as_ref());
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], text)
}

/// A bounded method label: the standard methods, and `other` for anything a client invents.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The database series; names per backend, since what can be measured differs.
fn record_pool(stats: PoolStats) {
    match stats {
        PoolStats::Postgres { connections, idle, max_connections, acquire_timeouts } => {
            metrics::gauge!("ferrum_db_pool_connections").set(f64::from(connections));
            metrics::gauge!("ferrum_db_pool_idle_connections").set(idle as f64);
            metrics::gauge!("ferrum_db_pool_max_connections").set(f64::from(max_connections));
            metrics::counter!("ferrum_db_pool_acquire_timeouts_total").absolute(acquire_timeouts);
        }
        PoolStats::Sqlite(SqliteStats { connections, read_waits, queued_writes }) => {
            metrics::gauge!("ferrum_db_pool_connections").set(connections as f64);
            metrics::gauge!("ferrum_db_sqlite_write_queue_depth").set(queued_writes as f64);
            metrics::counter!("ferrum_db_sqlite_read_waits_total").absolute(read_waits);
        }
    }
}

/// HELP lines; a description whose series never gets a value is not rendered.
fn describe() {
    metrics::describe_gauge!(IN_FLIGHT, "HTTP requests being served now.");
    metrics::describe_counter!(GRPC_HANDLED, "gRPC calls completed, by service, method and status code.");
    metrics::describe_histogram!(
        GRPC_HANDLING,
        Unit::Seconds,
        "Time from receiving a gRPC call to its status, by service and method."
    );
    metrics::describe_gauge!(BUILD_INFO, "Always 1; the labels name the running build.");
    metrics::describe_gauge!("ferrum_db_pool_connections", "Open database connections, idle or in use.");
    metrics::describe_gauge!("ferrum_db_pool_idle_connections", "Open PostgreSQL connections not in use.");
    metrics::describe_gauge!("ferrum_db_pool_max_connections", "The most PostgreSQL connections the pool opens.");
    metrics::describe_counter!(
        "ferrum_db_pool_acquire_timeouts_total",
        "Requests that gave up waiting for a PostgreSQL connection."
    );
    metrics::describe_gauge!("ferrum_db_sqlite_write_queue_depth", "Writes waiting for the SQLite writer thread.");
    metrics::describe_counter!(
        "ferrum_db_sqlite_read_waits_total",
        "SQLite reads that found every read connection busy and waited."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build() -> BuildInfo {
        BuildInfo { version: "1.2.3", build_date: "2026-01-02" }
    }

    #[test]
    fn records_by_route_template_with_bounded_labels() {
        let metrics = Metrics::new(build());
        let route = Some("/items/{id}");
        metrics.record_request(&Method::GET, route, StatusCode::OK, Duration::from_millis(3));
        metrics.record_request(&Method::GET, route, StatusCode::OK, Duration::from_millis(30));
        metrics.record_request(&Method::GET, route, StatusCode::NOT_FOUND, Duration::from_micros(200));
        metrics.record_request(&Method::from_bytes(b"BREW").unwrap(), None, StatusCode::NOT_FOUND, Duration::ZERO);
        let text = metrics.render(None);
        assert!(text.contains(r#"http_requests_total{method="GET",route="/items/{id}",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"http_requests_total{method="GET",route="/items/{id}",status="404"} 1"#), "{text}");
        assert!(text.contains(r#"http_requests_total{method="other",route="unmatched",status="404"} 1"#), "{text}");
        assert!(
            text.contains(
                r#"http_request_duration_seconds_bucket{method="GET",route="/items/{id}",status="200",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"ferrum_build_info{version="1.2.3",build_date="2026-01-02"} 1"#), "{text}");
        assert!(text.contains("http_requests_in_flight 0"), "{text}");
    }

    #[test]
    fn in_flight_counts_live_guards() {
        let metrics = Arc::new(Metrics::new(build()));
        let first = metrics.start_request();
        let second = metrics.start_request();
        drop(first);
        assert!(metrics.render(None).contains("http_requests_in_flight 1"));
        drop(second);
        assert!(metrics.render(None).contains("http_requests_in_flight 0"));
    }

    #[test]
    fn two_registries_do_not_share_counts() {
        let (one, two) = (Metrics::new(build()), Metrics::new(build()));
        one.record_request(&Method::GET, Some("/x"), StatusCode::OK, Duration::ZERO);
        assert!(one.render(None).contains(r#"route="/x""#));
        assert!(!two.render(None).contains(r#"route="/x""#));
    }
}
