//! The effective configuration as operators see it: every setting by its environment variable,
//! its value as given (secrets and URL passwords masked) and where it came from. Read from
//! clap's matches, so it can never drift from what `serve` uses. `ferrum config` prints it and
//! `GET /admin/config` answers it: one reading, two renderings.

use std::fmt;

use clap::{ArgMatches, Args as _, parser::ValueSource};
use ferrum_platform::config::{MASK, Secret};
use serde::Serialize;
use url::Url;
use utoipa::ToSchema;

use crate::Config;

/// Settings whose values are secrets.
const SECRETS: &[&str] = &["FERRUM_HTTP_JWT_SIGNING_KEY", "FERRUM_DATABASE_PASSWORD"];
/// Settings holding URLs whose password must be masked.
const URLS: &[&str] = &["FERRUM_DATABASE_URL", "DATABASE_URL", "FERRUM_RATE_LIMIT_REDIS_URL"];

/// Where a setting's value came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable (or the `.env` file).
    Environment,
    /// The built-in default.
    Default,
    /// Not set, and no default.
    Unset,
}

/// One setting, as `ferrum config` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"variable": "FERRUM_HTTP_REQUEST_TIMEOUT", "value": "3s", "source": "default"}))]
pub struct Setting {
    /// The environment variable that sets it.
    pub variable: String,
    /// The value as given (lists comma-joined), secrets as `********`; null when unset.
    pub value: Option<String>,
    /// Where the value came from.
    pub source: Source,
}

/// The settings of one `serve` configuration, in `ferrum --help` order.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings(Vec<Setting>);

/// Short: the startup log prints the typed configuration already.
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Settings({} read)", self.0.len())
    }
}

impl Settings {
    /// The settings of [`Config`] as `matches` (of `ferrum`, `ferrum serve`...) gave them.
    pub fn read(matches: &ArgMatches) -> Self {
        let command = Config::augment_args(clap::Command::new("ferrum"));
        let settings = command.get_arguments().filter_map(|arg| {
            let variable = arg.get_env()?.to_string_lossy().into_owned();
            let id = arg.get_id().as_str();
            let Ok(Some(raw)) = matches.try_get_raw(id) else {
                return Some(Setting { variable, value: None, source: Source::Unset });
            };
            let value = raw.map(|v| v.to_string_lossy().into_owned()).collect::<Vec<_>>().join(",");
            let source = match matches.value_source(id) {
                Some(ValueSource::CommandLine) => Source::Flag,
                Some(ValueSource::EnvVariable) => Source::Environment,
                _ => Source::Default,
            };
            Some(Setting { value: Some(mask(&variable, &value)), variable, source })
        });
        Self(settings.collect())
    }

    /// Each setting, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Setting> {
        self.0.iter()
    }
}

/// The effective configuration: what `ferrum config` prints and `GET /admin/config` answers.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "settings": [
        {"variable": "FERRUM_ENV", "value": "production", "source": "environment"},
        {"variable": "FERRUM_HTTP_JWT_SIGNING_KEY", "value": "********", "source": "environment"},
        {"variable": "FERRUM_GRPC_PORT", "value": null, "source": "unset"}
    ],
    "database": "postgres://ferrum:********@db:5432/ferrum",
    "listen": "0.0.0.0:8080"
}))]
pub struct ConfigReport {
    /// Every setting, in `ferrum --help` order.
    pub settings: Vec<Setting>,
    /// The database URL in use (built from `FERRUM_DATABASE_HOST`... when no URL is set),
    /// password masked.
    pub database: String,
    /// The address the HTTP listener binds (`FERRUM_LISTEN`, else the port of
    /// `FERRUM_HTTP_API_PORT` or `PORT`, else 8080, on every interface).
    pub listen: String,
}

impl ConfigReport {
    /// The report of `config`.
    pub fn of(config: &Config) -> Self {
        let database = config.db.resolved_url().masked().to_string();
        let listen = config.http.listen_addr().to_string();
        Self { settings: config.settings.iter().cloned().collect(), database, listen }
    }

