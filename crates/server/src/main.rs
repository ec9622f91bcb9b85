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
    telemetry::init(config.log.format, &config.log.level, std::io::stdout);
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
