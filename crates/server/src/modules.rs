//! The one list of modules (STYLE R3): each entry of [`MODULES`] says all the server does with a
//! module: the name `--modules` knows it by, the scope its tokens carry, its migrations, its own
//! settings, its routes (HTTP with their OpenAPI paths, or gRPC) and its admin routes. The
//! module toggle, `ferrum migrate`, the composition, the OpenAPI document, `/admin` and
//! `--grpc-port` all read this list: adding a module is adding its entry.

use std::{any::Any, fmt, sync::Arc};

use anyhow::Context as _;
use clap::{ArgMatches, Args, FromArgMatches};
use ferrum_calc::{CalcConfig, grpc::SERVICE_NAMES};
use ferrum_platform::{
    Platform,
    auth::Scope,
    db::migrate::MigrationSet,
    http::Routes,
    metrics::{self, Metrics},
};
use tokio_util::sync::CancellationToken;
use utoipa_axum::router::OpenApiRouter;

use crate::Config;

/// Every module the server knows, in the order `--help` and the default `--modules` list them.
pub static MODULES: &[ModuleSpec] = &[
    ModuleSpec::new("patients")
        .scope(ferrum_patients::SCOPE)
        .migrations(&ferrum_patients::MIGRATIONS)
        .api(|module| Ok(ferrum_patients::routes(module.platform))),
    ModuleSpec::new("care")
        .scope(ferrum_care::SCOPE)
        .migrations(&ferrum_care::MIGRATIONS)
        .api(|module| Ok(ferrum_care::routes(module.platform))),
    // Not built yet: accepted by `--modules`, skipped with a warning.
    ModuleSpec::new("payments").scope(Scope::new("payments")),
    ModuleSpec::new("chirps").scope(Scope::new("chirps")),
    ModuleSpec::new("calc").settings(SettingsHook::of::<CalcConfig>()).grpc(calc_routes),
];

/// Builds a module's part of the server from the [`ModuleContext`].
pub type Build<T> = fn(&ModuleContext<'_>) -> anyhow::Result<T>;

/// One module as the server mounts it (see the module documentation).
#[derive(Clone, Copy)]
pub struct ModuleSpec {
    /// The name `--modules` (`FERRUM_MODULES`) knows it by.
    pub name: &'static str,
    /// The scope its routes need, listed by `ferrum token --scope`; none for calc (no tokens).
    pub scope: Option<Scope>,
    /// Its schema, applied at startup and by `ferrum migrate` when the module is on.
    pub migrations: Option<&'static MigrationSet>,
    /// Its own settings section (flags and environment variables of `ferrum serve`).
    pub settings: Option<SettingsHook>,
    /// Its HTTP routes with their OpenAPI paths: served, and merged into `/openapi.json`. A route
    /// that takes more than the platform's body cap and deadline raises its own here
    /// (`ferrum_platform::http::limits::raise`), with values from the module's settings.
    pub api: Option<Build<OpenApiRouter>>,
    /// Its gRPC services: routed by path on the HTTP port, and alone on `--grpc-port`.
    pub grpc: Option<Build<Routes>>,
    /// Its admin routes, relative to `/admin`: mounted behind scope `admin` with `--admin`.
    pub admin: Option<Build<OpenApiRouter>>,
}

impl ModuleSpec {
    /// A module named `name` that brings nothing yet.
    pub const fn new(name: &'static str) -> Self {
        Self { name, scope: None, migrations: None, settings: None, api: None, grpc: None, admin: None }
    }

    /// With the scope its routes need.
    pub const fn scope(self, scope: Scope) -> Self {
        Self { scope: Some(scope), ..self }
    }

    /// With its migrations.
    pub const fn migrations(self, migrations: &'static MigrationSet) -> Self {
        Self { migrations: Some(migrations), ..self }
    }

    /// With its settings section.
    pub const fn settings(self, settings: SettingsHook) -> Self {
        Self { settings: Some(settings), ..self }
    }

    /// With its HTTP routes.
    pub const fn api(self, api: Build<OpenApiRouter>) -> Self {
        Self { api: Some(api), ..self }
    }

    /// With its gRPC services.
    pub const fn grpc(self, grpc: Build<Routes>) -> Self {
        Self { grpc: Some(grpc), ..self }
    }

    /// With its admin routes.
    pub const fn admin(self, admin: Build<OpenApiRouter>) -> Self {
        Self { admin: Some(admin), ..self }
    }

    /// True when the module serves nothing yet.
    pub fn is_planned(&self) -> bool {
        self.api.is_none() && self.grpc.is_none() && self.admin.is_none()
    }

    /// The module named `name` (case and surrounding spaces aside).
    pub fn named(name: &str) -> Option<&'static ModuleSpec> {
        MODULES.iter().find(|module| module.name.eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Debug for ModuleSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for ModuleSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for ModuleSpec {}

/// What a module's parts are built from when the server composes them.
#[derive(Debug)]
pub struct ModuleContext<'a> {
    /// The database, keys and external URL.
    pub platform: &'a Platform,
    /// The server's configuration: the request deadline, the modules' settings sections...
    pub config: &'a Config,
    /// The metrics registry, when `--metrics` is on.
    pub metrics: Option<&'a Arc<Metrics>>,
    /// Cancelled by the stop signal.
    pub stopping: &'a CancellationToken,
}

impl ModuleContext<'_> {
    /// The settings section `T`, as its module's [`SettingsHook`] read it.
    pub fn settings<T: Any>(&self) -> anyhow::Result<&T> {
        self.config.module_settings.get::<T>().with_context(|| {
            format!("no settings section {} is registered: add it to the module's entry", std::any::type_name::<T>())
        })
    }
}

/// A module's settings section: a `clap::Args` type (`CalcConfig`), added to the command line
/// of `ferrum serve` and read back into [`ModuleSettings`].
#[derive(Clone, Copy, Debug)]
pub struct SettingsHook {
    augment: fn(clap::Command) -> clap::Command,
    parse: fn(&ArgMatches) -> Result<Arc<dyn Section>, clap::Error>,
}

impl SettingsHook {
    /// The hook of the section `T`.
    pub const fn of<T: Args + FromArgMatches + fmt::Debug + Send + Sync + 'static>() -> Self {
        Self { augment: T::augment_args, parse: parse_section::<T> }
    }
}

