//! The platform's configuration sections (SPEC 1.1). Each is a `clap::Args` group the server
//! flattens into its command line, so flags win over the environment and the environment over
//! the defaults with no layering code of ours.

mod secret;
mod units;

use std::{net::SocketAddr, time::Duration};

use clap::Args;
use url::Url;

pub use secret::{MASK, Secret};
pub use units::{named, named_choice, parse_duration, parse_size};

use crate::http::rate_limit::{RateLimit, parse_rate_limit};

/// Version and build date of the binary, injected at build time by the server crate.
#[derive(Clone, Copy, Debug)]
pub struct BuildInfo {
    /// `git describe`, else the crate version.
    pub version: &'static str,
    /// UTC date of the build.
    pub build_date: &'static str,
}

/// `development` or `production` (SPEC 1.1, `FERRUM_ENV`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Environment {
    /// Default: `/generate-token` is mounted and the default JWT key is allowed.
    Development,
    /// Refuses a default or short JWT key and hides `/generate-token`.
    Production,
}

/// Where the data lives.
#[derive(Args, Clone, Debug)]
pub struct DbConfig {
    /// Database URL: sqlite://PATH, sqlite::memory: or postgres://... [default: sqlite://ferrum.db]
    #[arg(id = "database_url", long = "database-url", env = "FERRUM_DATABASE_URL", value_parser = named(parse_database_url))]
    pub url: Option<Secret<Url>>,
    /// Same as FERRUM_DATABASE_URL, under the name many platforms set.
    #[arg(long = "database-url-compat", env = "DATABASE_URL", hide = true, value_parser = named(parse_database_url))]
    pub url_compat: Option<Secret<Url>>,
    /// PostgreSQL host; with no URL set, HOST, PORT, USER, PASSWORD and NAME build one.
    #[arg(long = "database-host", env = "FERRUM_DATABASE_HOST")]
    pub host: Option<String>,
    /// PostgreSQL port (with FERRUM_DATABASE_HOST).
    #[arg(id = "database_port", long = "database-port", env = "FERRUM_DATABASE_PORT", default_value = "5432", value_parser = named(parse_port))]
    pub port: u16,
    /// PostgreSQL user (with FERRUM_DATABASE_HOST).
    #[arg(long = "database-user", env = "FERRUM_DATABASE_USER", default_value = "postgres")]
    pub user: String,
    /// PostgreSQL password (with FERRUM_DATABASE_HOST).
    #[arg(long = "database-password", env = "FERRUM_DATABASE_PASSWORD", default_value = "postgres")]
    pub password: Secret<String>,
    /// PostgreSQL database name (with FERRUM_DATABASE_HOST).
    #[arg(id = "database_name", long = "database-name", env = "FERRUM_DATABASE_NAME", default_value = "ferrum")]
    pub name: String,
    /// Connection pool size.
    #[arg(long = "database-max-connections", env = "FERRUM_DATABASE_MAX_CONNECTIONS", default_value = "16", value_parser = named(parse_pool_size))]
    pub max_connections: u32,
}

impl DbConfig {
    /// The URL to connect to: FERRUM_DATABASE_URL, else DATABASE_URL, else one built from
    /// FERRUM_DATABASE_HOST and friends, else the embedded SQLite file.
    pub fn resolved_url(&self) -> Secret<Url> {
        if let Some(url) = self.url.clone().or_else(|| self.url_compat.clone()) {
            return url;
        }
        if let Some(host) = &self.host {
            let mut url = Url::parse("postgres://localhost").unwrap_or_else(|_| unreachable!());
            // These setters only fail for URLs that cannot have a host, which postgres:// can.
            let _ = url.set_host(Some(host));
            let _ = url.set_port(Some(self.port));
            let _ = url.set_username(&self.user);
            let _ = url.set_password(Some(self.password.expose()));
            url.set_path(&self.name);
            return Secret::new(url);
        }
        Secret::new(Url::parse("sqlite://ferrum.db").unwrap_or_else(|_| unreachable!()))
    }

    /// A configuration for `url` with every other setting at its default (tests, tools).
    pub fn for_url(url: Url) -> Self {
        Self {
            url: Some(Secret::new(url)),
            url_compat: None,
            host: None,
            port: 5432,
            user: "postgres".into(),
            password: Secret::new("postgres".into()),
            name: "ferrum".into(),
            max_connections: 16,
        }
    }
}

