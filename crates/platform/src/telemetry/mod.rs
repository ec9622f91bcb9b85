//! Structured logs: JSON lines by default, human-readable when asked.

use std::io::Write as _;

use tracing::Subscriber;
use tracing_subscriber::{
    EnvFilter,
    fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter, format::Writer},
    layer::SubscriberExt,
    registry::LookupSpan,
    util::SubscriberInitExt,
};

use crate::config::LogFormat;

mod access;
mod batch_writer;
mod context;
mod json;

pub use access::{AccessRecord, log_access};
pub use batch_writer::{BatchWriter, FlushGuard};
pub(crate) use context::scoped;
#[cfg(test)]
pub(crate) use context::with_request_id;
pub use context::{InRequest, RequestScope, in_request};

/// Installs the global subscriber writing to `writer`; a second call is a no-op (tests).
///
/// `filter` is a level (`info`) or a `RUST_LOG`-style directive list, already validated by config.
pub fn init<W>(format: LogFormat, filter: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => {
            let layer = tracing_subscriber::fmt::layer()
                .fmt_fields(json::JsonMembers)
                .event_format(json::JsonLine)
                .with_writer(writer.clone());
            if registry.with(layer).try_init().is_ok() {
                // Errors are dropped, as the subscriber drops them: there is nowhere to report them.
                access::write_json_to(Box::new(move |line| {
                    let _ = writer.make_writer().write_all(line);
                }));
            }
        }
        LogFormat::Pretty => {
            let format = WithRequestId(tracing_subscriber::fmt::format());
            let _ = registry.with(tracing_subscriber::fmt::layer().event_format(format).with_writer(writer)).try_init();
        }
    }
}

/// The pretty format, each line inside a request starting with its request id.
struct WithRequestId<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithRequestId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        context::with_request_id(|id| match id {
            Some(id) => write!(writer, "request_id={id} "),
            None => Ok(()),
        })?;
        self.0.format_event(ctx, writer, event)
    }
}

/// A writer that keeps what is logged, for tests.
#[cfg(test)]
pub(crate) mod test_lines {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    pub(crate) struct Lines(Arc<Mutex<Vec<u8>>>);

    impl Lines {
        pub(crate) fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().map_err(|_| io::Error::other("poisoned"))?.extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::{test_lines::Lines, *};

    #[tokio::test]
    async fn pretty_lines_inside_a_request_start_with_its_id() {
        let lines = Lines::default();
        let format = WithRequestId(tracing_subscriber::fmt::format().with_ansi(false));
        let layer = tracing_subscriber::fmt::layer().event_format(format).with_writer(lines.clone());
        let subscriber = tracing_subscriber::registry().with(layer);
        let _default = tracing::subscriber::set_default(subscriber);
        in_request(HeaderValue::from_static("r-3"), async { tracing::warn!("inside") }).await;
        tracing::warn!("outside");
        let text = lines.text();
        let logged: Vec<&str> = text.lines().collect();
        assert_eq!(logged.len(), 2, "{text}");
        assert!(logged[0].starts_with("request_id=r-3 ") && logged[0].ends_with("inside"), "{text}");
        assert!(!logged[1].contains("request_id") && logged[1].ends_with("outside"), "{text}");
    }
}
