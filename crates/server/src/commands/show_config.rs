//! `ferrum config`: the effective configuration, one `VARIABLE=value  # source` line per
//! setting (flag, environment, default or unset), secrets masked; see [`crate::settings`].

use std::process::ExitCode;

use crate::{Config, settings::ConfigReport};

/// Prints the settings `serve` would run with.
pub fn show_config(config: &Config) -> ExitCode {
    for line in ConfigReport::of(config).lines() {
        println!("{line}");
    }
    ExitCode::SUCCESS
}