/// The HTTP listener and request handling.
#[derive(Args, Clone, Debug)]
pub struct HttpConfig {
    /// HTTP port.
    #[arg(long = "port", env = "FERRUM_HTTP_API_PORT", value_parser = named(parse_port))]
    pub port: Option<u16>,
    /// Same as FERRUM_HTTP_API_PORT, under the name many platforms set.
    #[arg(long = "port-compat", env = "PORT", hide = true, value_parser = named(parse_port))]
    pub port_compat: Option<u16>,
    /// Whole listen address, e.g. 127.0.0.1:8080 (overrides the port).
    #[arg(long = "listen", env = "FERRUM_LISTEN", value_parser = named(parse_socket_addr))]
    pub listen: Option<SocketAddr>,
    /// Base of absolute links (Location, Link); by default `http://localhost:<port>`.
    #[arg(long = "external-url", env = "FERRUM_HTTP_EXTERNAL_URL", value_parser = named(parse_external_url))]
    pub external_url: Option<Url>,
    /// Whole-request deadline: 3s, 500ms, 1m; a bare number means seconds.
    #[arg(long = "timeout", env = "FERRUM_HTTP_REQUEST_TIMEOUT", default_value = "3s", value_parser = named(parse_duration))]
    pub request_timeout: Duration,
    /// Request body cap: 1MiB, 512KiB or plain bytes; chunked bodies are capped too.
    #[arg(long = "max-post-size", env = "FERRUM_HTTP_MAX_POST_SIZE", default_value = "1MiB", value_parser = named(parse_size))]
    pub max_body_bytes: usize,
    /// gzip, br or zstd responses when the client asks (Accept-Encoding).
    #[arg(long = "compress", env = "FERRUM_COMPRESS", default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = named(parse_bool))]
    pub compress: bool,
    /// Comma list of origins allowed by CORS (`https://app.example.org`), or `*`; empty: CORS off.
    #[arg(long = "cors", env = "FERRUM_CORS_ORIGINS", value_delimiter = ',', value_parser = named(parse_origin))]
    pub cors_origins: Vec<String>,
    /// Mount /debug/pprof/profile (CPU profiles on demand).
    #[arg(long = "profiling", env = "FERRUM_PROFILING", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = named(parse_bool))]
    pub profiling: bool,
    /// How long in-flight requests may finish after SIGTERM or SIGINT.
    #[arg(long = "shutdown-grace", env = "FERRUM_SHUTDOWN_GRACE", default_value = "30s", value_parser = named(parse_duration))]
    pub shutdown_grace: Duration,
}

impl HttpConfig {
    /// The address to bind: `--listen`, else 0.0.0.0 on the configured port (8080 by default).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.unwrap_or_else(|| {
            let port = self.port.or(self.port_compat).unwrap_or(8080);
            SocketAddr::from(([0, 0, 0, 0], port))
        })
    }

    /// The base of absolute links, without a trailing slash.
    pub fn external_url(&self, bound_port: u16) -> String {
        match &self.external_url {
            Some(url) => url.as_str().trim_end_matches('/').to_owned(),
            None => format!("http://localhost:{bound_port}"),
        }
    }
}

/// Per-client rate limits (SPEC 1.7).
#[derive(Args, Clone, Debug)]
pub struct RateLimitConfig {
    /// Requests per client: N-S, N-M, N-H or N-D (per second, minute, hour, day); unset: no limit.
    #[arg(long = "limit", env = "FERRUM_RATE_LIMIT", value_parser = named(parse_rate_limit))]
    pub limit: Option<RateLimit>,
    /// Redis URL to share the limit between replicas (redis://host:6379); unset: in-process.
    #[arg(long = "rate-limit-redis-url", env = "FERRUM_RATE_LIMIT_REDIS_URL", value_parser = named(parse_redis_url))]
    pub redis_url: Option<Secret<Url>>,
    /// Header set by a trusted proxy holding the client address (X-Forwarded-For, X-Real-IP);
    /// its last address is used. Unset: the peer address.
    #[arg(long = "rate-limit-client-header", env = "FERRUM_RATE_LIMIT_CLIENT_HEADER", value_parser = named(parse_header_name))]
    pub client_header: Option<axum::http::HeaderName>,
}

fn parse_redis_url(text: &str) -> Result<Secret<Url>, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "redis" | "rediss" => Ok(Secret::new(url)),
        _ => Err("expected a redis:// URL".into()),
    }
}

fn parse_header_name(text: &str) -> Result<axum::http::HeaderName, String> {
    axum::http::HeaderName::from_bytes(text.trim().as_bytes()).map_err(|_| "not an HTTP header name".into())
}