fn parse_section<T: FromArgMatches + fmt::Debug + Send + Sync + 'static>(
    matches: &ArgMatches,
) -> Result<Arc<dyn Section>, clap::Error> {
    Ok(Arc::new(T::from_arg_matches(matches)?))
}

/// A parsed settings section, of whatever type.
trait Section: Any + fmt::Debug + Send + Sync {
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any + fmt::Debug + Send + Sync> Section for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Every module's settings section, flattened into [`Config`] where the sections' flags show in
/// `--help`; read with [`ModuleContext::settings`].
#[derive(Clone, Default)]
pub struct ModuleSettings(Vec<Arc<dyn Section>>);

impl ModuleSettings {
    /// The section of type `T`, if a module registers one.
    pub fn get<T: Any>(&self) -> Option<&T> {
        // `(**section)`: the section itself; an `Arc` is a `Section` too, and would answer for itself.
        self.0.iter().find_map(|section| (**section).as_any().downcast_ref::<T>())
    }

    fn hooks() -> impl Iterator<Item = SettingsHook> {
        MODULES.iter().filter_map(|module| module.settings)
    }
}

impl fmt::Debug for ModuleSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl FromArgMatches for ModuleSettings {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Self::hooks().map(|hook| (hook.parse)(matches)).collect::<Result<_, _>>().map(Self)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for ModuleSettings {
    fn augment_args(command: clap::Command) -> clap::Command {
        Self::hooks().fold(command, |command, hook| (hook.augment)(command))
    }

    fn augment_args_for_update(command: clap::Command) -> clap::Command {
        Self::augment_args(command)
    }
}

/// The calc gRPC services, with their calls counted when metrics are on; their health turns
/// NOT_SERVING when the stop signal comes, while in-flight calls drain.
fn calc_routes(module: &ModuleContext<'_>) -> anyhow::Result<Routes> {
    let config = module.settings::<CalcConfig>()?;
    let stopping = module.stopping.clone().cancelled_owned();
    let router = ferrum_calc::grpc_routes(config, module.config.http.request_timeout, stopping);
    let router = match module.metrics {
        Some(metrics) => metrics::track_grpc(router, metrics.clone()),
        None => router,
    };
    // tonic routes each service by `/<service>/{*rest}`; the OpenAPI tests check this list
    // against the router.
    Ok(Routes::unlisted(router, SERVICE_NAMES.map(|service| format!("/{service}/{{*rest}}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found_whatever_their_case() {
        for (i, module) in MODULES.iter().enumerate() {
            assert!(MODULES[..i].iter().all(|earlier| earlier.name != module.name), "{} twice", module.name);
            assert_eq!(ModuleSpec::named(&format!(" {} ", module.name.to_uppercase())), Some(module));
        }
        assert_eq!(ModuleSpec::named("billing"), None);
    }

    #[test]
    fn each_section_is_read_back_by_its_type() {
        let command = ModuleSettings::augment_args(clap::Command::new("ferrum"));
        let matches = command.try_get_matches_from(["ferrum", "--calc-max-n", "1000"]).unwrap();
        let settings = ModuleSettings::from_arg_matches(&matches).unwrap();
        assert_eq!(settings.get::<CalcConfig>().map(|calc| calc.max_n), Some(1000));
        assert!(settings.get::<String>().is_none());
    }
}
