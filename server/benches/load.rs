//! The public dashboard under load from another process: a release `nabd serve` (its own
//! process, the demo clinic, the figures cached as configured by default) and 64 keep-alive
//! connections from this one, each asking as fast as it is answered for 30 s, as a browser
//! would (`Accept-Encoding: br, gzip`). In the same run, the same load on a small static file
//! from the server's assets sets the yardstick; the server's memory (RSS) is read after the
//! load.
//!
//! The pages run twice in the same run: with the app database on SQLite, then on a throwaway
//! PostgreSQL (what a scaled-out installation serves from), side by side.
//!
//! Run: `cargo bench -p server --bench load` (NABD_LOAD_SECS and NABD_LOAD_CONNECTIONS change
//! the duration and the connections; NABD_LOAD_BACKENDS=sqlite runs SQLite only).

#[path = "../tests/common/postgres.rs"]
mod postgres;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

struct Outcome {
    requests: u64,
    errors: u64,
    /// What the first failed request got, to tell a refused connection from an error status.
    first_error: Option<String>,
    bytes: u64,
    latencies: Vec<Duration>,
    elapsed: Duration,
}

async fn hammer(url: String, connections: usize, seconds: u64) -> Outcome {
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let bytes = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (url, stop, errors, bytes) = (url.clone(), stop.clone(), errors.clone(), bytes.clone());
        let first_error = first_error.clone();
        let failed = move |what: String| {
            errors.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut first) = first_error.lock() {
                first.get_or_insert(what);
            }
        };
        tasks.push(tokio::spawn(async move {
            // One client per connection: each task keeps its own keep-alive connection.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()
                .expect("client");
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                let answer = client
                    .get(&url)
                    .header("accept-encoding", "br, gzip")
                    .send()
                    .await;
                match answer {
                    Ok(response) if response.status().is_success() => {
                        match response.bytes().await {
                            Ok(body) => {
                                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                                latencies.push(sent.elapsed());
                            }
                            Err(error) => failed(format!("body: {error:?}")),
                        }
                    }
                    Ok(response) => failed(format!("status {}", response.status())),
                    Err(error) => failed(format!("request: {error:?}")),
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Outcome {
        requests: latencies.len() as u64,
        errors: errors.load(Ordering::Relaxed),
        first_error: first_error.lock().ok().and_then(|first| first.clone()),
        bytes: bytes.load(Ordering::Relaxed),
        latencies,
        elapsed,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn rss_kb(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::var("NABD_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    let connections: usize = std::env::var("NABD_LOAD_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let nabd = env!("CARGO_BIN_EXE_nabd");
    let dir = tempfile::tempdir()?;
    let clinic = dir.path().join("clinic.db");
    let seeded = Command::new(nabd)
        .args(["demo", "seed", "--out"])
        .arg(&clinic)
        .args([
            "--seed",
            "7",
            "--today",
            "2026-01-05",
            "--now",
            "2026-01-05T12:00",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(seeded.success(), "the demo clinic could not be seeded");
    // The static yardstick: the favicon from the project's assets.
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("assets"))?;
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../public/assets/favicon.svg"),
        site.join("assets/favicon.svg"),
    )?;
    let backends = std::env::var("NABD_LOAD_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in backends.split(',').map(str::trim) {
        let database = match backend {
            "postgres" => Some(postgres::postgres_database().await),
            _ => None,
        };
        let app_db = match &database {
            Some(database) => database.url.clone(),
            None => format!("sqlite://{}/nabd.db", dir.path().display()),
        };
        measure(
            nabd,
            dir.path(),
            &clinic,
            &site,
            &app_db,
            backend,
            connections,
            seconds,
        )
        .await?;
    }
    Ok(())
}

/// Serves the demo clinic with the app database at `app_db` and runs every target against it.
#[allow(clippy::too_many_arguments, reason = "one bench run's knobs")]
async fn measure(
    nabd: &str,
    dir: &std::path::Path,
    clinic: &std::path::Path,
    site: &std::path::Path,
    app_db: &str,
    backend: &str,
    connections: usize,
    seconds: u64,
) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let mut server = Command::new(nabd)
        .arg("serve")
        .env("NABD_ADDR", format!("127.0.0.1:{port}"))
        .env("NABD_DATABASE_URL", app_db)
        .env("NABD_CLINIC_URL", format!("sqlite://{}", clinic.display()))
        .env("NABD_NOW", "2026-01-05T12:00")
        .env("NABD_SITE_ROOT", site)
        .env("NABD_JOBS_ENABLED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(
            dir.join(format!("server-{backend}.log")),
        )?)
        .spawn()?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::ensure!(ready, "the server did not start");
    println!(
        "nabd serve (pid {}) on {base}, app database on {backend}; {connections} connections, \
         {seconds} s each",
        server.id()
    );
    println!("RSS at start: {} KB", rss_kb(server.id(), "VmRSS:"));

    let targets = [
        ("static file /assets/favicon.svg", "/assets/favicon.svg"),
        ("page /en/clinic-dashboard", "/en/clinic-dashboard"),
        (
            "page /ar/clinic-dashboard?doctor=1",
            "/ar/clinic-dashboard?doctor=1",
        ),
        ("API /api/v1/dashboard", "/api/v1/dashboard"),
    ];
    let mut yardstick = 0.0;
    let mut failures = Vec::new();
    println!("| target | requests | errors | req/s | vs static | p50 | p99 | KB/response |");
    println!("|---|---|---|---|---|---|---|---|");
    for (label, path) in targets {
        // Warm the cache and the connections.
        let _ = hammer(format!("{base}{path}"), connections, 2).await;
        let outcome = hammer(format!("{base}{path}"), connections, seconds).await;
        let rate = outcome.requests as f64 / outcome.elapsed.as_secs_f64();
        if yardstick == 0.0 {
            yardstick = rate;
        }
        println!(
            "| {label} | {} | {} | {rate:.0} | {:.2} | {:.1} ms | {:.1} ms | {:.1} |",
            outcome.requests,
            outcome.errors,
            rate / yardstick,
            percentile(&outcome.latencies, 0.5).as_secs_f64() * 1000.0,
            percentile(&outcome.latencies, 0.99).as_secs_f64() * 1000.0,
            outcome.bytes as f64 / outcome.requests.max(1) as f64 / 1024.0,
        );
        if let Some(first) = &outcome.first_error {
            failures.push(format!("{label}: first failure: {first}"));
        }
    }
    for failure in &failures {
        println!("{failure}");
    }
    // What the server said while failing (warnings and errors only: RUST_LOG=warn).
    let said =
        std::fs::read_to_string(dir.join(format!("server-{backend}.log"))).unwrap_or_default();
    for line in said.lines().take(20) {
        println!("server: {line}");
    }
    println!(
        "server memory after the load: RSS {} KB (peak {} KB)",
        rss_kb(server.id(), "VmRSS:"),
        rss_kb(server.id(), "VmHWM:")
    );
    server.kill()?;
    server.wait()?;
    Ok(())
}
