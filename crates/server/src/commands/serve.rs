//! `ferrum serve`: log, bind, serve until SIGINT or SIGTERM.

use std::process::ExitCode;

use ferrum_platform::{
    config::LogConfig,
    shutdown,
    telemetry::{self, BatchWriter, FlushGuard},
};

use crate::{App, BUILD, Config};

/// Serves until stopped; exit 0 after a clean stop.
pub fn serve(config: Config) -> ExitCode {
    if let Err(message) = config.check() {
        return super::config_error(&message);
    }
    let _flush_on_exit = init_logs(&config.log);
    tracing::info!(version = BUILD.version, build_date = BUILD.build_date, ?config, "starting ferrum");
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
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

/// JSON (or pretty) logs on stdout, panics included. Lines are formatted on the caller's thread
/// and written by a background thread in batches (`telemetry::BatchWriter`). Not lossy: a
/// backlog slows requests rather than dropping lines. The returned guard writes out what is
/// buffered when dropped. `None` when the writer thread cannot start; logs then go to stdout
/// line by line.
pub(crate) fn init_logs(log: &LogConfig) -> Option<FlushGuard> {
    let guard = match BatchWriter::new(std::io::stdout()) {
        Ok((writer, guard)) => {
            telemetry::init(log.format, &log.level, writer);
            Some(guard)
        }
        Err(_) => {
            telemetry::init(log.format, &log.level, std::io::stdout);
            None
        }
    };
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));
    guard
}
