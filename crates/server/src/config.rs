//! The `ferrum` command line: the platform's sections plus the module list (SPEC 1.1, 1.2).

use std::{sync::LazyLock, time::Duration};

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use ferrum_platform::config::{
    AuthConfig, DbConfig, HttpConfig, LogConfig, MetricsConfig, RateLimitConfig, named, parse_bool, parse_duration,
    parse_port,
};

use crate::{
    modules::{MODULES, ModuleSettings, ModuleSpec},
    settings::Settings,
};

/// `ferrum --version`: the injected version and build date.
const VERSION: &str = concat!(env!("FERRUM_VERSION"), " (built ", env!("FERRUM_BUILD_DATE"), ")");

/// Ferrum: patients, care, payments, chirps and calc behind one server.
#[derive(Debug, Parser)]
#[command(name = "ferrum", version = VERSION, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for the default `serve`.
    #[command(flatten)]
    pub serve: Config,
}

/// The commands of `ferrum` (SPEC 1.2).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve(Config),
    /// Apply the enabled modules' migrations and exit.
    Migrate(Config),
    /// Exit 0 when the server's /health/ready answers 200 (a container HEALTHCHECK).
    Healthcheck(HealthcheckArgs),
    /// Mint a token with the configured key, for operators.
    Token(TokenArgs),
    /// Print the effective configuration, secrets masked, and where each value came from.
    Config(Config),
}

/// `ferrum healthcheck`.
#[derive(Args, Clone, Debug)]
pub struct HealthcheckArgs {
    /// URL to check; by default `http://127.0.0.1:<port>/health/ready`, the port `serve` would bind.
    #[arg(long)]
    pub url: Option<String>,
    /// The listener settings: the port to check, and `--timeout` bounds the whole check.
    #[command(flatten)]
    pub http: HttpConfig,
}

/// `ferrum token`.
#[derive(Args, Clone, Debug)]
pub struct TokenArgs {
    /// Grant every scope (`admin: true`).
    #[arg(long)]
    pub admin: bool,
    /// A scope to grant; repeat or space-separate.
    #[arg(long = "scope", help = SCOPE_HELP.as_str())]
    pub scopes: Vec<String>,
    /// The token's subject.
    #[arg(long)]
    pub sub: Option<String>,
    /// Lifetime [default: FERRUM_HTTP_JWT_EXPIRATION].
    #[arg(long, value_parser = named(parse_duration))]
    pub ttl: Option<Duration>,
    /// The signing key and claim settings.
    #[command(flatten)]
    pub auth: AuthConfig,
}

impl Cli {
    /// The command line `matches` holds, each configuration with its [`Settings`] as given
    /// (for `ferrum config` and `GET /admin/config`).
    pub fn from_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut cli = Self::from_arg_matches(matches)?;
        match (&mut cli.command, matches.subcommand()) {
            (None, _) => cli.serve.settings = Settings::read(matches),
            (Some(Command::Serve(config) | Command::Migrate(config) | Command::Config(config)), Some((_, matches))) => {
                config.settings = Settings::read(matches);
            }
            _ => {}
        }
        Ok(cli)
    }

    /// Parses `args` as `ferrum` parses its command line (tests, tools).
    pub fn try_parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::from_matches(&Self::command().try_get_matches_from(args)?)
    }

    /// The configuration to serve with (`ferrum` alone or `ferrum serve`); `None` for the
    /// other commands.
    pub fn into_config(self) -> Config {
        match self.command {
            Some(Command::Serve(config)) | Some(Command::Migrate(config)) | Some(Command::Config(config)) => config,
            None | Some(Command::Healthcheck(_)) | Some(Command::Token(_)) => self.serve,
        }
    }
}

