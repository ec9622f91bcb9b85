//! `ferrum`: read the configuration, start logging, serve until SIGINT or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use ferrum_platform::{shutdown, telemetry};
use ferrum_server::{App, BUILD, Cli};

fn main() -> ExitCode {
    // A missing .env is the normal case; a malformed one is reported by clap's checks below.
    let _ = dotenvy::dotenv();
    let config = Cli::parse().into_config();
    if let Err(message) = config.check() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    // Log lines are formatted on the request's thread but written by a background thread in
    // batches: one write per burst instead of one per request (about 1.6x the throughput of
    // /health/live with access logs on, BENCHMARKS.md). Not lossy: a full queue slows requests
    // rather than dropping lines. The guard flushes what is queued when main returns.
    let (writer, _flush_on_exit) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("log-writer")
        .finish(std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout()));
    telemetry::init(config.log.format, &config.log.level, writer);
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));
    tracing::info!(version = BUILD.version, build_date = BUILD.build_date, ?config, "starting ferrum");

    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let app = App::bind(config, BUILD)?;
        app.run(shutdown::signal()).await
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "ferrum stopped");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