    /// The lines of `ferrum config`: `VARIABLE=value  # source`, then the database in use and
    /// the address listened on.
    pub fn lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .settings
            .iter()
            .map(|setting| match (&setting.value, setting.source) {
                (Some(value), source) => format!("{}={value}  # {}", setting.variable, source.name()),
                (None, _) => format!("{}=  # unset", setting.variable),
            })
            .collect();
        lines.push(format!("# database: \"{}\"", self.database));
        lines.push(format!("# listen: {}", self.listen));
        lines
    }
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Flag => "flag",
            Source::Environment => "environment",
            Source::Default => "default",
            Source::Unset => "unset",
        }
    }
}

fn mask(variable: &str, value: &str) -> String {
    if SECRETS.contains(&variable) {
        return MASK.into();
    }
    if URLS.contains(&variable) {
        if let Ok(url) = Url::parse(value) {
            return Secret::new(url).masked().to_string();
        }
    }
    value.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Cli;

    #[test]
    fn masks_secrets_and_url_passwords() {
        assert_eq!(mask("FERRUM_HTTP_JWT_SIGNING_KEY", "k"), MASK);
        assert_eq!(mask("FERRUM_DATABASE_URL", "postgres://u:pw@h/db"), "postgres://u:********@h/db");
        assert_eq!(mask("FERRUM_RATE_LIMIT_REDIS_URL", "redis://:pw@h:6379"), "redis://:********@h:6379");
        assert_eq!(mask("FERRUM_HTTP_REQUEST_TIMEOUT", "3s"), "3s");
    }

    #[test]
    fn reads_values_and_their_sources() {
        let args = ["ferrum", "serve", "--timeout", "5s", "--jwt-signing-key", "hunter2", "--modules", "patients,calc"];
        let config = Cli::try_parse_args(args).unwrap().into_config();
        let report = ConfigReport::of(&config);
        let find = |name: &str| report.settings.iter().find(|s| s.variable == name).unwrap().clone();
        assert_eq!(find("FERRUM_HTTP_REQUEST_TIMEOUT").value.as_deref(), Some("5s"));
        assert_eq!(find("FERRUM_HTTP_REQUEST_TIMEOUT").source, Source::Flag);
        assert_eq!(find("FERRUM_HTTP_JWT_SIGNING_KEY").value.as_deref(), Some(MASK));
        assert_eq!(find("FERRUM_MODULES").value.as_deref(), Some("patients,calc"));
        assert_eq!(find("FERRUM_ENV").source, Source::Default);
        assert_eq!(
            find("FERRUM_GRPC_PORT"),
            Setting { variable: "FERRUM_GRPC_PORT".into(), value: None, source: Source::Unset }
        );
        let lines = report.lines();
        assert!(lines.contains(&"FERRUM_HTTP_REQUEST_TIMEOUT=5s  # flag".to_owned()), "{lines:?}");
        assert!(lines.contains(&"FERRUM_GRPC_PORT=  # unset".to_owned()), "{lines:?}");
        assert_eq!(lines[lines.len() - 2..], ["# database: \"sqlite://ferrum.db\"", "# listen: 0.0.0.0:8080"]);
        assert!(!lines.concat().contains("hunter2"), "{lines:?}");
        // The address listened on follows the port settings (SPEC 1.1: default 8080).
        let on = |args: &[&str]| ConfigReport::of(&Cli::try_parse_args(args).unwrap().into_config()).listen;
        assert_eq!(on(&["ferrum", "--port", "9000"]), "0.0.0.0:9000");
        assert_eq!(on(&["ferrum", "--listen", "127.0.0.1:7000", "--port", "9000"]), "127.0.0.1:7000");
    }

    #[test]
    fn the_default_command_reads_its_settings_too() {
        let config = Cli::try_parse_args(["ferrum", "--metrics", "false"]).unwrap().into_config();
        let metrics = config.settings.iter().find(|s| s.variable == "FERRUM_METRICS").unwrap();
        assert_eq!((metrics.value.as_deref(), metrics.source), (Some("false"), Source::Flag));
    }
}
