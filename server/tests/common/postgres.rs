#![allow(dead_code, reason = "each test crate uses a different subset")]

//! A throwaway PostgreSQL for the tests: `initdb` and `pg_ctl` (as the `postgres` user when
//! run as root, which PostgreSQL requires) in a temporary folder, on a free loopback port,
//! with `fsync` off. One server is shared by the tests of a test binary while any of them
//! holds it, and stopped when the last lets go; each test gets a database of its own.
//!
//! `NABD_TEST_BACKEND=postgres` runs the suites that use [`app_database`] on PostgreSQL
//! instead of SQLite (CI runs them both ways).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A running throwaway PostgreSQL server.
pub struct Server {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
}

static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
static DATABASES: AtomicU32 = AtomicU32::new(0);

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

/// The newest PostgreSQL's programs Debian installed.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (.ci/setup.sh installs it)")
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    versions.pop().expect("a PostgreSQL version").1
}

/// Runs one of PostgreSQL's programs, as the `postgres` user when this is root.
fn run(bin: &Path, program: &str, args: &[&str]) {
    let path = bin.join(program);
    let mut command = if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(&path);
        command
    } else {
        Command::new(&path)
    };
    let out = command.args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free port")
}

impl Server {
    /// The shared server, started when none is running.
    pub fn shared() -> Arc<Self> {
        let mut shared = SHARED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(server) = shared.upgrade() {
            return server;
        }
        let server = Arc::new(Self::start());
        *shared = Arc::downgrade(&server);
        server
    }

    /// Starts a server of its own.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("nabd-pg")
            .tempdir()
            .expect("temp dir");
        if is_root() {
            let status = Command::new("chown")
                .args(["postgres", dir.path().to_str().expect("utf-8")])
                .status()
                .expect("chown");
            assert!(status.success());
        }
        let bin = bin_dir();
        let data = dir.path().join("data");
        let data = data.to_str().expect("utf-8");
        run(
            &bin,
            "initdb",
            &["-D", data, "-U", "nabd", "--auth=trust", "-N", "-E", "UTF8"],
        );
        let port = free_port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB \
             -c max_connections=200",
            dir.path().display()
        );
        let log = dir.path().join("log");
        run(
            &bin,
            "pg_ctl",
            &[
                "-D",
                data,
                "-w",
                "-l",
                log.to_str().expect("utf-8"),
                "-o",
                &options,
                "start",
            ],
        );
        Self { dir, port, bin }
    }

    /// The URL of database `name` on this server.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://nabd@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates a fresh database and returns its URL.
    pub async fn new_database(&self) -> String {
        let name = format!(
            "nabd_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let admin = sqlx::PgPool::connect(&self.url("postgres"))
            .await
            .expect("the throwaway PostgreSQL answers");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .expect("create database");
        admin.close().await;
        self.url(&name)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        if let Some(data) = data.to_str() {
            let path = self.bin.join("pg_ctl");
            let mut command = if is_root() {
                let mut command = Command::new("runuser");
                command.args(["-u", "postgres", "--"]).arg(&path);
                command
            } else {
                Command::new(&path)
            };
            let _ = command
                .args(["-D", data, "-m", "immediate", "stop"])
                .output();
        }
    }
}

/// Whether the suites run on PostgreSQL (`NABD_TEST_BACKEND=postgres`).
pub fn selected() -> bool {
    std::env::var("NABD_TEST_BACKEND").is_ok_and(|backend| backend == "postgres")
}

/// The app database a test runs on: SQLite in `dir`, or a fresh PostgreSQL database when the
/// suites run on PostgreSQL. Holding it keeps the server up.
pub struct AppDatabase {
    pub url: String,
    pub server: Option<Arc<Server>>,
}

/// The app database for a test whose files live in `dir`.
pub async fn app_database(dir: &Path) -> AppDatabase {
    if selected() {
        let server = Server::shared();
        let url = server.new_database().await;
        return AppDatabase {
            url,
            server: Some(server),
        };
    }
    AppDatabase {
        url: format!("sqlite://{}/nabd.db", dir.display()),
        server: None,
    }
}

/// The app database kept in `dir`: the same one each time a test starts Nabd again on that
/// folder (on PostgreSQL, its URL is remembered in `dir/app-database-url`).
pub async fn app_database_in(dir: &Path) -> AppDatabase {
    if !selected() {
        return app_database(dir).await;
    }
    let remembered = dir.join("app-database-url");
    if let Ok(url) = std::fs::read_to_string(&remembered) {
        return AppDatabase {
            url,
            server: Some(Server::shared()),
        };
    }
    let database = app_database(dir).await;
    std::fs::write(&remembered, &database.url).expect("remember the database");
    database
}

/// A fresh PostgreSQL database whatever the suite runs on (for the tests that are about
/// PostgreSQL itself).
pub async fn postgres_database() -> AppDatabase {
    let server = Server::shared();
    let url = server.new_database().await;
    AppDatabase {
        url,
        server: Some(server),
    }
}

/// Connects to the app database at `url` (without migrating it), to look at its rows.
pub async fn connect(url: &str) -> nabd::platform::store::Db {
    nabd::platform::store::connect(url)
        .await
        .expect("the app database opens")
}
