//! `ferrum migrate`: apply the enabled modules' migrations and exit (a release step).

use std::process::ExitCode;

use ferrum_platform::{
    db::{self, Backoff},
    shutdown,
};

use crate::{Config, app::migrations};

/// Connects (with the startup backoff, abortable by SIGINT/SIGTERM), migrates, exits.
pub fn migrate(config: Config) -> ExitCode {
    let _flush_on_exit = super::serve::init_logs(&config.log);
    let runtime = match super::runtime() {
        Ok(runtime) => runtime,
        Err(code) => return code,
    };
    let result = runtime.block_on(async {
        let url = config.db.resolved_url();
        let connecting = db::connect_with_backoff(
            url.expose(),
            config.db.max_connections,
            config.http.request_timeout,
            Backoff::default(),
        );
        let db = tokio::select! {
            db = connecting => db?,
            () = shutdown::signal() => return Ok(None),
        };
        let applied = db::migrate::run(&db, &migrations(&config)).await;
        db.close().await;
        applied.map(Some)
    });
    match result {
        Ok(Some(applied)) => {
            tracing::info!(applied, "migrations done");
            println!("{applied} migration(s) applied");
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "migrations failed");
            eprintln!("error: migrations failed: {error}");
            ExitCode::FAILURE
        }
    }
}
