//! The container and Kubernetes files cannot be built here (no container engine), so these
//! tests keep them in step with the binary: every setting they name exists, every command they
//! run exists, and every probe path answers.

use std::{collections::BTreeSet, path::PathBuf, time::Duration};

use clap::CommandFactory;
use ferrum_server::Cli;
use ferrum_testkit::{Backend, TestDb};

use crate::Server;

fn deployment_files() -> Vec<(String, String)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut paths = vec![root.join("Dockerfile"), root.join("docker-compose.yml")];
    let kubernetes = root.join("deploy/kubernetes");
    for entry in std::fs::read_dir(&kubernetes).unwrap() {
        paths.push(entry.unwrap().path());
    }
    paths.into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// Every `FERRUM_*` word in `text`.
fn ferrum_variables(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("FERRUM_") {
        let tail = &rest[at..];
        let end =
            tail.find(|c: char| !(c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())).unwrap_or(tail.len());
        found.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    found
}

fn known_variables() -> BTreeSet<String> {
    let command = Cli::command();
    let mut known = BTreeSet::new();
    let mut commands = vec![&command];
    commands.extend(command.get_subcommands());
    for command in commands {
        for arg in command.get_arguments() {
            if let Some(env) = arg.get_env() {
                known.insert(env.to_string_lossy().into_owned());
            }
        }
    }
    known
}

#[test]
fn deployment_files_name_only_real_settings_and_commands() {
    let known = known_variables();
    let subcommands: BTreeSet<String> = Cli::command().get_subcommands().map(|c| c.get_name().to_owned()).collect();
    for (path, text) in deployment_files() {
        for variable in ferrum_variables(&text) {
            assert!(known.contains(&variable), "{path} sets {variable}, which ferrum does not read");
        }
        // `CMD ["ferrum", "healthcheck"]`, `args: ["serve"]`, `command: ["migrate"]`...
        for line in text.lines().filter(|l| l.contains("[\"")) {
            let words: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            let command = match words.as_slice() {
                ["ferrum", command, ..] => Some(*command),
                [command] if line.contains("args:") || line.trim_start().starts_with("CMD [\"") => Some(*command),
                _ => None,
            };
            if let Some(command) = command {
                assert!(subcommands.contains(command), "{path} runs `ferrum {command}`, which does not exist");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_paths_answer() {
    let mut paths = BTreeSet::new();
    for (_, text) in deployment_files() {
        for line in text.lines() {
            if let Some(at) = line.find("path: /") {
                let path = &line[at + "path: ".len()..];
                paths.insert(path.split([',', ' ', '}']).next().unwrap().to_owned());
            }
        }
    }
    assert!(paths.contains("/health/live") && paths.contains("/health/ready"), "{paths:?}");
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let server = Server::start(&db.url, &[]);
    server.wait_ready(Duration::from_secs(10)).await;
    for path in &paths {
        assert_eq!(server.status(path).await, 200, "probe {path}");
    }
    server.stop().await.unwrap();
}
