//! Build, then run (STYLE R3): [`App::bind`] takes the port (and the gRPC port when set);
//! [`App::run`] serves the health routes at once, connects to the database with backoff
//! (abortable by the stop signal), migrates, then serves every enabled module until the stop
//! signal, and lets in-flight requests finish within the grace period. `/metrics`, when
//! enabled, answers from the start. The gRPC port follows the same steps with the modules' gRPC
//! services (calc).

use std::{
    future::Future,
    net::{SocketAddr, TcpListener},
    sync::Arc,
};

use anyhow::Context as _;
use ferrum_platform::{
    BuildInfo, Platform, admin,
    auth::{self, AuthKeys},
    config::Environment,
    db::{self, Backoff, migrate::MigrationSet},
    docs, health,
    http::{
        Edge, Routes,
        middleware::{self, HttpSettings},
        rate_limit::RateLimiter,
    },
    metrics::{self, Metrics},
    profiling,
};
use tokio_util::sync::CancellationToken;

use crate::{config::Config, modules::ModuleContext};

/// A bound, not yet serving, server.
#[derive(Debug)]
pub struct App {
    config: Config,
    build: BuildInfo,
    listener: TcpListener,
    local_addr: SocketAddr,
    /// The gRPC-only listener (`--grpc-port`) and its bound address.
    grpc: Option<(TcpListener, SocketAddr)>,
    backoff: Backoff,
}

impl App {
    /// Binds the HTTP listener; nothing is served until [`App::run`].
    pub fn bind(config: Config, build: BuildInfo) -> anyhow::Result<Self> {
        let addr = config.http.listen_addr();
        let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}"))?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let grpc = match config.grpc_port {
            Some(port) => Some(bind_grpc(SocketAddr::new(addr.ip(), port))?),
            None => None,
        };
        Ok(Self { config, build, listener, local_addr, grpc, backoff: Backoff::default() })
    }

    /// Replaces the startup connection schedule (tests use a quick one).
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The address actually bound (port 0 becomes a real port).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The gRPC-only port's bound address, when `--grpc-port` is set.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().map(|(_, addr)| *addr)
    }

    /// Serves until `stop` resolves, then drains in-flight requests and closes the database.
    pub async fn run(self, stop: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let stopping = CancellationToken::new();
        tokio::spawn({
            let stopping = stopping.clone();
            async move {
                stop.await;
                stopping.cancel();
            }
        });
        let mut settings = HttpSettings::from(&self.config.http);
        // One registry per server, shared by the startup and the full router.
        let metrics = self.config.metrics.enabled.then(|| Arc::new(Metrics::new(self.build)));
        settings.metrics = metrics.clone();
        let upkeep_done = CancellationToken::new();
        // However this function ends, the upkeep task ends with it.
        let _stop_upkeep = upkeep_done.clone().drop_guard();
        if let Some(metrics) = &metrics {
            tokio::spawn(metrics.clone().run_upkeep(upkeep_done.cancelled_owned()));
        }

        // Until the database answers: live, not ready (SPEC 1.3).
        let started = CancellationToken::new();
        let mut starting = health::starting_routes(self.build);
        if let Some(metrics) = &metrics {
            starting = starting.merge(Routes::from(metrics::routes(metrics.clone(), None)));
        }
        let starting = middleware::apply(starting, &settings);
        let starting_listener = tokio::net::TcpListener::from_std(self.listener.try_clone()?)?;
        tokio::spawn(serve(starting_listener, starting.clone(), started.clone().cancelled_owned()));
        // The gRPC port answers the same 503 meanwhile, which gRPC clients read as UNAVAILABLE.
        if let Some((grpc_listener, _)) = &self.grpc {
            let starting_listener = tokio::net::TcpListener::from_std(grpc_listener.try_clone()?)?;
            tokio::spawn(serve(starting_listener, starting, started.clone().cancelled_owned()));
        }
        // However this function ends, the startup server stops accepting.
        let _stop_starting = started.clone().drop_guard();

        let url = self.config.db.resolved_url();
        let connecting = db::connect_with_backoff(
            url.expose(),
            self.config.db.max_connections,
            acquire_timeout(&self.config),
            self.backoff,
        );
        let db = tokio::select! {
            db = connecting => db.context("cannot connect to the database")?,
            () = stopping.cancelled() => {
                tracing::info!("stopped before the database was reachable");
                return Ok(());
            }
        };
        let applied = db::migrate::run(&db, &migrations(&self.config)).await.context("migrations failed")?;
        tracing::info!(backend = ?db.backend(), applied, "database ready");

        let platform = Platform {
            db: db.clone(),
            auth: Arc::new(AuthKeys::new(&self.config.auth)),
            external_url: self.config.http.external_url(self.local_addr.port()).into(),
            build: self.build,
        };
        let settings = HttpSettings { rate_limiter: rate_limiter(&self.config, &platform).await?, ..settings };
        let router = middleware::apply(compose(&platform, &self.config, metrics.clone(), &stopping)?, &settings);
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        let serving_http = serve(listener, router, stopping.clone().cancelled_owned());
        let serving_grpc = match self.grpc {
            // The same layers as the HTTP port (request ids, access log, limits), gRPC alone.
            Some((grpc_listener, addr)) => {
                let module = ModuleContext {
                    platform: &platform,
                    config: &self.config,
                    metrics: metrics.as_ref(),
                    stopping: &stopping,
                };
                let router = middleware::apply(grpc_routes(&module)?, &settings);
                let listener = tokio::net::TcpListener::from_std(grpc_listener)?;
                tracing::info!(%addr, "serving gRPC");
                Some(serve(listener, router, stopping.clone().cancelled_owned()))
            }
            None => None,
        };
        let serving = async move {
            match serving_grpc {
                Some(serving_grpc) => {
                    let (http, grpc) = tokio::join!(serving_http, serving_grpc);
                    http.and(grpc)
                }
                None => serving_http.await,
            }
        };
        // The full routers now accept on the same sockets; the startup ones stop accepting.
        started.cancel();
        tracing::info!(addr = %self.local_addr, "serving");

        let grace = self.config.http.shutdown_grace;
        tokio::select! {
            result = serving => result?,
            () = async { stopping.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "grace period over; dropping unfinished requests");
            }
        }
        db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// The configured rate limiter, in Redis when a URL is given. An unreachable Redis stops
