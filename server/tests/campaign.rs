//! The reactivation campaign end to end: the demo clinic, the real `nabd` binary (its CLI steps
//! and its job runtime sending through a whatsapp-web bridge double on loopback), then new
//! appointments in the clinic for one messaged and one control patient, and the report.

mod common;

use common::Killed;
use common::bridge::start_bridge;
use nabd::platform::store::Db;
use serde_json::Value;
use sqlx::SqlitePool;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NOW: &str = "2026-01-05T12:00";
const NEVER: &str = "0 0 0 1 1 * 2099";

fn nabd(dir: &Path, app_db: &str, bridge: &str, args: &[&str]) -> Command {
    let clinic = format!("sqlite://{}/clinic.db", dir.display());
    common::nabd_command(
        dir,
        args,
        &[
            ("NABD_NOW", NOW),
            ("NABD_DATABASE_URL", app_db),
            ("NABD_CLINIC_URL", &clinic),
            ("NABD_WHATSAPP_PROVIDER", "whatsapp-web"),
            ("NABD_WHATSAPP_WEB_URL", bridge),
            ("NABD_MESSAGE_LANGUAGE", "en"),
            ("NABD_CAMPAIGN_BATCH_SIZE", "20"),
            ("NABD_CAMPAIGN_HOLDOUT_PERCENT", "25"),
            ("NABD_CAMPAIGN_SEED", "7"),
            ("NABD_CAMPAIGN_STAGGER_SECONDS", "1-1"),
            ("NABD_CAMPAIGN_MESSAGE_COST", "0.05"),
            // The test runs each step itself; the schedules stay quiet.
            ("NABD_SCHEDULE_REMINDERS", NEVER),
            ("NABD_SCHEDULE_FEEDBACK", NEVER),
            ("NABD_SCHEDULE_MARKETING_SELECT", NEVER),
            ("NABD_SCHEDULE_MARKETING_QUEUE", NEVER),
            ("NABD_SCHEDULE_MARKETING_TRACK", NEVER),
        ],
    )
}

