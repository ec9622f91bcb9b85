//! `ferrum`: read `.env`, the flags and the environment, then run one command (SPEC 1.2).

use std::process::ExitCode;

use clap::CommandFactory;
use ferrum_server::{
    Cli,
    commands::{healthcheck, migrate, serve, show_config, token},
    config::Command,
};

fn main() -> ExitCode {
    // A missing .env is the normal case.
    let _ = dotenvy::dotenv();
    let cli = Cli::from_matches(&Cli::command().get_matches()).unwrap_or_else(|error| error.exit());
    match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(config)) => serve(config),
        Some(Command::Migrate(config)) => migrate(config),
        Some(Command::Healthcheck(args)) => healthcheck(&args),
        Some(Command::Token(args)) => token(&args),
        Some(Command::Config(config)) => show_config(&config),
    }
}