/// Everything `ferrum serve` is configured with.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Storage.
    #[command(flatten)]
    pub db: DbConfig,
    /// HTTP listener and request handling.
    #[command(flatten)]
    pub http: HttpConfig,
    /// JWT.
    #[command(flatten)]
    pub auth: AuthConfig,
    /// Logs.
    #[command(flatten)]
    pub log: LogConfig,
    /// Rate limits.
    #[command(flatten)]
    pub rate_limit: RateLimitConfig,
    /// Prometheus endpoint.
    #[command(flatten)]
    pub metrics: MetricsConfig,
    /// The modules' own settings sections (calc's limits), each registered by its module's entry.
    #[command(flatten)]
    pub module_settings: ModuleSettings,
    /// An extra plaintext port serving only the calc gRPC services (on the --listen address);
    /// gRPC is served on the HTTP port either way.
    #[arg(long = "grpc-port", env = "FERRUM_GRPC_PORT", value_parser = named(parse_port))]
    pub grpc_port: Option<u16>,
    /// Comma list of modules to serve (the names in `MODULES`).
    #[arg(
        long = "modules",
        env = "FERRUM_MODULES",
        help = MODULES_HELP.as_str(),
        value_delimiter = ',',
        default_value = ALL_MODULES.as_str(),
        value_parser = named(parse_module)
    )]
    pub modules: Vec<&'static ModuleSpec>,
    /// Mount /admin/* (operators' routes, scope `admin`): true or false.
    #[arg(long = "admin", env = "FERRUM_ADMIN", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = named(parse_bool))]
    pub admin: bool,
    /// Each setting as given, for `ferrum config` and `GET /admin/config`; filled in by
    /// [`Cli::from_matches`].
    #[arg(skip)]
    pub settings: Settings,
}

impl Config {
    /// Checks what clap cannot: the rules that span settings.
    pub fn check(&self) -> Result<(), String> {
        self.auth.check()?;
        if self.grpc_port.is_some() && !self.modules.iter().any(|module| module.grpc.is_some()) {
            let grpc: Vec<&str> = MODULES.iter().filter(|module| module.grpc.is_some()).map(|m| m.name).collect();
            let grpc = grpc.join(", ");
            return Err(format!(
                "invalid FERRUM_GRPC_PORT: it serves the {grpc} module, which FERRUM_MODULES leaves out"
            ));
        }
        Ok(())
    }

    /// The modules `--modules` switches on, each once, in the order given.
    pub fn enabled_modules(&self) -> Vec<&'static ModuleSpec> {
        let mut enabled: Vec<&'static ModuleSpec> = Vec::new();
        for module in &self.modules {
            if !enabled.contains(module) {
                enabled.push(module);
            }
        }
        enabled
    }

    /// True when the module named `name` is switched on.
    pub fn serves(&self, name: &str) -> bool {
        self.modules.iter().any(|module| module.name == name)
    }
}

/// Every module's name, comma-separated: the default of `--modules`.
static ALL_MODULES: LazyLock<String> = LazyLock::new(|| module_names().join(","));

/// The help of `--modules`.
static MODULES_HELP: LazyLock<String> =
    LazyLock::new(|| format!("Comma list of modules to serve: {}", module_names().join(", ")));

/// The help of `ferrum token --scope`: the modules' scopes, then `admin`.
static SCOPE_HELP: LazyLock<String> = LazyLock::new(|| {
    let scopes: Vec<&str> = MODULES.iter().filter_map(|module| module.scope).map(|scope| scope.name()).collect();
    format!("A scope to grant ({}, admin); repeat or space-separate", scopes.join(", "))
});

fn module_names() -> Vec<&'static str> {
    MODULES.iter().map(|module| module.name).collect()
}

fn parse_module(text: &str) -> Result<&'static ModuleSpec, String> {
    ModuleSpec::named(text)
        .ok_or_else(|| format!("unknown module: expected a comma list of {}", module_names().join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn verify_cli() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_is_the_default_command() {
        let config = Cli::try_parse_from(["ferrum", "--modules", "patients"]).unwrap().into_config();
        assert_eq!(config.modules, [&MODULES[0]]);
        assert!(config.serves("patients") && !config.serves("calc"));
        let config = Cli::try_parse_from(["ferrum", "serve", "--port", "9"]).unwrap().into_config();
        assert_eq!(config.http.listen_addr().port(), 9);
        assert_eq!(config.modules.len(), MODULES.len());
    }

    #[test]
    fn a_grpc_port_needs_the_calc_module() {
        let config = Cli::try_parse_from(["ferrum", "--grpc-port", "9090"]).unwrap().into_config();
        assert_eq!(config.grpc_port, Some(9090));
        assert!(config.check().is_ok());
        let config =
            Cli::try_parse_from(["ferrum", "--grpc-port", "9090", "--modules", "patients"]).unwrap().into_config();
        assert!(config.check().unwrap_err().contains("FERRUM_GRPC_PORT"));
        let error = Cli::try_parse_from(["ferrum", "--grpc-port", "http"]).unwrap_err();
        assert!(error.to_string().contains("FERRUM_GRPC_PORT"), "{error}");
    }

    #[test]
    fn unknown_modules_are_refused_naming_the_variable() {
        let error = Cli::try_parse_from(["ferrum", "--modules", "patients,billing"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("FERRUM_MODULES"), "{error}");
    }
}
