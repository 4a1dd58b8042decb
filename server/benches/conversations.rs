//! What two-way conversations cost, over real HTTP against Nabd in this process:
//!
//! 1. the inbox's first page (`GET /api/v1/admin/conversations`, each filter, and a search by
//!    number and by name) with 50,000 stored replies from 10,000 numbers, as a signed-in admin;
//! 2. one signed Cloud API webhook delivery of 100 new replies (each linked, read for intent and
//!    filed in its conversation), from the request to the 200.
//!
//! The replies are stored through the same webhook, 500 to a delivery, before anything is
//! timed. Run: `cargo bench -p server --bench conversations`.

use clap::Parser;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::{Duration, Instant};

const NUMBERS: usize = 10_000;
const STORED: usize = 50_000;
const SAMPLES: usize = 200;
const DELIVERY: usize = 100;
const DELIVERIES: usize = 30;
const SECRET: &str = "bench-secret";

const PHRASES: [&str; 8] = [
    "نعم إن شاء الله",
    "ما اقدر احضر",
    "ابي اغير الموعد",
    "ok 👍",
    "متى فيه موعد؟",
    "شكراً",
    "reschedule please",
    "ابي احجز",
];

fn percentile(samples: &mut [Duration], share: f64) -> Duration {
    samples.sort();
    samples[((samples.len() as f64 - 1.0) * share).round() as usize]
}

fn delivery(messages: Vec<Value>) -> (String, String) {
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{ "id": "WABA", "changes": [{ "field": "messages", "value": {
            "messaging_product": "whatsapp", "messages": messages } }] }]
    })
    .to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    (body, signature)
}

fn reply(index: usize, number: usize, at: i64) -> Value {
    json!({
        "from": format!("9665{:08}", 10_000_000 + number),
        "id": format!("wamid.BENCH{index}"),
        "timestamp": at.to_string(),
        "type": "text",
        "text": { "body": PHRASES[index % PHRASES.len()] },
    })
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
        "--jobs-enabled",
        "false",
        "--cloud-api-app-secret",
        SECRET,
    ])?;
    let app = nabd::web::Application::build(cli.config).await?;
    let base = format!("http://{}", app.local_addr()?);
    let state = app.state().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    let client = reqwest::Client::new();
    let post = |body: String, signature: String| {
        client
            .post(format!("{base}/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
    };

    let started = Instant::now();
    let now = chrono::Utc::now().timestamp();
    for chunk in (0..STORED).collect::<Vec<_>>().chunks(500) {
        let messages = chunk
            .iter()
            .map(|&i| reply(i, i % NUMBERS, now - (STORED - i) as i64))
            .collect();
        let (body, signature) = delivery(messages);
        let answer = post(body, signature).await?;
        anyhow::ensure!(answer.status().is_success(), "seeding: {}", answer.status());
    }
    let (messages, conversations): (i64, i64) = nabd::db!(
        &state.db,
        fetch_one,
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM inbound_messages), (SELECT COUNT(*) FROM conversations)",
        )
    )?;
    println!(
        "stored {messages} replies in {conversations} conversations in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    nabd::admin::create_user(
        &state.db,
        "bench",
        "bench password 2026",
        nabd::admin::Role::Admin,
        chrono::Utc::now(),
    )
    .await?;
    let signed_in = client
        .post(format!("{base}/api/v1/admin/sign-in"))
        .header("origin", &base)
        .json(&json!({ "username": "bench", "password": "bench password 2026" }))
        .send()
        .await?;
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no session"))?;

    println!("inbox first page, {SAMPLES} requests each (median / p95 / max):");
    for query in [
        "filter=needs_action",
        "filter=confirmations",
        "filter=all",
        "filter=all&q=966510004321",
        "filter=all&q=%D8%B3%D8%A7%D8%B1%D8%A9",
    ] {
        let url = format!("{base}/api/v1/admin/conversations?{query}");
        let mut samples = Vec::with_capacity(SAMPLES);
        let mut rows = 0;
        for _ in 0..SAMPLES {
            let start = Instant::now();
            let answer = client.get(&url).header("cookie", &cookie).send().await?;
            anyhow::ensure!(answer.status().is_success(), "{query}: {}", answer.status());
            let list: Vec<Value> = answer.json().await?;
            samples.push(start.elapsed());
            rows = list.len();
        }
        let max = *samples.iter().max().expect("samples");
        println!(
            "  {query:<42} {rows:>3} rows  {:>7.2} ms  {:>7.2} ms  {:>7.2} ms",
            percentile(&mut samples, 0.5).as_secs_f64() * 1e3,
            percentile(&mut samples, 0.95).as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
        );
    }

    let mut samples = Vec::with_capacity(DELIVERIES);
    for run in 0..DELIVERIES {
        let messages = (0..DELIVERY)
            .map(|i| {
                let index = STORED + run * DELIVERY + i;
                reply(index, (index * 7) % NUMBERS, now + index as i64)
            })
            .collect();
        let (body, signature) = delivery(messages);
        let start = Instant::now();
        let answer = post(body, signature).await?;
        samples.push(start.elapsed());
        anyhow::ensure!(
            answer.status().is_success(),
            "delivery: {}",
            answer.status()
        );
    }
    let max = *samples.iter().max().expect("samples");
    println!(
        "webhook delivery of {DELIVERY} new replies, {DELIVERIES} deliveries: median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        percentile(&mut samples, 0.5).as_secs_f64() * 1e3,
        percentile(&mut samples, 0.95).as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3,
    );
    Ok(())
}
