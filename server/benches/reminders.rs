//! What reminders that stay true cost:
//!
//! 1. the send-time re-check, one look-up of an appointment by id, on the large demo clinic
//!    (300,000 patients, about 3 million appointments): 2,000 random ids on one pool, the first
//!    on a cold one;
//! 2. a day-before run for a clinic with 400 appointments tomorrow: the whole service as the
//!    scheduler runs it at the slot's start, until every outbox row and every timer in the job
//!    store is written; each run on a fresh app database and job store.
//!
//! Run: `cargo bench -p server --bench reminders` (the large clinic is generated on the first
//! run, as `cargo bench -p server --bench dashboard` does; NABD_BENCH_CLINIC for another file).

use clap::Parser;
use nabd::gateway::ClinicGateway;
use nabd::gateway::clinic::Clinic;
use nabd::gateway::sqlite::SqliteGateway;
use nabd::messaging::reminders::{self, Touches};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

const LOOKUPS: usize = 2_000;
const RUNS: usize = 5;
const TOMORROW: usize = 400;

fn percentile(samples: &mut [Duration], share: f64) -> Duration {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * share).round() as usize;
    samples[index]
}

async fn large_clinic() -> anyhow::Result<PathBuf> {
    let path = std::env::var_os("NABD_BENCH_CLINIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../target/bench/clinic-300000.db"));
    if !path.exists() {
        println!("generating {} (300,000 patients)...", path.display());
        nabd::demo::seed(&nabd::demo::SeedOptions {
            out: path.clone(),
            seed: 42,
            patients: 300_000,
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid"),
            now: chrono::NaiveTime::from_hms_opt(10, 30, 0).expect("valid"),
            progress: true,
        })
        .await?;
    }
    Ok(path)
}

async fn lookups(path: &Path) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", path.display());
    let pool = sqlx::SqlitePool::connect(&url).await?;
    let (low, high): (i64, i64) = sqlx::query_as("SELECT MIN(id), MAX(id) FROM appointment")
        .fetch_one(&pool)
        .await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appointment")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    let gateway = SqliteGateway::new(&url, Duration::from_secs(60))?;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let started = Instant::now();
    let first = gateway.appointment(rng.random_range(low..=high)).await?;
    let cold = started.elapsed();
    let mut samples = Vec::with_capacity(LOOKUPS);
    let mut found = usize::from(first.is_some());
    for _ in 0..LOOKUPS {
        let id = rng.random_range(low..=high);
        let started = Instant::now();
        found += usize::from(gateway.appointment(id).await?.is_some());
        samples.push(started.elapsed());
    }
    let mean = samples.iter().sum::<Duration>() / LOOKUPS as u32;
    println!(
        "appointment look-up by id on {count} appointments: first (cold pool) {:.2} ms; \
         {LOOKUPS} random ids: median {:.3} ms, p99 {:.3} ms, max {:.3} ms, mean {:.3} ms \
         ({found} found)",
        cold.as_secs_f64() * 1e3,
        percentile(&mut samples, 0.5).as_secs_f64() * 1e3,
        percentile(&mut samples, 0.99).as_secs_f64() * 1e3,
        percentile(&mut samples, 1.0).as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
    );
    Ok(())
}

/// A clinic with `TOMORROW` appointments on 2026-01-06, half confirmed, every mobile valid.
async fn busy_tomorrow(dir: &Path) -> anyhow::Result<String> {
    let url = format!("sqlite://{}/clinic.db?mode=rwc", dir.display());
    let pool = sqlx::SqlitePool::connect(&url).await?;
    sqlx::raw_sql(nabd::gateway::sqlite::SCHEMA)
        .execute(&pool)
        .await?;
    sqlx::query("INSERT INTO doctor VALUES (1, 'د. هند', 'Dr. Hind')")
        .execute(&pool)
        .await?;
    let mut tx = pool.begin().await?;
    for index in 0..TOMORROW {
        let minutes = 8 * 60 + (index * 780 / TOMORROW);
        sqlx::query(
            "INSERT INTO appointment VALUES ($1, $2, $3, $4, 1, 'د. هند', '2026-01-06', $5, NULL, $6,
                                             '2026-01-01 10:00:00')",
        )
        .bind(index as i64 + 1)
        .bind(index as i64 + 1)
        .bind(format!("مريض {index}"))
        .bind(format!("05{:08}", 10_000_000 + index))
        .bind(format!("{:02}:{:02}:00", minutes / 60, minutes % 60))
        .bind((index % 2) as i64)
.execute(&mut *tx)
.await?;
    }
    tx.commit().await?;
    pool.close().await;
    Ok(format!("sqlite://{}/clinic.db", dir.display()))
}

async fn day_before() -> anyhow::Result<()> {
    let mut samples = Vec::new();
    for _ in 0..RUNS {
        let dir = tempfile::tempdir()?;
        let clinic_url = busy_tomorrow(dir.path()).await?;
        let app_url = format!("sqlite://{}/nabd.db", dir.path().display());
        let cli = nabd::cli::Cli::try_parse_from([
            "nabd",
            "--database-url",
            &app_url,
            "--clinic-url",
            &clinic_url,
            "--now",
            "2026-01-05T18:00",
        ])?;
        let config = cli.config;
        let db = nabd::platform::store::open(&config.database_url).await?;
        let store =
            nabd::jobs::open_store(&config.messaging.jobs_url(&config.database_url)).await?;
        let timers: Arc<dyn nabd::messaging::outbox::Timers> =
            Arc::new(nabd::jobs::StoreTimers::new(&store));
        let clinic = Clinic::from_config(&config)?;
        let instance =
            nabd::platform::instance::Instance::start(&db, config.clock()?, Duration::from_secs(5))
                .await?;
        let messaging = nabd::messaging::setup::build(
            &config,
            db.clone(),
            clinic,
            config.clock()?,
            Some(timers),
            instance,
        )
        .map_err(anyhow::Error::msg)?;
        let started = Instant::now();
        let report = reminders::run(&messaging, Touches::DayBefore, false).await?;
        samples.push(started.elapsed());
        let rows: i64 = nabd::db!(
            &db,
            fetch_one,
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE touch = 'day_before'")
        )?;
        let nabd::jobs::JobStore::Sqlite(store) = &store else {
            anyhow::bail!("the bench's job store is SQLite");
        };
        let jobs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM Jobs")
            .fetch_one(store)
            .await?;
        anyhow::ensure!(
            report.planned.len() == TOMORROW && rows == TOMORROW as i64 && jobs == TOMORROW as i64,
            "queued {} messages, {rows} rows, {jobs} timers",
            report.planned.len()
        );
    }
    println!(
        "day-before run, {TOMORROW} appointments tomorrow (outbox rows and timers written): \
         median {:.0} ms, slowest {:.0} ms ({RUNS} runs)",
        percentile(&mut samples, 0.5).as_secs_f64() * 1e3,
        percentile(&mut samples, 1.0).as_secs_f64() * 1e3,
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    day_before().await?;
    let path = large_clinic().await?;
    lookups(&path).await?;
    Ok(())
}
