//! The dashboard's query set on a large demo clinic (300,000 patients, about 3 million
//! appointments), timed cold: a fresh connection pool for every run, so SQLite's page cache is
//! empty (the operating system's file cache is not cleared; see BENCHMARKS.md).
//!
//! Run: `cargo bench -p server --bench dashboard` (set NABD_BENCH_PATIENTS for another size,
//! NABD_BENCH_CLINIC for another file). The clinic is generated on the first run and reused.

use chrono::{NaiveDate, NaiveTime};
use nabd::dashboard::{Periods, fetch};
use nabd::demo::{SeedOptions, seed};
use nabd::gateway::sqlite::SqliteGateway;
use nabd::gateway::{ClinicGateway, GatewayError};
use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).expect("valid date")
}

async fn time<T>(
    future: impl Future<Output = Result<T, GatewayError>>,
) -> Result<Duration, GatewayError> {
    let started = Instant::now();
    future.await?;
    Ok(started.elapsed())
}

fn fresh(url: &str) -> SqliteGateway {
    SqliteGateway::new(url, Duration::from_secs(60)).expect("clinic url")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let patients: u32 = std::env::var("NABD_BENCH_PATIENTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(300_000);
    let path = std::env::var_os("NABD_BENCH_CLINIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("../target/bench/clinic-{patients}.db")));
    if !path.exists() {
        println!("generating {} ({patients} patients)...", path.display());
        let report = seed(&SeedOptions {
            out: path.clone(),
            seed: 42,
            patients,
            today: today(),
            now: NaiveTime::from_hms_opt(10, 30, 0).expect("valid time"),
            progress: true,
        })
        .await?;
        println!(
            "seeded: {} patients, {} appointments, {} invoices, {} receipts in {:.1} s",
            report.patients,
            report.appointments,
            report.invoices,
            report.receipts,
            report.elapsed_ms as f64 / 1000.0
        );
    }
    let url = format!("sqlite://{}", path.display());
    let periods = Periods::for_today(today());
    let cancelled = [3i64];

    let mut whole = Vec::new();
    let mut remembered = Vec::new();
    let mut per_query: Vec<(&str, Vec<Duration>)> = vec![
        ("doctors", vec![]),
        ("revenue_by_day (12 months)", vec![]),
        ("revenue_by_doctor (30 days)", vec![]),
        ("patient_revenue (30 days)", vec![]),
        ("patient_revenue (30 days, one doctor)", vec![]),
        ("appointments_by_day (30 days)", vec![]),
        ("new_patients (this month)", vec![]),
    ];
    for _ in 0..RUNS {
        // The whole set as the dashboard runs it (concurrently), on a cold pool.
        let gateway = fresh(&url);
        let started = Instant::now();
        fetch(&gateway, &periods, &cancelled, Some(1), None).await?;
        whole.push(started.elapsed());

        // As the server runs it once it has read the year: settled days come from Nabd's
        // memory, the last 14 days and the rest from the clinic, on a cold pool.
        let history = nabd::dashboard::history::RevenueHistory::new();
        fetch(&fresh(&url), &periods, &cancelled, Some(1), Some(&history)).await?;
        let gateway = fresh(&url);
        let started = Instant::now();
        fetch(&gateway, &periods, &cancelled, Some(1), Some(&history)).await?;
        remembered.push(started.elapsed());

        // Each query alone, each on its own cold pool.
        let samples = [
            time(fresh(&url).doctors()).await?,
            time(fresh(&url).revenue_by_day(periods.last_12_months)).await?,
            time(fresh(&url).revenue_by_doctor(periods.last_30_days)).await?,
            time(fresh(&url).patient_revenue(periods.last_30_days, None)).await?,
            time(fresh(&url).patient_revenue(periods.last_30_days, Some(1))).await?,
            time(fresh(&url).appointments_by_day(periods.last_30_days, &cancelled)).await?,
            time(fresh(&url).new_patients(periods.this_month)).await?,
        ];
        for ((_, list), sample) in per_query.iter_mut().zip(samples) {
            list.push(sample);
        }
    }

    println!(
        "\ndashboard query set on {} ({RUNS} cold runs, median):",
        path.display()
    );
    println!(
        "  {:<40} {:>9.1} ms",
        "whole set (concurrent, as served)",
        ms(median(whole.clone()))
    );
    println!(
        "  {:<40} {:>9.1} ms",
        "whole set, slowest run",
        ms(*whole.iter().max().unwrap_or(&Duration::ZERO))
    );
    println!(
        "  {:<40} {:>9.1} ms",
        "whole set, settled days remembered",
        ms(median(remembered.clone()))
    );
    println!(
        "  {:<40} {:>9.1} ms",
        "  (slowest run)",
        ms(*remembered.iter().max().unwrap_or(&Duration::ZERO))
    );
    for (name, samples) in per_query {
        println!("  {:<40} {:>9.1} ms", name, ms(median(samples)));
    }
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
