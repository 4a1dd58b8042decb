//! The campaign's daily select on a large demo clinic (300,000 patients, about 3 million
//! appointments): the whole service as the scheduler runs it (lapsed patients page by page,
//! the exclusion and cooldown rules, last visits, the holdout draw, staging), each run on a cold
//! clinic pool and a fresh app database.
//!
//! Run: `cargo bench -p server --bench campaign` after `cargo bench -p server --bench dashboard`
//! has generated the clinic (set NABD_BENCH_CLINIC for another file). A clinic generated before
//! the patient-history index existed gets it here first.

use clap::Parser;
use nabd::campaign::{self, Campaign};
use nabd::gateway::clinic::Clinic;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::var_os("NABD_BENCH_CLINIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../target/bench/clinic-300000.db"));
    anyhow::ensure!(
        path.exists(),
        "{} is missing: run `cargo bench -p server --bench dashboard` first",
        path.display()
    );
    let clinic_url = format!("sqlite://{}", path.display());
    {
        let pool = sqlx::SqlitePool::connect(&clinic_url).await?;
        sqlx::query(
            "CREATE INDEX IF NOT EXISTS appointment_pt_id_app_dt
             ON appointment (pt_id, app_dt, app_status)",
        )
        .execute(&pool)
        .await?;
        pool.close().await;
    }
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let dir = tempfile::tempdir()?;
        let app_url = format!("sqlite://{}/nabd.db", dir.path().display());
        let cli = nabd::cli::Cli::try_parse_from([
            "nabd",
            "--database-url",
            &app_url,
            "--clinic-url",
            &clinic_url,
            "--now",
            "2026-11-25T05:00",
            "--clinic-timeout-secs",
            "60",
        ])?;
        let config = cli.config;
        let db = nabd::platform::store::open(&config.database_url).await?;
        let clinic = Clinic::from_url(config.clinic_url.as_ref(), 4, config.clinic_timeout())?;
        let instance = nabd::platform::instance::Instance::start(
            &db,
            config.clock()?,
            std::time::Duration::from_secs(5),
        )
        .await?;
        let messaging =
            nabd::messaging::setup::build(&config, db, clinic, config.clock()?, None, instance)
                .map_err(anyhow::Error::msg)?;
        let campaign = Campaign::new(messaging, config.campaign.clone())?;
        let started = Instant::now();
        let report = campaign::select::run(&campaign).await?;
        samples.push(started.elapsed());
        last = Some(report);
    }
    // The one clinic query that does the work, alone, on a cold pool.
    let gateway = nabd::gateway::sqlite::SqliteGateway::new(&clinic_url, Duration::from_secs(60))?;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date");
    let query = nabd::gateway::LapsedQuery {
        today,
        last_visit_before: campaign::select::lapsed_before(today, 365),
        not_visits: vec![3, 4],
        cancelled: vec![3],
        limit: 200,
        offset: 0,
    };
    let started = Instant::now();
    let page = nabd::gateway::ClinicGateway::lapsed_patients(&gateway, &query).await?;
    let lapsed_alone = started.elapsed();
    samples.sort();
    let median = samples[samples.len() / 2];
    println!(
        "\ncampaign select on {} ({RUNS} cold runs): median {:.0} ms, slowest {:.0} ms",
        path.display(),
        ms(median),
        ms(*samples.last().unwrap_or(&Duration::ZERO))
    );
    println!(
        "  lapsed_patients (first page of {}) alone: {:.0} ms",
        page.len(),
        ms(lapsed_alone)
    );
    if let Some(report) = last {
        println!("  last run: {report}");
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
