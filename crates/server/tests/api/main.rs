//! Black-box tests of the composed `ferrum` server: health, composition, startup, shutdown,
//! and the binary itself.
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on what it did not expect")]

mod admin;
mod binary;
mod commands;
mod deployment;
mod edge;
mod grpc;
mod health;
mod lifecycle;
mod metrics;
mod openapi;
mod profiling;
mod rate_limit;

use std::time::Duration;

use ferrum_platform::db::Backoff;
use ferrum_server::{App, BUILD, Cli};
use tokio::{sync::oneshot, task::JoinHandle};
use url::Url;

/// A composed server running in this process.
pub(crate) struct Server {
    pub(crate) base: String,
    /// `http://<address>` of the gRPC-only port, when `--grpc-port` was given.
    pub(crate) grpc: Option<String>,
    pub(crate) client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    run: Option<JoinHandle<anyhow::Result<()>>>,
}

/// Retries quickly so startup tests take a second, not minutes.
pub(crate) const QUICK_BACKOFF: Backoff = Backoff {
    first: Duration::from_millis(50),
    factor: 1.5,
    max_wait: Duration::from_millis(200),
    give_up_after: Duration::from_secs(60),
};

impl Server {
    /// Binds 127.0.0.1:0 and runs `ferrum serve` over `database` with these extra flags.
    pub(crate) fn start(database: &Url, flags: &[&str]) -> Self {
        Self::start_with(Some(database), flags)
    }

    /// Like [`Server::start`]; with no URL, the flags must say where the database is.
    pub(crate) fn start_with(database: Option<&Url>, flags: &[&str]) -> Self {
        Self::start_backing_off(database, flags, QUICK_BACKOFF)
    }

    /// Like [`Server::start_with`], retrying the database as `backoff` says.
    pub(crate) fn start_backing_off(database: Option<&Url>, flags: &[&str], backoff: Backoff) -> Self {
        let mut args = vec!["ferrum", "--listen", "127.0.0.1:0"];
        if let Some(database) = database {
            args.extend(["--database-url", database.as_str()]);
        }
        args.extend_from_slice(flags);
        let config = Cli::try_parse_args(args).unwrap().into_config();
        let app = App::bind(config, BUILD).unwrap().with_backoff(backoff);
        let base = format!("http://{}", app.local_addr());
        let grpc = app.grpc_addr().map(|addr| format!("http://{addr}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let run = tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        Self { base, grpc, client: reqwest::Client::new(), stop: Some(stop), run: Some(run) }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn status(&self, path: &str) -> u16 {
        self.client.get(self.url(path)).send().await.map_or(0, |r| r.status().as_u16())
    }

    /// Polls `/health/ready` until 200, failing after `within`.
    pub(crate) async fn wait_ready(&self, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.status("/health/ready").await != 200 {
            assert!(tokio::time::Instant::now() < deadline, "not ready within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// An admin token from `/generate-token`.
    pub(crate) async fn token(&self) -> String {
        let body: serde_json::Value =
            self.client.get(self.url("/generate-token")).send().await.unwrap().json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }

    /// Waits for `run` to end by itself (a startup failure) and returns what it returned.
    pub(crate) async fn ended(mut self, within: Duration) -> anyhow::Result<()> {
        tokio::time::timeout(within, self.run.take().unwrap()).await.expect("ended in time").unwrap()
    }

    /// Sends the stop signal and returns what `run` returned.
    pub(crate) async fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(10), self.run.take().unwrap()).await.expect("stopped in time").unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
