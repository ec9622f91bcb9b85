//! The real router on a real socket over a fresh database, with a client and tokens.

use std::{sync::Arc, time::Duration};

use clap::Parser;
use ferrum_platform::{
    BuildInfo, Platform,
    auth::AuthKeys,
    config::AuthConfig,
    db::migrate::MigrationSet,
    http::{
        Routes,
        middleware::{self, HttpSettings},
    },
};
use tokio::sync::oneshot;

use crate::db::{Backend, TestDb};

/// The key test tokens are signed with.
pub const TEST_SIGNING_KEY: &str = "test-signing-key-that-is-long-enough-for-production";

/// A module's routes served on `127.0.0.1:<random>` over a fresh database.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base_url: String,
    /// A client with no default headers.
    pub client: reqwest::Client,
    /// The context the routes were built from.
    pub platform: Platform,
    stop: Option<oneshot::Sender<()>>,
    // Dropped last: the server must stop before its database goes.
    _db: TestDb,
}

#[derive(Parser)]
struct AuthArgs {
    #[command(flatten)]
    auth: AuthConfig,
}

impl TestApp {
    /// Serves `routes` (with the platform's middleware) over a fresh, migrated database. A
    /// module's `OpenApiRouter` is served as its plain router.
    pub async fn spawn<R: Into<Routes>>(
        backend: Backend,
        migrations: &[&'static MigrationSet],
        routes: impl FnOnce(&Platform) -> R,
    ) -> Self {
        Self::spawn_with(backend, migrations, test_settings(), routes).await
    }

    /// Like [`TestApp::spawn`], with other HTTP settings (limits, CORS, compression).
    pub async fn spawn_with<R: Into<Routes>>(
        backend: Backend,
        migrations: &[&'static MigrationSet],
        settings: HttpSettings,
        routes: impl FnOnce(&Platform) -> R,
    ) -> Self {
        let db = TestDb::new(backend, migrations).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("local addr"));
        let platform = Platform {
            db: db.db.clone(),
            auth: Arc::new(AuthKeys::new(&test_auth_config())),
            external_url: base_url.clone().into(),
            build: BuildInfo { version: "test", build_date: "today" },
        };
        let service = middleware::apply(routes(&platform).into(), &settings);
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, service.into_make_service())
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Self { base_url, client: reqwest::Client::new(), platform, stop: Some(stop), _db: db }
    }

    /// An absolute URL for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A token with these space-separated scopes.
    pub fn token(&self, scopes: &str) -> String {
        self.platform.auth.mint(Some("test-user".into()), false, Some(scopes.into()), None).expect("a test token")
    }

    /// A token with `admin: true`.
    pub fn admin_token(&self) -> String {
        self.platform.auth.mint(Some("test-admin".into()), true, None, None).expect("a test token")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The auth settings tests sign with.
pub fn test_auth_config() -> AuthConfig {
    AuthArgs::try_parse_from(["test", "--jwt-signing-key", TEST_SIGNING_KEY]).expect("auth config").auth
}

fn test_settings() -> HttpSettings {
    HttpSettings::new(Duration::from_secs(10), 1024 * 1024)
}
