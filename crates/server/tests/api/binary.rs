//! The `ferrum` binary as an operator runs it.

use std::{
    process::{Command, Stdio},
    time::Duration,
};

use ferrum_server::BUILD;

fn ferrum() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrum"));
    command.env_clear().env("PATH", std::env::var_os("PATH").unwrap_or_default());
    command
}

#[test]
fn prints_its_version_and_build_date() {
    let output = ferrum().arg("--version").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains(BUILD.version) && text.contains(BUILD.build_date), "{text}");
}

#[test]
fn refuses_bad_configuration_with_status_2_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("FERRUM_HTTP_REQUEST_TIMEOUT", "soon"),
        ("FERRUM_HTTP_MAX_POST_SIZE", "huge"),
        ("FERRUM_MODULES", "patients,billing"),
        ("FERRUM_DATABASE_URL", "mysql://db/x"),
        ("FERRUM_HTTP_API_PORT", "70000"),
        ("FERRUM_ENV", "staging"),
        ("FERRUM_METRICS", "sometimes"),
        ("FERRUM_GRPC_PORT", "grpc"),
        ("FERRUM_CALC_MAX_N", "0"),
    ];
    for (variable, value) in cases {
        let output = ferrum().current_dir(dir.path()).env(variable, value).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{variable}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(variable) || stderr.contains("--env"), "{variable}: {stderr}");
    }
    let weak = ferrum().current_dir(dir.path()).env("FERRUM_ENV", "production").output().unwrap();
    assert_eq!(weak.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&weak.stderr).contains("FERRUM_HTTP_JWT_SIGNING_KEY"));
}

#[test]
fn reads_a_dotenv_file_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".env"), "FERRUM_HTTP_REQUEST_TIMEOUT=eventually\n").unwrap();
    let output = ferrum().current_dir(dir.path()).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("FERRUM_HTTP_REQUEST_TIMEOUT"));
    // The environment wins over .env.
    let port = free_port();
    let mut child = ferrum()
        .current_dir(dir.path())
        .env("FERRUM_HTTP_REQUEST_TIMEOUT", "2s")
        .env("FERRUM_HTTP_API_PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "ferrum exited: the environment did not win over .env");
        assert!(std::time::Instant::now() < deadline, "not listening in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn serves_on_sqlite_logs_masked_config_and_stops_on_signals() {
    for signal in ["-TERM", "-INT"] {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut child = ferrum()
            .current_dir(dir.path())
            .env("FERRUM_HTTP_API_PORT", port.to_string())
            .env("FERRUM_HTTP_JWT_SIGNING_KEY", "very-secret-signing-key-value")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let ready = client.get(format!("http://127.0.0.1:{port}/health/ready")).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "not ready in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The default database is ferrum.db in the working directory.
        assert!(dir.path().join("ferrum.db").exists());
        let unknown = client.get(format!("http://127.0.0.1:{port}/nowhere?x=1")).header("x-request-id", "trace-me-2");
        assert_eq!(unknown.send().await.unwrap().status(), 404);
        // A compressed body's length is known only once sent: its line comes when it is done.
        let compressed = client
            .get(format!("http://127.0.0.1:{port}/openapi.json"))
            .header("accept-encoding", "gzip")
            .header("x-request-id", "trace-me-3")
            .send()
            .await
            .unwrap();
        assert_eq!(compressed.headers()["content-encoding"], "gzip");
        let sent = compressed.bytes().await.unwrap().len() as u64;
        let killed = Command::new("kill").arg(signal).arg(child.id().to_string()).status().unwrap();
        assert!(killed.success());
        let status = tokio::task::spawn_blocking(move || {
            let status = child.wait();
            let mut out = String::new();
            use std::io::Read;
            child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
            (status, out)
        });
        let (status, logs) = tokio::time::timeout(Duration::from_secs(10), status).await.unwrap().unwrap();
        assert_eq!(status.unwrap().code(), Some(0), "{signal}");
        assert!(!logs.contains("very-secret-signing-key-value"), "the key leaked into the logs");
        let first: serde_json::Value = serde_json::from_str(logs.lines().next().unwrap()).unwrap();
        assert_eq!(first["message"], "starting ferrum");
        assert!(first["config"].as_str().unwrap().contains("********"));
        assert!(logs.lines().all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()));
        // One access line for the request, with every field SPEC 1.7 names.
        let access: Vec<serde_json::Value> = logs
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|line| line["target"] == "ferrum::access" && line["request_id"] == "trace-me-2")
            .collect();
        assert_eq!(access.len(), 1, "{logs}");
        let line = &access[0];
        assert_eq!(
            (&line["level"], &line["method"], &line["path"]),
            (&"INFO".into(), &"GET".into(), &"/nowhere".into())
        );
        assert_eq!((&line["route"], &line["status"], &line["client"]), (&"-".into(), &404.into(), &"127.0.0.1".into()));
        assert!(
            line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0) && line["bytes"].as_u64().is_some_and(|b| b > 0)
        );
        assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        let compressed = logs
            .lines()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .find(|line| line["target"] == "ferrum::access" && line["request_id"] == "trace-me-3")
            .expect("an access line for the compressed answer");
        assert_eq!((&compressed["route"], &compressed["status"]), (&"/openapi.json".into(), &200.into()));
        assert_eq!(compressed["bytes"].as_u64(), Some(sent), "{compressed}");
    }
}

/// `kill -9` in the middle of a burst of creates on SQLite: after a restart, every patient
/// that was answered 201 is there (a 2xx means the write is on disk).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let start = || {
        ferrum()
            .current_dir(dir.path())
            .env("FERRUM_HTTP_API_PORT", port.to_string())
            .env("FERRUM_LOG_LEVEL", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let wait_ready = |client: reqwest::Client, base: String| async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !client.get(format!("{base}/health/ready")).send().await.is_ok_and(|r| r.status() == 200) {
            assert!(tokio::time::Instant::now() < deadline, "not ready in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let mut child = start();
    wait_ready(client.clone(), base.clone()).await;
    let token: serde_json::Value =
        client.get(format!("{base}/generate-token")).send().await.unwrap().json().await.unwrap();
    let token = token["token"].as_str().unwrap().to_owned();

    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut writers = Vec::new();
    for n in 0..300 {
        let (client, base, token, done) = (client.clone(), base.clone(), token.clone(), done_tx.clone());
        writers.push(tokio::spawn(async move {
            let body = serde_json::json!({"first_name": format!("K{n}")});
            let response = client.post(format!("{base}/api/v1/patients")).bearer_auth(token).json(&body).send().await;
            let _ = done.send(());
            let response = response.ok().filter(|r| r.status() == 201)?;
            response.json::<serde_json::Value>().await.ok()?["id"].as_i64()
        }));
    }
    for _ in 0..60 {
        done_rx.recv().await;
    }
    child.kill().unwrap(); // SIGKILL: no chance to flush anything
    let _ = child.wait();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    assert!(!acknowledged.is_empty());

    let mut child = start();
    wait_ready(client.clone(), base.clone()).await;
    for id in &acknowledged {
        let found = client.get(format!("{base}/api/v1/patients/{id}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(found.status(), 200, "patient {id} was acknowledged but is gone after kill -9");
    }
    child.kill().unwrap();
    let _ = child.wait();
}
