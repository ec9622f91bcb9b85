//! `ferrum-cli`: a client for the calc gRPC service (SPEC 6), interactive (`connect`) or one
//! command at a time (`calc`). Exit status: 0 when done, 1 when the server cannot be reached
//! or refuses a one-shot command, 2 for a usage error (bad arguments, or no command at all).

mod client;
mod command;
mod repl;

use std::{process::ExitCode, time::Duration};

use clap::{CommandFactory, Parser, Subcommand};

use crate::client::{Calc, DEFAULT_ADDRESS};

/// A client for Ferrum's gRPC calculator.
#[derive(Debug, Parser)]
#[command(name = "ferrum-cli", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Verb>,
    /// Seconds to wait for the server to answer when connecting (fractions allowed: 0.5). The
    /// default leaves time within SPEC 6's 5 s for the process itself.
    #[arg(
        long,
        global = true,
        env = "FERRUM_CALC_CONNECT_TIMEOUT",
        default_value = "4",
        value_parser = parse_seconds,
        value_name = "SECONDS"
    )]
    connect_timeout: Duration,
}

/// A positive number of seconds, whole or not.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text.trim().parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    match Duration::try_from_secs_f64(seconds) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!("`{text}`: the timeout must be a positive number of seconds")),
    }
}

const AFTER_HELP: &str = "\
Examples:
  ferrum-cli connect localhost:8080     then: add 2 5, max 2 5, np 2 12, help, exit
  ferrum-cli calc add 2 5               prints 7
  echo 'np 1 12 10001' | ferrum-cli connect

Exit status: 0 done, 1 server unreachable or a one-shot command refused, 2 usage error.";

#[derive(Debug, Subcommand)]
enum Verb {
    /// Open an interactive session (commands: add a b, max a b, np n [n...], help, exit).
    Connect {
        /// The server: host:port or http://host:port.
        #[arg(env = "FERRUM_CALC_ADDRESS", default_value = DEFAULT_ADDRESS)]
        address: String,
    },
    /// Run one command and print its result: add a b, max a b or np n [n...].
    Calc {
        /// The server: host:port or http://host:port.
        #[arg(long, env = "FERRUM_CALC_ADDRESS", default_value = DEFAULT_ADDRESS)]
        address: String,
        /// The command and its arguments, e.g. `add 2 5`.
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "COMMAND")]
        words: Vec<String>,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        // No command: the usage, as for a usage error (a script that forgot the command fails).
        None => {
            let _ = Cli::command().print_help();
            ExitCode::from(2)
        }
        Some(Verb::Connect { address }) => match Calc::connect(&address, cli.connect_timeout).await {
            Ok(mut calc) => match repl::run(&mut calc).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&format!("cannot read input: {error}")),
            },
            Err(message) => fail(&message),
        },
        Some(Verb::Calc { address, words }) => one_shot(&address, &words, cli.connect_timeout).await,
    }
}

/// `ferrum-cli calc ...`: parse before connecting, so a bad argument sends nothing.
async fn one_shot(address: &str, words: &[String], connect_timeout: Duration) -> ExitCode {
    let command = match command::parse_words(words) {
        Ok(Some(
            command @ (command::Command::Add(..) | command::Command::Max(..) | command::Command::NthPrimes(_)),
        )) => command,
        Ok(_) => {
            eprintln!("error: calc runs add, max or np (see ferrum-cli help calc)");
            return ExitCode::from(2);
        }
        Err(usage) => {
            eprintln!("error: {usage}");
            return ExitCode::from(2);
        }
    };
    let mut calc = match Calc::connect(address, connect_timeout).await {
        Ok(calc) => calc,
        Err(message) => return fail(&message),
    };
    match calc.run(command).await {
        Ok(answer) => {
            println!("{answer}");
            ExitCode::SUCCESS
        }
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn one_shot_takes_negative_numbers_and_an_address() {
        let cli = Cli::try_parse_from(["ferrum-cli", "calc", "--address", "h:1", "add", "-3", "5"]).unwrap();
        match cli.command {
            Some(Verb::Calc { address, words }) => {
                assert_eq!(address, "h:1");
                assert_eq!(words, ["add", "-3", "5"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_connect_timeout_is_4s_unless_set_in_seconds() {
        let cli = Cli::try_parse_from(["ferrum-cli", "calc", "add", "1", "2"]).unwrap();
        // SPEC 6: an unreachable server is reported within 5 s.
        assert_eq!(cli.connect_timeout, Duration::from_secs(4));
        let cli = Cli::try_parse_from(["ferrum-cli", "connect", "--connect-timeout", "0.25"]).unwrap();
        assert_eq!(cli.connect_timeout, Duration::from_millis(250));
        for bad in ["0", "-1", "soon", "NaN"] {
            let error =
                Cli::try_parse_from(["ferrum-cli", &format!("--connect-timeout={bad}"), "connect"]).unwrap_err();
            assert!(error.to_string().contains(&format!("`{bad}`")), "{bad}: {error}");
        }
    }
}
