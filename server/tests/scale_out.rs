//! Two real `nabd serve` processes on one throwaway PostgreSQL, sending through one
//! whatsapp-web bridge double: one is SIGKILLed mid-batch and the survivor finishes; nothing
//! reaches a patient twice and nothing is lost. Both fire the same cron tick and it runs once.
//! A burst of wrong sign-ins spread over both is limited as if there were one process.
//! And `nabd db copy` moves a demo installation from SQLite to PostgreSQL.

mod common;

use common::Killed;
use common::bridge::{Shared, start_bridge};
use nabd::platform::store::Db;
use reqwest::StatusCode;
use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MESSAGES: usize = 200;

/// A clinic with no appointments: the test queues its own messages.
async fn empty_clinic(dir: &Path) -> String {
    common::sqlite_clinic(&dir.join("clinic.db"), "SELECT 1;").await;
    format!("sqlite://{}/clinic.db", dir.display())
}

/// One `nabd serve` on `app_db`, logging to `dir/<name>.log`; returns it and its address.
fn serve(dir: &Path, name: &str, app_db: &str, clinic: &str, bridge: &str) -> (Killed, String) {
    let log = dir.join(format!("{name}.log"));
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
            ("NABD_HEARTBEAT_SECS", "1"),
            ("NABD_SENDING_HOURS_OTHER", "00:00-23:59"),
            ("NABD_DAILY_CONTACT_BUDGET", "1000"),
            ("NABD_SCHEDULE_OUTBOX_SWEEP", "*/2 * * * * *"),
            ("NABD_SCHEDULE_REMINDERS", "*/3 * * * * *"),
            ("NABD_SCHEDULE_FEEDBACK", "0 0 0 1 1 * 2099"),
            ("NABD_ADMIN_SLOWDOWN_MAX_SECS", "0"),
            ("RUST_LOG", "info,nabd::jobs=debug,sqlx=warn,apalis=warn"),
        ],
    )
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log).expect("log"))
    .spawn()
    .expect("nabd starts");
    (Killed(child), format!("http://{addr}"))
}

async fn wait_until_ready(base: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(response) = reqwest::get(format!("{base}/readyz")).await
            && response.status() == StatusCode::OK
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{base} never became ready");
}

/// Queues `MESSAGES` manual messages in the shared outbox, due now, each with a timer in the
/// shared job store, as an admin's command would.
async fn queue_messages(app_db: &str) -> Vec<i64> {
    let now = chrono::Utc::now();
    let (_, ids) = common::batch::queue_manual(app_db, app_db, "scale", MESSAGES, now)
        .await
        .expect("queued");
    ids
}

async fn states(db: &Db) -> Vec<(String, String)> {
    nabd::db!(
        db,
        fetch_all,
        sqlx::query_as("SELECT body, state FROM outbox ORDER BY id")
    )
    .expect("outbox")
}

