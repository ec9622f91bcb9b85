//! One function per `ferrum` command (SPEC 1.2); `main` only dispatches.

mod healthcheck;
mod migrate;
mod serve;
mod show_config;
mod token;

pub use healthcheck::healthcheck;
pub use migrate::migrate;
pub use serve::serve;
pub use show_config::show_config;
pub use token::token;

use std::process::ExitCode;

/// Exit status 2: bad configuration (as clap uses for bad arguments).
fn config_error(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

/// A multi-threaded runtime, or the reason there is none.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|error| {
        eprintln!("error: cannot start the async runtime: {error}");
        ExitCode::FAILURE
    })
}
