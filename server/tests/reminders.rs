//! Reminders that stay true, end to end: Nabd in this process on a hand-made clinic, sending
//! through a whatsapp-web.js bridge double. Reminders are queued, then reception changes the
//! PMS (cancels one, moves one later, moves one to tomorrow, changes a mobile): none goes with
//! its old data, and the next run reminds of what is still due, with the new data. And when the
//! clinic database does not answer, a reminder waits, then goes as queued at the last moment.

mod common;

use common::bridge::{Shared, start_bridge};
use nabd::messaging::kind::{Kind, Touch};
use nabd::messaging::outbox::{NewMessage, Outbox, Outcome};
use nabd::messaging::recheck::ClinicCheck;
use nabd::messaging::reminders::{self, Touches};
use nabd::web::state::AppState;
use sqlx::SqlitePool;
use std::path::Path;
use std::sync::Arc;

/// Monday 5 January 2026, 12:00 in Riyadh.
const NOW: &str = "2026-01-05T12:00";

async fn clinic(path: &Path) -> SqlitePool {
    common::sqlite_clinic(
        path,
        "INSERT INTO doctor VALUES (1, 'د. علي الحربي', 'Dr. Ali Alharbi'),
                                   (2, 'د. هند', 'Dr. Hind');
         INSERT INTO patient (id, name_a, name_e, mobile, trans_dt) VALUES
           (1, 'سارة', 'Sara', '0501111111', '2025-01-01 09:00:00');
         INSERT INTO appointment VALUES
           -- confirmed, each due its same-day reminder at 12:00 (window 2 h)
           (201, 1, 'سارة', '0501111111', 1, 'د. علي', '2026-01-05', '13:00:00', NULL, 1, '2026-01-01 10:00:00'),
           (202, 2, 'Omar', '0502222222', 1, 'د. علي', '2026-01-05', '13:10:00', NULL, 1, '2026-01-01 10:00:00'),
           (203, 3, 'Huda', '0503333333', 1, 'د. علي', '2026-01-05', '13:20:00', NULL, 1, '2026-01-01 10:00:00'),
           (204, 4, 'Fahad', '0504444444', 1, 'د. علي', '2026-01-05', '13:30:00', NULL, 1, '2026-01-01 10:00:00'),
           -- tomorrow: the day-before touch's
           (205, 5, 'Mona', '0505555555', 2, 'د. هند', '2026-01-06', '09:00:00', NULL, 0, '2026-01-01 10:00:00'),
           (206, 6, 'Yousef', '0506666666', 2, 'د. هند', '2026-01-06', '10:00:00', NULL, 1, '2026-01-01 10:00:00'),
           -- a visit that ended 90 minutes ago: a feedback request
           (207, 7, 'Reem', '0507777777', 1, 'د. علي', '2026-01-05', '09:30:00', '10:30:00', 2, '2026-01-01 10:00:00');",
    )
    .await
}

struct Setup {
    state: AppState,
    clinic: SqlitePool,
    bridge: Shared,
    _dir: tempfile::TempDir,
}

async fn setup(language: &str) -> Setup {
    setup_at(language, NOW).await
}

async fn setup_at(language: &str, now: &str) -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let clinic_db = clinic(&dir.path().join("clinic.db")).await;
    let (bridge_url, bridge) = start_bridge().await;
    let app_db = format!("sqlite://{}/nabd.db", dir.path().display());
    let clinic_url = format!("sqlite://{}/clinic.db", dir.path().display());
    let (_, state) = common::spawn_nabd_with_state(&[
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &app_db,
        "--clinic-url",
        &clinic_url,
        "--jobs-enabled",
        "false",
        "--now",
        now,
        "--whatsapp-provider",
        "whatsapp-web",
        "--whatsapp-web-url",
        &bridge_url,
        "--message-language",
        language,
        "--stagger-seconds",
        "0-0",
    ])
    .await;
    Setup {
        state,
        clinic: clinic_db,
        bridge,
        _dir: dir,
    }
}

impl Setup {
    /// Runs the same-day touch and returns the ids it queued, by key.
    async fn run(&self) -> Vec<(String, i64)> {
        let report = reminders::run(&self.state.messaging, Touches::SameDay, false)
            .await
            .expect("run");
        let mut queued = Vec::new();
        for planned in report.planned {
            let id: i64 = nabd::db!(
                &self.state.db,
                fetch_one,
                sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
                    .bind(&planned.key)
            )
            .expect("queued");
            queued.push((planned.key, id));
        }
        queued
    }

    async fn deliver(&self, id: i64) -> Outcome {
        self.state
            .messaging
            .outbox
            .deliver(id)
            .await
            .expect("deliver")
    }

    async fn change(&self, sql: &'static str) {
        sqlx::query(sql)
            .execute(&self.clinic)
            .await
            .expect("reception changes the PMS");
    }

    fn received(&self) -> Vec<(String, String)> {
        self.bridge.lock().expect("lock").received.clone()
    }
}

