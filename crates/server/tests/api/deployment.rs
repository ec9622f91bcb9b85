//! The container and Kubernetes files cannot be built here (no container engine), so these
//! tests keep them in step with the binaries: every setting they name exists, every command
//! they run exists, every probe path answers, the image builds each binary it ships as the
//! README builds it, and the gRPC port is exposed wherever it is set.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    time::Duration,
};

use clap::CommandFactory;
use ferrum_server::Cli;
use ferrum_testkit::{Backend, TestDb};

use crate::Server;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn deployment_files() -> Vec<(String, String)> {
    let root = root();
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

/// The binaries of each workspace package, from the manifests: its `[[bin]]` names, or the
/// package name when it has a `src/main.rs` and no `[[bin]]`.
fn workspace_binaries() -> BTreeMap<String, BTreeSet<String>> {
    let mut binaries = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(manifest) = std::fs::read_to_string(dir.join("Cargo.toml")) else { continue };
        let (mut section, mut package, mut bins) = (String::new(), None, BTreeSet::new());
        for line in manifest.lines().map(str::trim) {
            if line.starts_with('[') {
                section = line.to_owned();
            } else if let Some(name) = line.strip_prefix("name = \"").and_then(|rest| rest.strip_suffix('"')) {
                match section.as_str() {
                    "[package]" => package = Some(name.to_owned()),
                    "[[bin]]" => {
                        bins.insert(name.to_owned());
                    }
                    _ => {}
                }
            }
        }
        let package = package.unwrap_or_else(|| panic!("{}: no package name", dir.display()));
        if bins.is_empty() && dir.join("src/main.rs").exists() {
            bins.insert(package.clone());
        }
        binaries.insert(package, bins);
    }
    binaries
}

#[test]
fn the_image_ships_each_binary_it_builds() {
    let dockerfile = read(&root().join("Dockerfile"));
    let binaries = workspace_binaries();
    let mut built = BTreeSet::new();
    for command in dockerfile.split("cargo build").skip(1) {
        let words: Vec<&str> = command.split_whitespace().take_while(|w| !matches!(*w, "\\" | "&&")).collect();
        assert!(words.contains(&"--release") && words.contains(&"--locked"), "cargo build {words:?}");
        let packages: Vec<&str> = words.windows(2).filter(|w| w[0] == "-p").map(|w| w[1]).collect();
        // Packages built together share features: ferrum-cli would link the server stack.
        assert_eq!(packages.len(), 1, "one package per cargo build: {words:?}");
        let bins = binaries.get(packages[0]).unwrap_or_else(|| panic!("no workspace package {}", packages[0]));
        built.extend(bins.iter().cloned());
    }
    let shipped: BTreeSet<String> = dockerfile
        .lines()
        .filter(|line| line.starts_with("COPY"))
        .filter_map(|line| line.split_whitespace().find_map(|word| word.strip_prefix("/src/target/release/")))
        .map(str::to_owned)
        .collect();
    assert_eq!(built, shipped, "built (left) and shipped (right) binaries differ");
    assert!(shipped.contains("ferrum") && shipped.contains("ferrum-cli"), "{shipped:?}");
}

/// The port a line sets `FERRUM_GRPC_PORT` to (`FERRUM_GRPC_PORT: "50051"`, `value: "50051"`).
fn grpc_port_set(line: &str) -> Option<u16> {
    let after = &line[line.find("FERRUM_GRPC_PORT")? + "FERRUM_GRPC_PORT".len()..];
    let digits: String = after.chars().skip_while(|c| !c.is_ascii_digit()).take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[test]
fn the_grpc_port_is_exposed_wherever_it_is_set() {
    let exposed: BTreeSet<u16> = read(&root().join("Dockerfile"))
        .lines()
        .filter_map(|line| line.strip_prefix("EXPOSE "))
        .flat_map(|ports| ports.split_whitespace().map(|port| port.parse::<u16>().unwrap()))
        .collect();
    let mut set_somewhere = false;
    for (path, text) in deployment_files() {
        for port in text.lines().filter_map(grpc_port_set) {
            set_somewhere = true;
            assert!(exposed.contains(&port), "{path} sets FERRUM_GRPC_PORT={port}; the image exposes {exposed:?}");
            // The Dockerfile exposes it with EXPOSE; compose publishes it, Kubernetes names it.
            let published = [format!("\"{port}:{port}\""), format!("{{ name: grpc, containerPort: {port} }}")];
            let in_this_file = path.ends_with("Dockerfile") || published.iter().any(|p| text.contains(p.as_str()));
            assert!(in_this_file, "{path} sets port {port} but does not expose it");
        }
    }
    assert!(set_somewhere, "no deployment file serves the gRPC port");
    let service = read(&root().join("deploy/kubernetes/service.yaml"));
    assert!(service.contains("targetPort: grpc"), "the Service does not route the gRPC port");
}