fn run(dir: &Path, app_db: &str, bridge: &str, args: &[&str]) -> String {
    let output = nabd(dir, app_db, bridge, args).output().expect("nabd runs");
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_queue_and_track_bring_back_a_messaged_and_a_control_patient_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path();
    let database = common::postgres::app_database(path).await;
    let app_db = database.url.clone();
    let (bridge_url, bridge) = start_bridge().await;
    run(
        path,
        &app_db,
        &bridge_url,
        &[
            "demo",
            "seed",
            "--out",
            "clinic.db",
            "--patients",
            "800",
            "--today",
            "2026-01-05",
        ],
    );

    // 1. Select, twice: the second run changes nothing.
    let selected = run(
        path,
        &app_db,
        &bridge_url,
        &["marketing", "select-daily-batch"],
    );
    assert!(
        selected.contains("batch 2026-01-05 selected: 20 staged (5 held out"),
        "{selected}"
    );
    let again = run(
        path,
        &app_db,
        &bridge_url,
        &["marketing:select-daily-batch"],
    );
    assert!(
        again.contains("already selected: 20 staged (5 held out"),
        "{again}"
    );

    let app = common::postgres::connect(&app_db).await;
    // The clinic database is the demo's SQLite file whatever the app database is.
    let clinic = Db::Sqlite(
        SqlitePool::connect(&format!("sqlite://{}/clinic.db", path.display()))
            .await
            .expect("clinic db"),
    );
    let staged: Vec<(i64, i64, String, bool, String)> = nabd::db!(&app, fetch_all, sqlx::query_as(
        "SELECT id, patient_id, mobile, holdout = 1, last_visit FROM campaign_patients ORDER BY id",
    ))
    .expect("staged");
    assert_eq!(staged.len(), 20);
    let mobiles: std::collections::HashSet<_> = staged.iter().map(|s| &s.2).collect();
    assert_eq!(mobiles.len(), 20, "one patient per mobile");
    assert!(
        staged.iter().all(|s| s.4.as_str() < "2025-01-05"),
        "all lapsed over a year"
    );
    // Every staged patient really has nothing booked ahead in the clinic.
    for (_, patient_id, ..) in &staged {
        let ahead: i64 = nabd::db!(&clinic, fetch_one, sqlx::query_scalar(
            "SELECT COUNT(*) FROM appointment WHERE pt_id = $1 AND app_dt > '2026-01-05' AND app_status <> 3",
        )
        .bind(patient_id))
        .expect("count");
        assert_eq!(ahead, 0, "patient {patient_id} is booked ahead");
    }

    // 2. One messaged patient opts out before the queue step: never messaged.
    let messaged: Vec<_> = staged.iter().filter(|s| !s.3).collect();
    let holdouts: Vec<_> = staged.iter().filter(|s| s.3).collect();
    let opted_out = messaged[1];
    nabd::db!(
        &app,
        execute,
        sqlx::query(
            "INSERT INTO do_not_contact (mobile, reason, source, added_at)
         VALUES ($1, 'STOP', 'whatsapp', '2026-01-05T08:00:00.000Z')",
        )
        .bind(&opted_out.2)
    )
    .expect("exclude");

    let server = Killed(
        nabd(path, &app_db, &bridge_url, &["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve"),
    );
    let queued = run(
        path,
        &app_db,
        &bridge_url,
        &["marketing", "queue-staged-messages"],
    );
    assert!(
        queued.contains(
            "14 messages queued, 5 control patients recorded, 1 excluded since selection, 0 waiting"
        ),
        "{queued}"
    );
    let start = Instant::now();
    while bridge.lock().expect("lock").received.len() < 14 {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "the campaign messages never all arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let requeued = run(
        path,
        &app_db,
        &bridge_url,
        &["marketing:queue-staged-messages"],
    );
    assert!(
        requeued.contains("0 messages queued, 0 control patients recorded"),
        "{requeued}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let received = bridge.lock().expect("lock").received.clone();
    assert_eq!(received.len(), 14, "each messaged patient once");
    let opted_out_digits = opted_out.2.trim_start_matches('+');
    assert!(received.iter().all(|(to, _)| to != opted_out_digits));
    for holdout in &holdouts {
        assert!(
            received
                .iter()
                .all(|(to, _)| to != holdout.2.trim_start_matches('+'))
        );
    }
    let first_message = &received[0].1;
    assert!(first_message.starts_with("Hello "), "{first_message}");
    assert!(
        first_message.contains("months since your last visit with"),
        "{first_message}"
    );
    drop(server);

    // 3. A messaged and a control patient book again (after the contact), the messaged one pays.
    let back = messaged[0];
    let control = holdouts[0];
    nabd::db!(&clinic, execute, sqlx::query(
        "INSERT INTO appointment (id, pt_id, pt_name, mobile, doc_id, doc_nm, app_dt, from_tm, to_tm, app_status, trans_dt)
         VALUES (900001, $1, 'x', NULL, 1, 'Dr', '2026-01-10', '10:00:00', '10:30:00', 2, '2026-01-05 13:00:00'),
                (900002, $2, 'y', NULL, 2, 'Dr', '2026-01-12', '11:00:00', NULL, 1, '2026-01-05 14:00:00')",
    )
    .bind(back.1)
    .bind(control.1))
    .expect("new appointments");
    nabd::db!(
        &clinic,
        execute,
        sqlx::query(
            "INSERT INTO invoice_h (id, inv_dt, cash, span, pt_id, doc_id)
         VALUES (900001, '2026-01-10 10:40:00', 300.0, 50.0, $1, 1)",
        )
        .bind(back.1)
    )
    .expect("invoice");
    clinic.close().await;

    let tracked = run(
        path,
        &app_db,
        &bridge_url,
        &["marketing", "track-conversions"],
    );
    assert!(tracked.contains("2 newly returned"), "{tracked}");
    let retracked = run(path, &app_db, &bridge_url, &["marketing:track-conversions"]);
    assert!(
        retracked.contains("0 newly returned, revenue brought up to date for 0"),
        "{retracked}"
    );

    // 4. The report, checked by hand: 14 messaged (1 back), 5 control (1 back).
    let report: Value = serde_json::from_str(&run(
        path,
        &app_db,
        &bridge_url,
        &["marketing", "report", "--json"],
    ))
    .expect("json report");
    assert_eq!(report["messages"]["sent"], 14);
    assert_eq!(report["messages"]["failed"], 0);
    assert_eq!(report["messaged"]["patients"], 14);
    assert_eq!(report["messaged"]["returned"], 1);
    assert_eq!(report["holdout"]["patients"], 5);
    assert_eq!(report["holdout"]["returned"], 1);
    let lift = report["lift"]["difference"].as_f64().expect("lift");
    assert!((lift - (1.0 / 14.0 - 1.0 / 5.0)).abs() < 1e-9, "{lift}");
    assert_eq!(report["lift"]["verdict"], "too_small");
    assert_eq!(report["revenue_halalas"], 35_000);
    assert_eq!(report["by_doctor"][0]["doctor_id"], 1);
    assert_eq!(report["by_doctor"][0]["revenue_halalas"], 35_000);
    let cost = report["message_cost"].as_f64().expect("cost");
    assert!((cost - 0.70).abs() < 1e-9, "{cost}");
    assert!((report["cost_per_return"].as_f64().expect("per return") - 0.70).abs() < 1e-9);
    assert_eq!(report["returned_total"], 1);
    let returned = &report["returned"][0];
    assert_eq!(returned["patient_id"], back.1);
    assert_eq!(returned["appointment_date"], "2026-01-10");
    assert_eq!(returned["revenue_halalas"], 35_000);
    let masked = returned["mobile_masked"].as_str().expect("masked");
    assert!(
        masked.contains('•') && !masked.contains(&back.2[4..10]),
        "{masked}"
    );

    let searched: Value = serde_json::from_str(&run(
        path,
        &app_db,
        &bridge_url,
        &["marketing", "report", "--json", "--search", "no such name"],
    ))
    .expect("json report");
    assert_eq!(searched["returned_total"], 0);
    app.close().await;
}