/// JWT signing and minting (SPEC 1.5).
#[derive(Args, Clone, Debug)]
pub struct AuthConfig {
    /// development or production.
    #[arg(long = "env", env = "FERRUM_ENV", default_value = "development", value_parser = named_choice::<Environment>())]
    pub environment: Environment,
    /// HS256 signing key; production refuses the default and anything under 32 bytes.
    #[arg(long = "jwt-signing-key", env = "FERRUM_HTTP_JWT_SIGNING_KEY", default_value = DEFAULT_JWT_KEY)]
    pub signing_key: Secret<String>,
    /// Value of the `name` claim in minted tokens.
    #[arg(long = "jwt-claim-name", env = "FERRUM_HTTP_JWT_CLAIM_NAME", default_value = "ferrum")]
    pub claim_name: String,
    /// Lifetime of minted access tokens.
    #[arg(long = "jwt-expiration", env = "FERRUM_HTTP_JWT_EXPIRATION", default_value = "1h", value_parser = named(parse_duration))]
    pub expiration: Duration,
}

/// The development-only default key (the original Ferrum's).
pub const DEFAULT_JWT_KEY: &str = "deadbeef";

impl AuthConfig {
    /// Refuses, in production, a default or short signing key (SPEC 1.1).
    pub fn check(&self) -> Result<(), String> {
        let key = self.signing_key.expose();
        if self.environment == Environment::Production && (key == DEFAULT_JWT_KEY || key.len() < 32) {
            return Err("invalid FERRUM_HTTP_JWT_SIGNING_KEY: production needs a key of at least 32 bytes that is not the default".into());
        }
        Ok(())
    }
}

/// Log level and format.
#[derive(Args, Clone, Debug)]
pub struct LogConfig {
    /// Level (error, warn, info, debug, trace) or a RUST_LOG-style filter.
    #[arg(long = "log-level", env = "FERRUM_LOG_LEVEL", default_value = "info", value_parser = named(parse_log_filter))]
    pub level: String,
    /// json or pretty.
    #[arg(long = "log-format", env = "FERRUM_LOG_FORMAT", default_value = "json", value_parser = named_choice::<LogFormat>())]
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (the default, for log collectors).
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// The Prometheus endpoint (SPEC 1.6).
#[derive(Args, Clone, Debug)]
pub struct MetricsConfig {
    /// Mount GET /metrics (Prometheus text format, no auth): true or false.
    #[arg(id = "metrics", long = "metrics", env = "FERRUM_METRICS", default_value = "true", num_args = 0..=1, default_missing_value = "true", value_parser = named(parse_bool))]
    pub enabled: bool,
}

fn parse_database_url(text: &str) -> Result<Secret<Url>, String> {
    // `sqlite::memory:` is not a URL with an authority; keep it as an opaque sqlite: URL.
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "sqlite" | "postgres" | "postgresql" => Ok(Secret::new(url)),
        other => Err(format!("unsupported scheme `{other}`: use sqlite:// or postgres://")),
    }
}

/// A TCP port number.
pub fn parse_port(text: &str) -> Result<u16, String> {
    text.trim().parse().map_err(|_| "expected a port number from 0 to 65535".into())
}

fn parse_pool_size(text: &str) -> Result<u32, String> {
    match text.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err("expected a positive whole number".into()),
    }
}

fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    text.trim().parse().map_err(|_| "expected an address like 127.0.0.1:8080".into())
}

fn parse_external_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        _ => Err("expected an http:// or https:// URL".into()),
    }
}

/// `true`/`false` and the usual spellings of them.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".into()),
    }
}

/// `*` or a browser origin: scheme, host and optional port, nothing else.
fn parse_origin(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text == "*" {
        return Ok(text.to_owned());
    }
    let url = Url::parse(text).map_err(|_| "expected an origin like https://app.example.org, or *".to_string())?;
    let origin = url.origin().ascii_serialization();
    if !matches!(url.scheme(), "http" | "https") || origin != text.trim_end_matches('/') {
        return Err("expected an origin like https://app.example.org (no path), or *".into());
    }
    Ok(origin)
}