#[tokio::test]
async fn a_reminder_is_never_sent_with_data_the_pms_no_longer_holds() {
    let setup = setup("en").await;
    let first = setup.run().await;
    assert_eq!(first.len(), 4, "{first:?}");
    setup
        .change("UPDATE appointment SET app_status = 3 WHERE id = 201")
        .await;
    setup
        .change("UPDATE appointment SET from_tm = '13:45:00' WHERE id = 202")
        .await;
    setup
        .change("UPDATE appointment SET app_dt = '2026-01-06' WHERE id = 203")
        .await;
    setup
        .change("UPDATE appointment SET mobile = '0559999999' WHERE id = 204")
        .await;
    for (key, id) in &first {
        assert_eq!(
            setup.deliver(*id).await,
            Outcome::Skipped("appointment_changed"),
            "{key}"
        );
    }
    assert!(setup.received().is_empty(), "nothing went with old data");
    let reasons: Vec<(String, Option<String>)> = nabd::db!(
        &setup.state.db,
        fetch_all,
        sqlx::query_as("SELECT state, error FROM outbox ORDER BY id")
    )
    .expect("rows");
    assert!(
        reasons
            .iter()
            .all(|(state, error)| state == "skipped"
                && error.as_deref() == Some("appointment_changed")),
        "{reasons:?}"
    );

    // The next run decides afresh: the one moved later and the one with a new mobile are still
    // due today; the cancelled one and the one moved to tomorrow are not (today).
    let second = setup.run().await;
    let keys: Vec<&str> = second.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "reminder:same_day:204:2026-01-05T13:30:1:966559999999",
            "reminder:same_day:202:2026-01-05T13:45:1:966502222222",
        ],
        "by start time"
    );
    for (_, id) in &second {
        assert_eq!(setup.deliver(*id).await, Outcome::Sent);
    }
    let received = setup.received();
    assert_eq!(received.len(), 2, "{received:?}");
    assert_eq!(received[0].0, "966559999999", "the new number");
    assert_eq!(received[1].0, "966502222222");
    assert!(
        received[1].1.contains("at 1:45 PM"),
        "the new time: {}",
        received[1].1
    );
    assert!(
        setup.run().await.is_empty(),
        "one reminder per version of an appointment"
    );
}

#[tokio::test]
async fn an_english_reminder_greets_the_patient_and_the_doctor_by_their_english_names() {
    let setup = setup("en").await;
    let queued = setup.run().await;
    let sara = queued
        .iter()
        .find(|(key, _)| key.starts_with("reminder:same_day:201:"))
        .expect("Sara's reminder");
    assert_eq!(setup.deliver(sara.1).await, Outcome::Sent);
    let received = setup.received();
    assert!(
        received[0].1.starts_with("Hello Sara, ") && received[0].1.contains("with Dr. Ali Alharbi"),
        "{}",
        received[0].1
    );
}

#[tokio::test]
async fn a_reminder_sent_under_the_old_key_counts_as_the_same_day_reminder() {
    let setup = setup("ar").await;
    nabd::db!(
        &setup.state.db,
        execute,
        sqlx::query(
            "INSERT INTO outbox (kind, recipient, body, language, idempotency_key, not_before,
                             clinic_day, state, sent_at, created_at, updated_at)
         VALUES ('reminder', '+966501111111', 'r', 'ar', 'reminder:201', '2026-01-05T08:00:00.000Z',
                 '2026-01-05', 'sent', '2026-01-05T08:00:01.000Z', '2026-01-05T08:00:00.000Z',
                 '2026-01-05T08:00:01.000Z')",
        )
    )
    .expect("a reminder of the previous release");
    let queued = setup.run().await;
    assert_eq!(queued.len(), 3, "{queued:?}");
    assert!(queued.iter().all(|(key, _)| !key.contains(":201:")));
}

#[tokio::test]
async fn with_the_clinic_unreachable_a_reminder_waits_then_goes_as_queued_at_the_last_moment() {
    let setup = setup("en").await;
    // The same outbox, but its re-check reads a SQL Server that is not there.
    let unreachable = nabd::gateway::clinic::Clinic::from_url(
        Some(&nabd::config::Secret::new(
            "server=tcp:127.0.0.1,1;database=pms;user id=nabd;password=x;encrypt=DANGER_PLAINTEXT",
        )),
        1,
        std::time::Duration::from_secs(2),
    )
    .expect("a clinic handle");
    let outbox: Outbox = setup
        .state
        .messaging
        .outbox
        .clone()
        .with_check(Arc::new(ClinicCheck {
            clinic: unreachable,
            statuses: setup.state.messaging.statuses.clone(),
            region: setup.state.messaging.region,
        }));
    let clock = outbox.clock();
    let reminder = |id: i64, minutes_ahead: i64| NewMessage {
        kind: Kind::Reminder,
        to: nabd::platform::phone::Mobile::parse("0501111111", Default::default()).expect("valid"),
        body: format!("reminder {id}"),
        language: nabd::messaging::Language::En,
        template_key: None,
        params: Vec::new(),
        key: format!("reminder:same_day:{id}:test"),
        not_before: clock.real_now(),
        expires_at: Some(clock.real_now() + chrono::Duration::minutes(minutes_ahead)),
        clinic_day: clock.today(),
        batch: None,
        appointment_id: Some(id),
        touch: Some(Touch::SameDay),
        campaign_patient_id: None,
        broadcast_id: None,
    };
    let queued = outbox
        .enqueue(&[reminder(301, 90), reminder(302, 20)])
        .await
        .expect("queued");
    let early = outbox.deliver(queued[0].id).await.expect("deliver");
    assert!(
        matches!(early, Outcome::Deferred(at) if at > clock.real_now()),
        "90 minutes ahead, it waits to ask again: {early:?}"
    );
    assert!(setup.received().is_empty());
    assert_eq!(
        outbox.deliver(queued[1].id).await.expect("deliver"),
        Outcome::Sent,
        "20 minutes ahead (under 30), it goes as queued"
    );
    assert_eq!(setup.received().len(), 1);
}

