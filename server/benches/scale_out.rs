//! Delivery throughput with 1, 2 and 4 release `nabd serve` processes on one throwaway
//! PostgreSQL, sending through a zero-latency whatsapp-web bridge double on loopback: how many
//! messages a second the processes send together, how many claims collided (a process found a
//! message another had just claimed), and that none arrived twice. The same run with one
//! process on SQLite is the baseline. The batch is queued ten seconds before it falls due, so
//! that the time measured (from the due instant to the last message recorded sent) is
//! delivery alone; it includes the delivery worker's half-second poll.
//!
//! Run: `cargo bench -p server --bench scale_out` (NABD_SCALE_MESSAGES changes the batch,
//! 2,000 by default).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn serve(
    dir: &std::path::Path,
    n: usize,
    app_db: &str,
    clinic: &str,
    bridge: &str,
) -> (common::Killed, String) {
    let addr = common::free_addr();
    let child = common::nabd_command(
        dir,
        &["serve"],
        &[
            ("NABD_ADDR", &addr),
            ("NABD_DATABASE_URL", app_db),
            ("NABD_CLINIC_URL", clinic),
            ("NABD_WHATSAPP_PROVIDER", "whatsapp-web"),
            ("NABD_WHATSAPP_WEB_URL", bridge),
            ("NABD_SENDING_HOURS_OTHER", "00:00-23:59"),
            ("NABD_SCHEDULE_REMINDERS", "0 0 0 1 1 * 2099"),
            ("NABD_SCHEDULE_FEEDBACK", "0 0 0 1 1 * 2099"),
            ("RUST_LOG", "warn"),
        ],
    )
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(dir.join(format!("serve-{n}.log"))).expect("log"))
    .spawn()
    .expect("nabd starts");
    (common::Killed(child), format!("http://{addr}"))
}

async fn ready(base: &str) -> anyhow::Result<serde_json::Value> {
    for _ in 0..300 {
        if let Ok(answer) = reqwest::get(format!("{base}/readyz")).await
            && answer.status().is_success()
        {
            return Ok(answer.json().await?);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("{base} never became ready")
}

/// How long before the batch falls due it is queued: every timer is in the store by then, so
/// the measured time is delivery alone.
const LEAD: Duration = Duration::from_secs(10);

/// Queues `count` manual messages all due at one instant, `LEAD` from now; returns the
/// database and that instant.
async fn queue(app_db: &str, count: usize) -> anyhow::Result<(nabd::platform::store::Db, Instant)> {
    let jobs_url = if app_db.starts_with("sqlite") {
        app_db.replace("nabd.db", "nabd-jobs.db")
    } else {
        app_db.to_owned()
    };
    let due = Instant::now() + LEAD;
    let at = chrono::Utc::now() + chrono::Duration::from_std(LEAD)?;
    let (db, _) = common::batch::queue_manual(app_db, &jobs_url, "bench", count, at).await?;
    anyhow::ensure!(Instant::now() < due, "queuing took longer than the lead");
    Ok((db, due))
}

struct Run {
    label: String,
    seconds: f64,
    sent: usize,
    collided: u64,
    duplicates: usize,
}

async fn run(label: &str, processes: usize, app_db: &str, count: usize) -> anyhow::Result<Run> {
    let dir = tempfile::tempdir()?;
    let clinic_path = dir.path().join("clinic.db");
    let clinic = format!("sqlite://{}?mode=rwc", clinic_path.display());
    {
        let pool = sqlx::SqlitePool::connect(&clinic).await?;
        sqlx::raw_sql(nabd::gateway::sqlite::SCHEMA)
            .execute(&pool)
            .await?;
        pool.close().await;
    }
    let (bridge_url, bridge) = common::bridge::start_bridge().await;
    let mut served = Vec::new();
    for n in 0..processes {
        served.push(serve(dir.path(), n, app_db, &clinic, &bridge_url));
    }
    for (_, base) in &served {
        ready(base).await?;
    }
    let (db, started) = queue(app_db, count).await?;
    tokio::time::sleep_until(started.into()).await;
    loop {
        let left: i64 = nabd::db!(
            &db,
            fetch_one,
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'sending')")
        )?;
        if left == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "{left} never sent"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut collided = 0;
    for (_, base) in &served {
        collided += ready(base).await?["claims_lost"].as_u64().unwrap_or(0);
    }
    let received = bridge.lock().expect("lock").received.clone();
    let distinct: HashSet<&String> = received.iter().map(|(_, body)| body).collect();
    db.close().await;
    Ok(Run {
        label: label.to_owned(),
        seconds,
        sent: received.len(),
        collided,
        duplicates: received.len() - distinct.len(),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let count: usize = std::env::var("NABD_SCALE_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut runs = Vec::new();
    {
        let dir = tempfile::tempdir()?;
        let sqlite = format!("sqlite://{}/nabd.db", dir.path().display());
        runs.push(run("1 process, SQLite", 1, &sqlite, count).await?);
    }
    for processes in [1, 2, 4] {
        let database = common::postgres::postgres_database().await;
        let label = format!(
            "{processes} process{}, PostgreSQL",
            if processes > 1 { "es" } else { "" }
        );
        runs.push(run(&label, processes, &database.url, count).await?);
    }
    println!("{count} messages queued at once, zero-latency bridge double, release build");
    println!("| setup | seconds | messages/s | claims that collided | received twice |");
    println!("|---|---|---|---|---|");
    for run in &runs {
        println!(
            "| {} | {:.2} | {:.0} | {} | {} |",
            run.label,
            run.seconds,
            run.sent as f64 / run.seconds,
            run.collided,
            run.duplicates
        );
        anyhow::ensure!(
            run.duplicates == 0,
            "{}: a message arrived twice",
            run.label
        );
        anyhow::ensure!(
            run.sent == count,
            "{}: {} of {count} arrived",
            run.label,
            run.sent
        );
    }
    Ok(())
}
