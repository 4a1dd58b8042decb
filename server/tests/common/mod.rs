//! Test helpers shared by the integration tests: Nabd itself on a free loopback port (in this
//! process, or the real binary as a child process), a real TDS (SQL Server wire protocol)
//! server on another, and a way to run T-SQL against it.

#![allow(dead_code, reason = "each test crate uses a different subset")]

pub mod batch;
pub mod bridge;
pub mod postgres;

use clap::Parser;
use nabd::web::state::AppState;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command};
use tokio_util::compat::TokioAsyncWriteCompatExt;

/// Starts Nabd in this process with these command-line arguments (give `--addr 127.0.0.1:0`)
/// and returns the address it serves on.
pub async fn spawn_nabd(args: &[&str]) -> SocketAddr {
    spawn_nabd_with_state(args).await.0
}

/// Starts Nabd in this process like [`spawn_nabd`] and also returns its shared state, for tests
/// that queue messages or read its databases directly.
pub async fn spawn_nabd_with_state(args: &[&str]) -> (SocketAddr, AppState) {
    let cli = nabd::cli::Cli::try_parse_from(args).expect("valid arguments");
    let app = nabd::web::Application::build(cli.config)
        .await
        .expect("the server builds");
    let addr = app.local_addr().expect("bound");
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    (addr, state)
}

/// The real `nabd` binary with `args`, run in `dir` with nothing of this process's environment
/// but `PATH`: a free loopback port, quiet job-store logs, then `env` (later entries win).
pub fn nabd_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nabd"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info,sqlx=warn,apalis=warn")
        .env("NABD_ADDR", "127.0.0.1:0")
        .current_dir(dir);
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A free loopback address (`127.0.0.1:<port>`) for a `nabd serve` child process.
pub fn free_addr() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    format!("127.0.0.1:{port}")
}

/// Creates a clinic database at `path` with the contract's tables (and a PMS's indexes), runs
/// `fixtures` in it, and returns a pool on it.
pub async fn sqlite_clinic(path: &Path, fixtures: &'static str) -> sqlx::SqlitePool {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let pool = sqlx::SqlitePool::connect(&url)
        .await
        .expect("create clinic");
    sqlx::raw_sql(nabd::gateway::sqlite::SCHEMA)
        .execute(&pool)
        .await
        .expect("schema");
    sqlx::raw_sql(fixtures)
        .execute(&pool)
        .await
        .expect("fixtures");
    pool
}

/// A child process that is killed when the test lets go of it, pass or fail.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts an empty iridium TDS server on a free loopback port (no login, TLS off) and returns
/// its ADO.NET connection string.
pub async fn start_tds_server() -> String {
    let config = iridium_server::ServerConfig::no_auth()
        .port(0)
        .disable_tls();
    let mut server =
        iridium_server::TdsServer::new_with_database(iridium_core::Database::new(), config);
    let addr = server.bind().await.expect("the TDS server binds");
    tokio::spawn(async move {
        let _ = server.run().await;
    });
    format!(
        "server=tcp:127.0.0.1,{};database=master;encrypt=DANGER_PLAINTEXT",
        addr.port()
    )
}

/// Runs each statement, in order, on one connection; panics naming the statement that failed.
pub async fn run_statements(config: &tiberius::Config, statements: &[String]) {
    let tcp = tokio::net::TcpStream::connect(config.get_addr())
        .await
        .expect("tcp");
    let mut client = tiberius::Client::connect(config.clone(), tcp.compat_write())
        .await
        .expect("tds login");
    for statement in statements {
        client
            .simple_query(statement.as_str())
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"))
            .into_results()
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
}

/// Signs `username` in at the Nabd at `base` through the JSON API and returns the session
/// cookie (`name=value`).
pub async fn session_cookie(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> String {
    let signed_in = client
        .post(format!("{base}/api/v1/admin/sign-in"))
        .header("origin", base)
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("the sign-in answers");
    assert_eq!(
        signed_in.status(),
        reqwest::StatusCode::OK,
        "{username} signs in"
    );
    signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_owned()
}
