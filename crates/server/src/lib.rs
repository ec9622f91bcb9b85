//! The `ferrum` server: configuration, module composition and the serve loop.
//!
//! - [`config`]: the command line and environment (SPEC 1.1, 1.2)
//! - [`modules`]: the one list of modules, which everything module-related reads
//! - [`app`]: bind, connect with backoff, migrate, compose the modules, serve, shut down
//! - [`settings`]: the effective configuration, masked, as `ferrum config` and `/admin/config` show it
//! - [`admin`]: the server's own admin routes (`GET /admin/config`)
//! - [`commands`]: `serve`, `migrate`, `healthcheck`, `token`, `config`

pub mod admin;
pub mod app;
pub mod commands;
pub mod config;
pub mod modules;
pub mod settings;

pub use app::App;
pub use config::{Cli, Config};
pub use modules::{MODULES, ModuleSpec};

/// Version and build date of this binary.
pub const BUILD: ferrum_platform::BuildInfo =
    ferrum_platform::BuildInfo { version: env!("FERRUM_VERSION"), build_date: env!("FERRUM_BUILD_DATE") };
