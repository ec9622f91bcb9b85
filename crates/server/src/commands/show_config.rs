//! `ferrum config`: the effective configuration, one `VARIABLE=value` line per setting with
//! where the value came from, secrets masked. Read from clap's matches, so it can never drift
//! from what `serve` would use.

use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, parser::ValueSource};
use url::Url;

use crate::{Cli, Config};

/// Settings whose values are secrets.
const SECRETS: &[&str] = &["FERRUM_HTTP_JWT_SIGNING_KEY", "FERRUM_DATABASE_PASSWORD"];
/// Settings holding URLs whose password must be masked.
const URLS: &[&str] = &["FERRUM_DATABASE_URL", "DATABASE_URL"];

/// Prints the settings of `ferrum config` (the same ones `serve` reads).
pub fn show_config(config: &Config, matches: &ArgMatches) -> ExitCode {
    let command = Cli::command();
    let Some(serve) = command.find_subcommand("config") else { return ExitCode::FAILURE };
    for arg in serve.get_arguments() {
        let Some(env) = arg.get_env().map(|e| e.to_string_lossy().into_owned()) else { continue };
        let id = arg.get_id().as_str();
        let Ok(Some(raw)) = matches.try_get_raw(id) else {
            println!("{env}=  # unset");
            continue;
        };
        let value = raw.map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",");
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            _ => "default",
        };
        println!("{env}={}  # {source}", mask(&env, &value));
    }
    println!("# database: {:?}", config.db.resolved_url());
    ExitCode::SUCCESS
}

fn mask(env: &str, value: &str) -> String {
    if SECRETS.contains(&env) {
        return "********".into();
    }
    if URLS.contains(&env) {
        if let Ok(mut url) = Url::parse(value) {
            if url.password().is_some() {
                let _ = url.set_password(Some("********"));
            }
            return url.to_string();
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_secrets_and_url_passwords() {
        assert_eq!(mask("FERRUM_HTTP_JWT_SIGNING_KEY", "k"), "********");
        assert_eq!(mask("FERRUM_DATABASE_URL", "postgres://u:pw@h/db"), "postgres://u:********@h/db");
        assert_eq!(mask("FERRUM_HTTP_REQUEST_TIMEOUT", "3s"), "3s");
    }
}
