//! `/admin/*` (SPEC 1.1 `--admin`, 1.5): mounted only with `--admin`, behind scope `admin`;
//! `GET /admin/config` answers the effective configuration exactly as `ferrum config` prints
//! it, secrets masked.

use std::{process::Command, time::Duration};

use ferrum_platform::auth::AuthKeys;
use ferrum_server::Cli;
use ferrum_testkit::{Backend, TestDb};
use serde_json::Value;

use crate::Server;

/// Secrets given to the server: neither may appear in any answer.
const SIGNING_KEY: &str = "an-admin-test-signing-key-never-shown";
const DATABASE_PASSWORD: &str = "a-database-password-never-shown";

/// The flags of every server here besides the database and `--admin`.
const FLAGS: [&str; 6] =
    ["--jwt-signing-key", SIGNING_KEY, "--database-password", DATABASE_PASSWORD, "--timeout", "7s"];

async fn started(admin: &[&str]) -> (TestDb, Server) {
    let db = TestDb::new(Backend::Sqlite, &[]).await;
    let mut flags = FLAGS.to_vec();
    flags.extend_from_slice(admin);
    let server = Server::start(&db.url, &flags);
    server.wait_ready(Duration::from_secs(10)).await;
    (db, server)
}

/// Keys signing as the servers here do.
fn keys() -> AuthKeys {
    AuthKeys::new(&Cli::try_parse_args(["ferrum", "--jwt-signing-key", SIGNING_KEY]).unwrap().into_config().auth)
}

async fn get_config(server: &Server, token: Option<&str>) -> reqwest::Response {
    let mut request = server.client.get(server.url("/admin/config"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_exist_only_with_the_flag() {
    for off in [&[][..], &["--admin", "false"][..]] {
        let (_db, server) = started(off).await;
        let admin = keys().mint(None, true, None, None).unwrap();
        let response = get_config(&server, Some(&admin)).await;
        assert_eq!(response.status(), 404, "{off:?}");
        assert_eq!(response.headers()["content-type"], "application/problem+json", "{off:?}");
        let doc: Value = server.client.get(server.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
        assert!(doc["paths"]["/admin/config"].is_null(), "{off:?}: documented but not mounted");
        server.stop().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_need_scope_admin() {
    let (_db, server) = started(&["--admin"]).await;
    let keys = keys();

    let missing = get_config(&server, None).await;
    assert_eq!(missing.status(), 401);
    assert_eq!(missing.headers()["www-authenticate"], "Bearer");
    let forged =
        AuthKeys::new(&Cli::try_parse_args(["ferrum", "--jwt-signing-key", "other"]).unwrap().into_config().auth)
            .mint(None, true, None, None)
            .unwrap();
    assert_eq!(get_config(&server, Some(&forged)).await.status(), 401, "a token signed with another key");

    let patients = keys.mint(Some("ops".into()), false, Some("patients care".into()), None).unwrap();
    let forbidden = get_config(&server, Some(&patients)).await;
    assert_eq!(forbidden.status(), 403);
    let body: Value = forbidden.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("admin"), "{body}");

    let scoped = keys.mint(Some("ops".into()), false, Some("patients admin".into()), None).unwrap();
    assert_eq!(get_config(&server, Some(&scoped)).await.status(), 200, "scope admin");
    let all = keys.mint(None, true, None, None).unwrap();
    assert_eq!(get_config(&server, Some(&all)).await.status(), 200, "admin: true");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_is_what_ferrum_config_prints_with_secrets_masked() {
    let (db, server) = started(&["--admin"]).await;
    let response = get_config(&server, Some(&keys().mint(None, true, None, None).unwrap())).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(!text.contains(SIGNING_KEY) && !text.contains(DATABASE_PASSWORD), "a secret leaked: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let setting = |variable: &str| {
        let settings = body["settings"].as_array().unwrap();
        settings.iter().find(|s| s["variable"] == variable).unwrap_or_else(|| panic!("{variable} missing")).clone()
    };
    let masked = serde_json::json!({"variable": "FERRUM_HTTP_JWT_SIGNING_KEY", "value": "********", "source": "flag"});
    assert_eq!(setting("FERRUM_HTTP_JWT_SIGNING_KEY"), masked);
    assert_eq!(setting("FERRUM_DATABASE_PASSWORD")["value"], "********");
    assert_eq!(setting("FERRUM_HTTP_REQUEST_TIMEOUT")["value"], "7s");
    assert_eq!(setting("FERRUM_ADMIN")["value"], "true");
    assert_eq!(setting("FERRUM_ENV")["source"], "default");
    assert_eq!(
        setting("FERRUM_GRPC_PORT"),
        serde_json::json!({"variable": "FERRUM_GRPC_PORT", "value": null, "source": "unset"})
    );
    assert_eq!(body["database"], db.url.as_str());

    // Line for line what the binary prints for the same command line.
    let mut args = vec!["config", "--database-url", db.url.as_str(), "--listen", "127.0.0.1:0"];
    args.extend(FLAGS);
    args.push("--admin");
    // With this process's environment, which the server read too; away from any `.env` file.
    let elsewhere = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_ferrum")).args(&args).current_dir(elsewhere.path()).output().unwrap();
    assert!(output.status.success());
    let printed: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect();
    let mut answered: Vec<String> = body["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| match s["value"].as_str() {
            Some(value) => format!("{}={value}  # {}", s["variable"].as_str().unwrap(), s["source"].as_str().unwrap()),
            None => format!("{}=  # unset", s["variable"].as_str().unwrap()),
        })
        .collect();
    answered.push(format!("# database: \"{}\"", body["database"].as_str().unwrap()));
    answered.push(format!("# listen: {}", body["listen"].as_str().unwrap()));
    assert_eq!(body["listen"], "127.0.0.1:0");
    assert_eq!(answered, printed);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_shows_the_guard() {
    let (_db, server) = started(&["--admin"]).await;
    let doc: Value = server.client.get(server.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let operation = &doc["paths"]["/admin/config"]["get"];
    assert_eq!(operation["security"], serde_json::json!([{"bearer": ["admin"]}]), "{operation}");
    for status in ["200", "401", "403", "429"] {
        assert!(operation["responses"][status].is_object(), "{status} missing: {operation}");
    }
    let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
    assert!(schema.as_str().unwrap().ends_with("/ConfigReport"), "{operation}");
    server.stop().await.unwrap();
}
