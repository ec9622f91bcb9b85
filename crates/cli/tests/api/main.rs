//! The real `ferrum-cli` binary, driven through pipes against a real `ferrum` server
//! (in this process, on a free port, over a fresh SQLite file).
#![expect(clippy::unwrap_used, clippy::expect_used, reason = "a test fails loudly on what it did not expect")]

mod one_shot;
mod session;

use std::{process::Stdio, time::Duration};

use clap::Parser;
use ferrum_server::{App, BUILD, Cli};
use ferrum_testkit::{Backend, TestDb};
use tokio::{io::AsyncWriteExt, sync::oneshot};

/// A `ferrum` server serving calc on 127.0.0.1.
pub(crate) struct Server {
    /// `127.0.0.1:<port>`, the form users type.
    pub(crate) address: String,
    stop: Option<oneshot::Sender<()>>,
    _db: TestDb,
}

impl Server {
    pub(crate) async fn start(flags: &[&str]) -> Self {
        let db = TestDb::new(Backend::Sqlite, &[]).await;
        let mut args = vec!["ferrum", "--listen", "127.0.0.1:0", "--database-url", db.url.as_str()];
        args.extend_from_slice(flags);
        let app = App::bind(Cli::try_parse_from(args).unwrap().into_config(), BUILD).unwrap();
        let address = app.local_addr().to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(app.run(async {
            let _ = stopped.await;
        }));
        let server = Self { address, stop: Some(stop), _db: db };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let url = format!("http://{}/health/ready", self.address);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if reqwest::get(&url).await.is_ok_and(|r| r.status() == 200) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "server not ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The server's `/metrics` text.
    pub(crate) async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.address)).await.unwrap().text().await.unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// What a run of the binary printed and how it ended.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs `ferrum-cli args` with `input` on a pipe as its stdin and `env` added to an empty
/// environment (so the developer's FERRUM_CALC_ADDRESS cannot leak in).
pub(crate) async fn ferrum_cli(args: &[&str], env: &[(&str, &str)], input: &str) -> Run {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferrum-cli"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // A binary that exits before reading (it could not connect) closes the pipe early.
    let _ = stdin.write_all(input.as_bytes()).await;
    drop(stdin);
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("ferrum-cli ended in time")
        .unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The value of the sample whose name and labels are exactly `series`.
pub(crate) fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// A loopback port nothing listens on.
pub(crate) fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}