#[tokio::test]
async fn the_evening_before_tomorrows_appointments_are_reminded_across_the_slot() {
    let setup = setup_at("en", "2026-01-05T18:30").await;
    let report = reminders::run(&setup.state.messaging, Touches::DayBefore, false)
        .await
        .expect("run");
    let keys: Vec<&str> = report.planned.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(
        keys,
        vec![
            "reminder:day_before:205:2026-01-06T09:00:2:966505555555",
            "reminder:day_before:206:2026-01-06T10:00:2:966506666666",
        ]
    );
    assert!(
        report.planned[0].body.starts_with("Hello Mona, you have an appointment tomorrow, Tuesday, 6 January 2026 at 9:00 AM with Dr. Hind."),
        "{}",
        report.planned[0].body
    );
    assert!(
        report.planned[1]
            .body
            .contains("a reminder of your appointment tomorrow")
    );
    // What is left of the slot, 18:30 to 20:00 on the clinic's clock, in real instants (timers
    // run on the machine's clock even when NABD_NOW stops the clinic's): one message in each
    // half of it.
    let clock = &setup.state.clock;
    let slot_end = clock.real_instant_of(
        chrono::TimeZone::from_local_datetime(
            &clock.timezone(),
            &chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
                .and_then(|d| d.and_hms_opt(20, 0, 0))
                .expect("valid"),
        )
        .earliest()
        .expect("a local time"),
    );
    let slot_start = slot_end - chrono::Duration::minutes(90);
    let middle = slot_start + chrono::Duration::minutes(45);
    let rows: Vec<(String, String, Option<String>, Option<String>)> = nabd::db!(
        &setup.state.db,
        fetch_all,
        sqlx::query_as(
            "SELECT not_before, expires_at, template, touch FROM outbox ORDER BY not_before",
        )
    )
    .expect("rows");
    assert_eq!(rows.len(), 2);
    let at = |text: &str| nabd::platform::time::parse_stamp(text).expect("an instant");
    let near = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
        (a - b).num_seconds().abs() <= 5
    };
    let (first, second) = (at(&rows[0].0), at(&rows[1].0));
    assert!(
        first >= slot_start - chrono::Duration::seconds(5) && first < middle,
        "{rows:?}"
    );
    assert!(second >= middle && second < slot_end, "{rows:?}");
    assert!(
        rows.iter().all(|row| near(at(&row.1), slot_end)),
        "they expire with the slot: {rows:?}"
    );
    assert_eq!(
        rows[0].2.as_deref(),
        Some("reminder_day_before_unconfirmed")
    );
    assert_eq!(rows[1].2.as_deref(), Some("reminder_day_before_confirmed"));
    assert!(
        rows.iter()
            .all(|row| row.3.as_deref() == Some("day_before"))
    );
    let again = reminders::run(&setup.state.messaging, Touches::DayBefore, false)
        .await
        .expect("run");
    assert!(again.planned.is_empty() && again.already_queued == 2);
    let same_day = reminders::run(&setup.state.messaging, Touches::SameDay, false)
        .await
        .expect("run");
    assert!(
        same_day.planned.is_empty(),
        "at 18:30 today's appointments have started"
    );
}

#[tokio::test]
async fn after_the_evening_slot_no_day_before_reminder_is_queued() {
    let setup = setup_at("en", "2026-01-05T20:30").await;
    let report = reminders::run(&setup.state.messaging, Touches::DayBefore, false)
        .await
        .expect("run");
    assert!(report.planned.is_empty(), "{:?}", report.planned);
}

#[tokio::test]
async fn a_feedback_request_is_not_sent_for_a_visit_marked_no_show_since() {
    let setup = setup("en").await;
    let report = nabd::messaging::feedback::run(&setup.state.messaging, false)
        .await
        .expect("run");
    assert_eq!(report.planned.len(), 1);
    let id: i64 = nabd::db!(
        &setup.state.db,
        fetch_one,
        sqlx::query_scalar("SELECT id FROM outbox WHERE kind = 'feedback'")
    )
    .expect("queued");
    setup
        .change("UPDATE appointment SET app_status = 4 WHERE id = 207")
        .await;
    assert_eq!(
        setup.deliver(id).await,
        Outcome::Skipped("appointment_changed")
    );
    assert!(setup.received().is_empty());
}
