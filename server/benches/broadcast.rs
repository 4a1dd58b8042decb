//! A manual broadcast's review of 5,000 numbers, as an admin's browser asks for it: one HTTP
//! request to a running Nabd (release build, app database on disk), pasted text and the same
//! list as a CSV file, each with invalid numbers, duplicates and numbers on the do-not-contact
//! list; then confirming it (5,000 outbox rows, each with its timer in the job runtime).
//!
//! Run: `cargo bench -p server --bench broadcast`.

use clap::Parser;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const NUMBERS: usize = 5_000;
const RUNS: usize = 10;

/// 5,000 entries: 4,600 distinct valid mobiles (100 of them excluded), 200 malformed, 200
/// repeats, written in the forms a clinic's desk uses.
fn list() -> Vec<String> {
    let mut numbers = Vec::with_capacity(NUMBERS);
    for i in 0..4_600u32 {
        let local = format!("05{:08}", 10_000_000 + i * 7);
        numbers.push(match i % 3 {
            0 => local,
            1 => format!("+966 {} {} {}", &local[1..3], &local[3..6], &local[6..]),
            _ => format!("00966{}", &local[1..]),
        });
    }
    for i in 0..200u32 {
        numbers.push(format!("12{i}"));
    }
    for i in 0..200u32 {
        numbers.push(format!("05{:08}", 10_000_000 + i * 7));
    }
    numbers
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db_url = format!("sqlite://{}/nabd.db", dir.path().display());
    let cli = nabd::cli::Cli::try_parse_from([
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &db_url,
        "--now",
        "2026-01-05T12:00",
    ])?;
    let app = nabd::web::Application::build(cli.config).await?;
    let base = format!("http://{}", app.local_addr()?);
    tokio::spawn(app.run_until(std::future::pending()));
    {
        let pool = nabd::platform::store::connect(&db_url).await?;
        nabd::admin::create_user(
            &pool,
            "bench",
            "bench password 2026",
            nabd::admin::Role::Admin,
            chrono::Utc::now(),
        )
        .await?;
        pool.close().await;
    }
    let client = reqwest::Client::new();
    let signed_in = client
        .post(format!("{base}/api/v1/admin/sign-in"))
        .json(&json!({ "username": "bench", "password": "bench password 2026" }))
        .send()
        .await?;
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))?
        .to_owned();
    let csrf = signed_in.json::<Value>().await?["csrf"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };

    let numbers = list();
    let excluded: Vec<&String> = numbers.iter().step_by(46).take(100).collect();
    let imported: Value = post(
        "/api/v1/admin/exclusions/import",
        json!({ "numbers": excluded.iter().map(|n| n.as_str()).collect::<Vec<_>>().join("\n") }),
    )
    .await?
    .json()
    .await?;
    println!("excluded first: {}", imported["added"]);

    let pasted = numbers.join("\n");
    let csv = std::iter::once("name,mobile".to_owned())
        .chain(
            numbers
                .iter()
                .enumerate()
                .map(|(i, n)| format!("Patient {i},\"{n}\"")),
        )
        .collect::<Vec<_>>()
        .join("\r\n");
    let mut last = Value::Null;
    for (label, body) in [
        (
            "pasted",
            json!({ "numbers": pasted, "message": "عرض خاص هذا الأسبوع" }),
        ),
        (
            "csv",
            json!({ "csv": csv, "message": "Special offer this week" }),
        ),
    ] {
        let mut samples = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let started = Instant::now();
            let response = post("/api/v1/admin/broadcasts", body.clone()).await?;
            anyhow::ensure!(
                response.status() == 201,
                "review failed: {}",
                response.status()
            );
            last = response.json().await?;
            samples.push(started.elapsed());
        }
        let max = samples.iter().max().copied().unwrap_or_default();
        println!(
            "review of {NUMBERS} numbers ({label}): median {:?}, max {max:?} over {RUNS} runs; counts {}",
            median(&mut samples),
            last["counts"]
        );
    }

    let id = last["id"].as_i64().unwrap_or_default();
    let started = Instant::now();
    let sent: Value = post(&format!("/api/v1/admin/broadcasts/{id}/send"), json!({}))
        .await?
        .json()
        .await?;
    println!(
        "confirming it ({} messages queued with their timers): {:?}",
        sent["queued"],
        started.elapsed()
    );
    Ok(())
}