fn parse_log_filter(text: &str) -> Result<String, String> {
    tracing_subscriber::EnvFilter::try_new(text)
        .map(|_| text.to_owned())
        .map_err(|e| format!("not a log level or filter ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        db: DbConfig,
        #[command(flatten)]
        http: HttpConfig,
        #[command(flatten)]
        auth: AuthConfig,
        #[command(flatten)]
        log: LogConfig,
        #[command(flatten)]
        rate: RateLimitConfig,
        #[command(flatten)]
        metrics: MetricsConfig,
    }

    #[test]
    fn defaults_match_the_spec() {
        let cli = Cli::try_parse_from(["ferrum"]).unwrap();
        assert_eq!(cli.db.resolved_url().expose().as_str(), "sqlite://ferrum.db");
        assert_eq!(cli.http.listen_addr().port(), 8080);
        assert_eq!(cli.http.request_timeout, Duration::from_secs(3));
        assert_eq!(cli.http.max_body_bytes, 1024 * 1024);
        assert_eq!(cli.http.external_url(8080), "http://localhost:8080");
        assert_eq!(cli.auth.expiration, Duration::from_secs(3600));
        assert_eq!(cli.auth.environment, Environment::Development);
        assert_eq!(cli.db.max_connections, 16);
        assert!(cli.http.compress);
        assert!(cli.http.cors_origins.is_empty());
        assert!(cli.metrics.enabled);
    }

    #[test]
    fn metrics_can_be_switched_off_and_bad_values_name_the_variable() {
        assert!(!Cli::try_parse_from(["ferrum", "--metrics", "false"]).unwrap().metrics.enabled);
        let err = Cli::try_parse_from(["ferrum", "--metrics", "sometimes"]).unwrap_err();
        assert!(err.to_string().contains("FERRUM_METRICS"), "{err}");
        assert_eq!(err.exit_code(), 2);
    }

    #[test]
    fn cors_origins_and_switches() {
        let cli =
            Cli::try_parse_from(["ferrum", "--cors", "https://a.example, http://b.example:8080", "--compress", "off"])
                .unwrap();
        assert_eq!(cli.http.cors_origins, ["https://a.example", "http://b.example:8080"]);
        assert!(!cli.http.compress);
        for bad in ["https://a.example/path", "ftp://x", "nonsense"] {
            let err = Cli::try_parse_from(["ferrum", "--cors", bad]).unwrap_err();
            assert!(err.to_string().contains("FERRUM_CORS_ORIGINS"), "{bad}: {err}");
        }
        assert!(Cli::try_parse_from(["ferrum", "--compress", "maybe"]).is_err());
    }

    #[test]
    fn rate_limits() {
        let cli = Cli::try_parse_from(["ferrum", "--limit", "100-M"]).unwrap();
        assert_eq!(cli.rate.limit.map(|l| l.requests), Some(100));
        assert!(cli.rate.redis_url.is_none());
        let err = Cli::try_parse_from(["ferrum", "--limit", "lots"]).unwrap_err();
        assert!(err.to_string().contains("FERRUM_RATE_LIMIT"), "{err}");
        let err = Cli::try_parse_from(["ferrum", "--rate-limit-redis-url", "http://x"]).unwrap_err();
        assert!(err.to_string().contains("FERRUM_RATE_LIMIT_REDIS_URL"), "{err}");
    }

    #[test]
    fn host_settings_build_a_postgres_url() {
        let cli =
            Cli::try_parse_from(["ferrum", "--database-host", "db.internal", "--database-password", "s3cr3t"]).unwrap();
        let url = cli.db.resolved_url();
        assert_eq!(url.expose().as_str(), "postgres://postgres:s3cr3t@db.internal:5432/ferrum");
        assert!(!format!("{url:?}").contains("s3cr3t"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = Cli::try_parse_from(["ferrum", "--timeout", "soon"]).unwrap_err();
        assert!(err.to_string().contains("FERRUM_HTTP_REQUEST_TIMEOUT"), "{err}");
        assert_eq!(err.exit_code(), 2);
        let err = Cli::try_parse_from(["ferrum", "--database-url", "mysql://x"]).unwrap_err();
        assert!(err.to_string().contains("FERRUM_DATABASE_URL"), "{err}");
        // Closed sets of values too: one line, the variable and what it takes.
        for (flag, value, variable) in
            [("--log-format", "xml", "FERRUM_LOG_FORMAT"), ("--env", "staging", "FERRUM_ENV")]
        {
            let err = Cli::try_parse_from(["ferrum", flag, value]).unwrap_err();
            let text = err.to_string();
            assert_eq!(text.trim_end().lines().count(), 1, "{text}");
            assert!(text.contains(variable) && text.contains(value), "{text}");
            assert_eq!(err.exit_code(), 2);
        }
        let cli = Cli::try_parse_from(["ferrum", "--log-format", "pretty", "--env", "Production"]).unwrap();
        assert_eq!((cli.log.format, cli.auth.environment), (LogFormat::Pretty, Environment::Production));
    }

    #[test]
    fn production_refuses_weak_keys() {
        let weak = Cli::try_parse_from(["ferrum", "--env", "production"]).unwrap();
        assert!(weak.auth.check().unwrap_err().contains("FERRUM_HTTP_JWT_SIGNING_KEY"));
        let strong = Cli::try_parse_from([
            "ferrum",
            "--env",
            "production",
            "--jwt-signing-key",
            "0123456789abcdef0123456789abcdef",
        ])
        .unwrap();
        assert!(strong.auth.check().is_ok());
    }
}
