//! Structured logs: JSON lines by default, human-readable when asked.

use tracing_subscriber::{EnvFilter, fmt::MakeWriter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::config::LogFormat;

mod batch_writer;
mod json;

pub use batch_writer::{BatchWriter, FlushGuard};

/// Installs the global subscriber writing to `writer`; a second call is a no-op (tests).
///
/// `filter` is a level (`info`) or a `RUST_LOG`-style directive list, already validated by config.
pub fn init<W>(format: LogFormat, filter: &str, writer: W)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    let _ = match format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(json::JsonMembers)
                    .event_format(json::JsonLine)
                    .with_writer(writer),
            )
            .try_init(),
        LogFormat::Pretty => registry.with(tracing_subscriber::fmt::layer().with_writer(writer)).try_init(),
    };
}