/// startup: a limit silently not enforced is worse than a replica that does not start.
async fn rate_limiter(config: &Config, platform: &Platform) -> anyhow::Result<Option<Arc<RateLimiter>>> {
    let settings = &config.rate_limit;
    let Some(limit) = settings.limit else { return Ok(None) };
    let header = settings.client_header.clone();
    let limiter = match &settings.redis_url {
        Some(url) => RateLimiter::redis(limit, url.expose().as_str(), platform.auth.clone(), header)
            .await
            .with_context(|| format!("cannot reach the rate limiter's Redis at {url:?}"))?,
        None => RateLimiter::local(limit, platform.auth.clone(), header),
    };
    Ok(Some(Arc::new(limiter)))
}

/// Binds the gRPC-only port.
fn bind_grpc(addr: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).with_context(|| format!("cannot listen for gRPC on {addr}"))?;
    listener.set_nonblocking(true)?;
    let local_addr = listener.local_addr()?;
    Ok((listener, local_addr))
}

/// Serves `edge` (the routes in the platform's services) on `listener` over HTTP/1.1 and
/// HTTP/2 (hyper's auto builder tells them apart by the connection preface, so gRPC's cleartext
/// HTTP/2 works with no TLS or upgrade).
async fn serve(
    listener: tokio::net::TcpListener,
    edge: Edge,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, edge.into_make_service()).with_graceful_shutdown(stop).await
}

/// Requests wait at most this long for a pooled connection, a little under the request
/// deadline, so a database outage answers 503 rather than running into the 504 deadline.
fn acquire_timeout(config: &Config) -> std::time::Duration {
    config.http.request_timeout.mul_f64(0.8)
}

/// The one place modules are composed (STYLE R3): the platform's routes, then each enabled
/// module's parts as its entry in [`crate::modules::MODULES`] builds them. Each part brings its
/// routes with their OpenAPI paths; [`docs::mount`] serves the merged document at
/// `/openapi.json` and `/docs`, so it lists exactly what is mounted here. `metrics` is the
/// server's registry when `--metrics` is on; `stopping` is cancelled by the stop signal. With
/// `--admin`, the admin routes (the server's and each module's) are mounted under `/admin`,
/// behind scope `admin`.
pub fn compose(
    platform: &Platform,
    config: &Config,
    metrics: Option<Arc<Metrics>>,
    stopping: &CancellationToken,
) -> anyhow::Result<Routes> {
    let mut api = health::routes(platform.db.clone(), platform.build);
    if let Some(metrics) = &metrics {
        api = api.merge(metrics::routes(metrics.clone(), Some(platform.db.clone())));
    }
    if config.auth.environment == Environment::Development {
        api = api.merge(auth::generate_token_route(platform.auth.clone()));
    }
    if config.http.profiling {
        api = api.merge(profiling::routes());
    }
    let module = ModuleContext { platform, config, metrics: metrics.as_ref(), stopping };
    let mut admin_routes = vec![crate::admin::routes(config)];
    for spec in config.enabled_modules() {
        if spec.is_planned() {
            tracing::warn!(module = spec.name, "module not built yet; skipping");
        }
        let built = |what: &str| format!("cannot build the {} module's {what}", spec.name);
        if let Some(build) = spec.api {
            api = api.merge(build(&module).with_context(|| built("routes"))?);
        }
        if let (true, Some(build)) = (config.admin, spec.admin) {
            admin_routes.push(build(&module).with_context(|| built("admin routes"))?);
        }
    }
    if config.admin {
        api = api.merge(admin::mount(admin_routes, platform.auth.clone()));
    }
    // gRPC, routed by path (`/calc.Calc/Add`) on the same port. Its paths carry no OpenAPI
    // operations: calc.proto and server reflection describe them.
    Ok(docs::mount(api, platform.build).merge(grpc_routes(&module)?))
}

/// The gRPC services of the enabled modules: on the HTTP port, and alone on `--grpc-port`.
fn grpc_routes(module: &ModuleContext<'_>) -> anyhow::Result<Routes> {
    let mut routes = Routes::default();
    for spec in module.config.enabled_modules() {
        if let Some(build) = spec.grpc {
            let services =
                build(module).with_context(|| format!("cannot build the {} module's gRPC services", spec.name))?;
            routes = routes.merge(services);
        }
    }
    Ok(routes)
}

/// The migrations of the enabled modules.
pub fn migrations(config: &Config) -> Vec<&'static MigrationSet> {
    config.enabled_modules().into_iter().filter_map(|spec| spec.migrations).collect()
}