fn received(bridge: &Shared) -> Vec<String> {
    let bridge = bridge.lock().expect("lock");
    bridge
        .received
        .iter()
        .map(|(_, body)| body.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_postgresql_and_nothing_is_sent_twice_or_lost() {
    let dir = tempfile::tempdir().expect("dir");
    let database = common::postgres::postgres_database().await;
    let app_db = database.url.clone();
    let clinic = empty_clinic(dir.path()).await;
    let (bridge_url, bridge) = start_bridge().await;
    bridge.lock().expect("lock").latency = Duration::from_millis(25);
    let (first, first_base) = serve(dir.path(), "first", &app_db, &clinic, &bridge_url);
    let (second, second_base) = serve(dir.path(), "second", &app_db, &clinic, &bridge_url);
    wait_until_ready(&first_base).await;
    wait_until_ready(&second_base).await;
    let ready: serde_json::Value = reqwest::get(format!("{first_base}/readyz"))
        .await
        .expect("readyz")
        .json()
        .await
        .expect("json");
    assert_eq!(ready["backend"], "postgres");
    let first_instance = ready["instance"].as_str().expect("instance id").to_owned();
    assert!(
        ready["instances"].as_array().map_or(0, Vec::len) >= 2,
        "both processes are listed live: {ready}"
    );

    // Both processes fire the reminder cron (every 3 s) for the same ticks: one runs each, the
    // other finds it claimed. Wait until each has done one or the other.
    let handled_a_tick = |name: &str| {
        let log =
            std::fs::read_to_string(dir.path().join(format!("{name}.log"))).unwrap_or_default();
        log.lines().any(|l| {
            l.contains("reminders")
                && (l.contains("run finished") || l.contains("another instance runs this tick"))
        })
    };
    let start = Instant::now();
    while !(handled_a_tick("first") && handled_a_tick("second")) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "both processes tick the reminder job"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let ids = queue_messages(&app_db).await;
    assert_eq!(ids.len(), MESSAGES);
    // Kill the first process once a quarter of the messages are out.
    let start = Instant::now();
    while received(&bridge).len() < MESSAGES / 4 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "sending never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = first.0.id().to_string();
    let killed = Command::new("kill").args(["-9", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "SIGKILL sent");
    drop(first);
    let at_kill = received(&bridge).len();
    assert!(at_kill < MESSAGES, "the first process was killed mid-batch");

    // The survivor finishes: every message sent or uncertain, nothing queued or in flight.
    let db = common::postgres::connect(&app_db).await;
    let start = Instant::now();
    loop {
        let rows = states(&db).await;
        let settled = rows
            .iter()
            .all(|(_, state)| state == "sent" || state == "uncertain");
        if settled {
            break;
        }
        let log = std::fs::read_to_string(dir.path().join("second.log")).unwrap_or_default();
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "not settled: {:?}\n{log}",
            rows.iter()
                .fold(HashMap::<&str, usize>::new(), |mut m, (_, s)| {
                    *m.entry(s.as_str()).or_default() += 1;
                    m
                })
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rows = states(&db).await;
    let got = received(&bridge);
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for body in &got {
        *counts.entry(body.as_str()).or_default() += 1;
    }
    assert!(
        counts.values().all(|&n| n == 1),
        "no message reached a patient twice"
    );
    for (body, state) in &rows {
        let arrived = counts.contains_key(body.as_str());
        match state.as_str() {
            "sent" => assert!(arrived, "{body} is recorded sent but never arrived"),
            "uncertain" => {}
            other => panic!("{body} ended {other}"),
        }
        assert!(arrived || state == "uncertain", "{body} was lost");
    }
    // Only what the killed process was handing over is uncertain.
    let uncertain_owners: Vec<Option<String>> = nabd::db!(
        &db,
        fetch_all,
        sqlx::query_scalar("SELECT claimed_by FROM outbox WHERE state = 'uncertain'")
    )
    .expect("owners");
    assert!(
        uncertain_owners
            .iter()
            .all(|owner| owner.as_deref() == Some(first_instance.as_str())),
        "{uncertain_owners:?}"
    );
    assert!(
        uncertain_owners.len() < MESSAGES / 4,
        "{}",
        uncertain_owners.len()
    );
    assert!(got.len() >= MESSAGES - uncertain_owners.len());

    // The reminder cron fired in both processes for the same ticks; each tick ran once: the
    // runs the two logs report are the runs recorded, and some ticks were found taken.
    let runs: Vec<(String, String)> = nabd::db!(
        &db,
        fetch_all,
        sqlx::query_as(
            "SELECT tick, instance FROM cron_runs WHERE job = 'reminders' ORDER BY tick"
        )
    )
    .expect("runs");
    let first_log = std::fs::read_to_string(dir.path().join("first.log")).unwrap_or_default();
    let second_log = std::fs::read_to_string(dir.path().join("second.log")).unwrap_or_default();
    let count = |log: &str, what: &str| {
        log.lines()
            .filter(|l| l.contains("reminders") && l.contains(what))
            .count()
    };
    let finished = count(&first_log, "run finished") + count(&second_log, "run finished");
    let taken = count(&first_log, "another instance runs this tick")
        + count(&second_log, "another instance runs this tick");
    assert!(taken >= 1, "a process found a tick the other had claimed");
    assert!(
        finished <= runs.len() && runs.len() <= finished + 2,
        "each recorded run was run by one process: {finished} runs logged, {} recorded",
        runs.len()
    );
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_sign_ins_over_two_processes_is_limited_as_one() {
    let dir = tempfile::tempdir().expect("dir");
    let database = common::postgres::postgres_database().await;
    let app_db = database.url.clone();
    let clinic = empty_clinic(dir.path()).await;
    let (bridge_url, _bridge) = start_bridge().await;
    let (_first, first_base) = serve(dir.path(), "first", &app_db, &clinic, &bridge_url);
    let (_second, second_base) = serve(dir.path(), "second", &app_db, &clinic, &bridge_url);
    wait_until_ready(&first_base).await;
    wait_until_ready(&second_base).await;
    let db = common::postgres::connect(&app_db).await;
    nabd::admin::create_user(
        &db,
        "manager",
        "correct horse battery",
        nabd::admin::Role::Admin,
        chrono::Utc::now(),
    )
    .await
    .expect("admin");
    let client = reqwest::Client::new();
    let attempts = (0..60).map(|n| {
        let base = if n % 2 == 0 {
            &first_base
        } else {
            &second_base
        };
        client
            .post(format!("{base}/api/v1/admin/sign-in"))
            .header("origin", base.as_str())
            .json(&serde_json::json!({ "username": "manager", "password": format!("guess {n}") }))
            .send()
    });
    let answers = futures::future::join_all(attempts).await;
    let statuses: Vec<StatusCode> = answers
        .into_iter()
        .map(|a| a.expect("answers").status())
        .collect();
    // A wrong password answers 422; a blocked attempt 429 without its password checked.
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        checked,
        nabd::admin::limiter::MAX_FAILURES_PER_PAIR,
        "one process's limit, not two: {statuses:?}"
    );
    assert_eq!(checked + limited, 60, "{statuses:?}");
}

/// Runs the real `nabd` on the demo installation in `dir` with its app database at `app_db`.
fn run_nabd(dir: &Path, app_db: &str, args: &[&str]) -> String {
    let clinic = format!("sqlite://{}/clinic.db", dir.display());
    let output = common::nabd_command(
        dir,
        args,
        &[
            ("NABD_DATABASE_URL", app_db),
            ("NABD_CLINIC_URL", &clinic),
            ("NABD_NOW", "2026-01-05T12:00"),
            ("NABD_CAMPAIGN_BATCH_SIZE", "30"),
            ("NABD_CAMPAIGN_SEED", "7"),
        ],
    )
    .output()
    .expect("nabd runs");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_copy_moves_a_demo_installation_to_postgresql_and_it_serves_the_same() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path();
    let sqlite = format!("sqlite://{}/nabd.db", path.display());
    // A demo installation with history: the demo clinic, a campaign batch selected and queued
    // (messages waiting in the outbox), an excluded number, an admin.
    run_nabd(
        path,
        &sqlite,
        &[
            "demo",
            "seed",
            "--out",
            "clinic.db",
            "--patients",
            "400",
            "--today",
            "2026-01-05",
        ],
    );
    run_nabd(path, &sqlite, &["marketing", "select-daily-batch"]);
    run_nabd(path, &sqlite, &["marketing", "queue-staged-messages"]);
    {
        let db = nabd::platform::store::open(&sqlite).await.expect("sqlite");
        nabd::db!(
            &db,
            execute,
            sqlx::query(
                "INSERT INTO do_not_contact (mobile, reason, source, added_at)
                 VALUES ('+966501111111', 'asked', 'admin', '2026-01-05T08:00:00.000Z')"
            )
        )
        .expect("exclusion");
        nabd::admin::create_user(
            &db,
            "manager",
            "correct horse battery",
            nabd::admin::Role::Admin,
            chrono::Utc::now(),
        )
        .await
        .expect("admin");
        db.close().await;
    }
    let report_before = run_nabd(path, &sqlite, &["marketing", "report", "--json"]);
    let outbox_before = run_nabd(
        path,
        &sqlite,
        &["outbox", "list", "--json", "--limit", "500"],
    );
    assert!(outbox_before.lines().count() >= 20, "{outbox_before}");

    let database = common::postgres::postgres_database().await;
    let copy = |extra: &[&str]| {
        let mut args = vec!["db", "copy", "--from", &sqlite, "--to", &database.url];
        args.extend_from_slice(extra);
        common::nabd_command(path, &args, &[])
            .output()
            .expect("runs")
    };
    let copied = copy(&[]);
    let out = String::from_utf8_lossy(&copied.stdout).into_owned();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert!(out.contains("every row count matches"), "{out}");
    assert!(
        out.contains("campaign_patients") && out.contains("outbox"),
        "{out}"
    );
    // A second copy into a target that holds data is refused, and changes nothing.
    let again = copy(&[]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already holds data"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // From PostgreSQL: the same report and the same message log, row for row.
    assert_eq!(
        run_nabd(path, &database.url, &["marketing", "report", "--json"]),
        report_before
    );
    assert_eq!(
        run_nabd(
            path,
            &database.url,
            &["outbox", "list", "--json", "--limit", "500"]
        ),
        outbox_before
    );
    // Served from PostgreSQL: the same user signs in and sees the same exclusions.
    let clinic = format!("sqlite://{}/clinic.db", path.display());
    let (bridge_url, _bridge) = start_bridge().await;
    let (served, base) = serve(path, "served", &database.url, &clinic, &bridge_url);
    wait_until_ready(&base).await;
    let client = reqwest::Client::new();
    let cookie = common::session_cookie(&client, &base, "manager", "correct horse battery").await;
    let excluded: serde_json::Value = client
        .get(format!("{base}/api/v1/admin/exclusions"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert!(excluded.to_string().contains("+966501111111"), "{excluded}");
    drop(served);
    // While a process serves from the source, a copy is refused.
    let (source_served, source_base) = serve(path, "source", &sqlite, &clinic, &bridge_url);
    wait_until_ready(&source_base).await;
    let other = common::postgres::postgres_database().await;
    let refused = common::nabd_command(
        path,
        &["db", "copy", "--from", &sqlite, "--to", &other.url],
        &[],
    )
    .output()
    .expect("runs");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("a Nabd process is running on the source"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    drop(source_served);
    // Ids continue after the copied rows.
    let db = common::postgres::connect(&database.url).await;
    let (max_id, new_id): (i64, i64) = (
        nabd::db!(
            &db,
            fetch_one,
            sqlx::query_scalar("SELECT MAX(id) FROM outbox WHERE id < 1000000")
        )
        .expect("max"),
        nabd::db!(
            &db,
            fetch_one,
            sqlx::query_scalar(
                "INSERT INTO outbox (kind, recipient, body, language, idempotency_key, not_before,
                     clinic_day, created_at, updated_at)
                 VALUES ('manual', '+966504444444', 'new', 'en', 'manual:c', 'x', 'x', 'x', 'x')
                 RETURNING id"
            )
        )
        .expect("a new row after the copied ones"),
    );
    assert_eq!(new_id, max_id + 1);
}
