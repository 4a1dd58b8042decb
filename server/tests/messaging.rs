//! The messaging engine end to end: the real `nabd` binary with its job runtime, a hand-made
//! clinic, and a whatsapp-web.js bridge double on loopback that speaks the bridge's HTTP shape
//! (`GET /status`, `POST /send-message`). What a patient would receive is what the bridge
//! records.

mod common;

use common::bridge::{Mode, Shared, start_bridge};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The fixed "now" of these tests: Monday 5 January 2026, 12:00 in Riyadh.
const NOW: &str = "2026-01-05T12:00";

/// A clinic whose appointments today exercise every reminder and feedback rule.
async fn clinic(path: &Path) {
    let pool = common::sqlite_clinic(
        path,
        "INSERT INTO doctor VALUES (1, 'د. علي الحربي', 'Dr. Ali Alharbi'), (2, '', 'Ghost');
         INSERT INTO appointment VALUES
           -- confirmed, starts in 90 min: reminder (confirmed template)
           (101, 1, 'سارة القحطاني', '0501111111', 1, 'د. علي', '2026-01-05', '13:30:00', NULL, 1, '2026-01-04 10:00:00'),
           -- unconfirmed, starts in 3 h (window 4 h): reminder (unconfirmed template)
           (102, 2, 'Omar Saleh', '966502222222', 1, 'د. علي', '2026-01-05', '15:00:00', NULL, 0, '2026-01-03 09:00:00'),
           -- confirmed, starts in 3 h (window 2 h): not yet
           (103, 3, 'Huda', '0504444444', 1, 'د. علي', '2026-01-05', '15:00:00', NULL, 1, '2026-01-03 09:00:00'),
           -- booked 90 min before it starts: no reminder
           (104, 4, 'Fahad', '0505555555', 1, 'د. علي', '2026-01-05', '13:00:00', NULL, 1, '2026-01-05 11:30:00'),
           -- malformed mobile: skipped
           (105, 5, 'Nora', '12', 1, 'د. علي', '2026-01-05', '13:00:00', NULL, 1, '2026-01-04 09:00:00'),
           -- ended 90 min ago: feedback request
           (106, 6, 'ريم', '055 333 3333', 1, 'د. علي', '2026-01-05', '09:30:00', '10:30:00', 2, '2026-01-01 09:00:00'),
           -- ended 3 h ago: too late for feedback
           (107, 7, 'Ali', '0506666666', 1, 'د. علي', '2026-01-05', '08:00:00', '09:00:00', 2, '2026-01-01 09:00:00'),
           -- cancelled: nothing
           (108, 8, 'Zaid', '0507777777', 1, 'د. علي', '2026-01-05', '13:00:00', NULL, 3, '2026-01-01 09:00:00');",
    )
    .await;
    pool.close().await;
}

/// The messages a patient should receive from this clinic at [`NOW`], in Arabic.
fn expected() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "966501111111",
            "مرحباً سارة القحطاني، نذكّرك بموعدك اليوم الاثنين، 5 يناير 2026 الساعة ١:٣٠ م مع د. علي الحربي. نتطلع لرؤيتك.",
        ),
        (
            "966502222222",
            "مرحباً Omar Saleh، لديك موعد اليوم الاثنين، 5 يناير 2026 الساعة ٣:٠٠ م مع د. علي الحربي. نرجو تأكيد حضورك بالرد على هذه الرسالة.",
        ),
        (
            "966553333333",
            "شكراً لزيارتك يا ريم. يسعدنا معرفة رأيك في زيارتك مع د. علي الحربي: https://example.test/review",
        ),
    ]
}

/// A running `nabd serve` process, killed when dropped.
struct Nabd {
    child: Child,
    log: PathBuf,
}

impl Drop for Nabd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    dir: tempfile::TempDir,
    database: common::postgres::AppDatabase,
    bridge_url: String,
    bridge: Shared,
}

impl Setup {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        clinic(&dir.path().join("clinic.db")).await;
        let (bridge_url, bridge) = start_bridge().await;
        let database = common::postgres::app_database(dir.path()).await;
        Self {
            dir,
            database,
            bridge_url,
            bridge,
        }
    }

    fn app_db(&self) -> String {
        self.database.url.clone()
    }

    fn command(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
        let app_db = self.app_db();
        let clinic = format!("sqlite://{}/clinic.db", self.dir.path().display());
        let mut command = common::nabd_command(
            self.dir.path(),
            args,
            &[
                ("NABD_NOW", NOW),
                ("NABD_DATABASE_URL", &app_db),
                ("NABD_CLINIC_URL", &clinic),
                ("NABD_WHATSAPP_PROVIDER", "whatsapp-web"),
                ("NABD_WHATSAPP_WEB_URL", &self.bridge_url),
                ("NABD_WHATSAPP_TIMEOUT_SECS", "2"),
                ("NABD_FEEDBACK_LINK", "https://example.test/review"),
                ("NABD_SCHEDULE_REMINDERS", "*/2 * * * * *"),
                ("NABD_SCHEDULE_FEEDBACK", "*/2 * * * * *"),
                ("NABD_SCHEDULE_OUTBOX_SWEEP", "*/5 * * * * *"),
                ("NABD_STAGGER_SECONDS", "1-2"),
                ("NABD_SEND_RETRY_SECONDS", "1"),
            ],
        );
        command.envs(extra_env.iter().copied());
        command
    }

    fn serve(&self, extra_env: &[(&str, &str)]) -> Nabd {
        let log = self.dir.path().join(format!(
            "nabd-{}.log",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        let file = std::fs::File::create(&log).expect("log file");
        let child = self
            .command(&["serve"], extra_env)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("nabd starts");
        Nabd { child, log }
    }

    fn received(&self) -> Vec<(String, String)> {
        self.bridge.lock().expect("lock").received.clone()
    }

    fn set_mode(&self, mode: Mode) {
        self.bridge.lock().expect("lock").mode = Some(mode);
    }

    async fn outbox(&self) -> Vec<(String, String, String, Option<String>)> {
        let pool = common::postgres::connect(&self.app_db()).await;
        let rows = nabd::db!(&pool, fetch_all, sqlx::query_as(
            "SELECT idempotency_key, recipient, state, error FROM outbox ORDER BY idempotency_key",
        ))
        .expect("outbox");
        pool.close().await;
        rows
    }
}

/// Waits up to `limit` for `done`, checking every 200 ms; panics with `what` and the server's
/// log when it never happens.
async fn wait_for(
    what: &str,
    limit: Duration,
    nabd: Option<&Nabd>,
    mut done: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = nabd
        .map(|n| std::fs::read_to_string(&n.log).unwrap_or_default())
        .unwrap_or_default();
    panic!("timed out waiting for {what}\n--- nabd log ---\n{log}");
}

fn sorted(mut messages: Vec<(String, String)>) -> Vec<(String, String)> {
    messages.sort();
    messages
}

fn expected_owned() -> Vec<(String, String)> {
    sorted(
        expected()
            .into_iter()
            .map(|(to, text)| (to.to_owned(), text.to_owned()))
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_job_runtime_sends_exactly_the_due_reminders_and_feedback_requests_once() {
    let setup = Setup::new().await;
    let nabd = setup.serve(&[]);
    wait_for(
        "three messages",
        Duration::from_secs(40),
        Some(&nabd),
        || setup.received().len() >= 3,
    )
    .await;
    // Several more ticks of both schedules: nothing is sent twice.
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(sorted(setup.received()), expected_owned());

    let outbox = setup.outbox().await;
    let states: HashMap<_, _> = outbox
        .iter()
        .map(|(key, _, state, _)| (key.as_str(), state.as_str()))
        .collect();
    assert_eq!(
        states,
        HashMap::from([
            (
                "reminder:same_day:101:2026-01-05T13:30:1:966501111111",
                "sent"
            ),
            (
                "reminder:same_day:102:2026-01-05T15:00:1:966502222222",
                "sent"
            ),
            ("feedback:106", "sent"),
        ])
    );
    let log = std::fs::read_to_string(&nabd.log).unwrap_or_default();
    assert!(
        log.contains("appointment=105") && log.contains("not a valid number"),
        "the malformed mobile is logged:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_batch_sends_each_message_once_or_marks_it_uncertain() {
    let setup = Setup::new().await;
    // The bridge holds its answer to the second message: the server dies while handing it over.
    setup.bridge.lock().expect("lock").hold = Some((2, Duration::from_secs(30)));
    // Heartbeats every second: the killed process counts as dead three seconds after it stops.
    let fast = [
        ("NABD_STAGGER_SECONDS", "2-3"),
        ("NABD_HEARTBEAT_SECS", "1"),
        ("NABD_SCHEDULE_OUTBOX_SWEEP", "*/2 * * * * *"),
    ];
    let nabd = setup.serve(&fast);
    wait_for(
        "the second message to be in flight",
        Duration::from_secs(40),
        Some(&nabd),
        || setup.bridge.lock().expect("lock").holding,
    )
    .await;
    let pid = nabd.child.id();
    let killed = Command::new("kill").args(["-9", &pid.to_string()]).status();
    assert!(killed.is_ok_and(|status| status.success()), "SIGKILL sent");
    drop(nabd);
    setup.bridge.lock().expect("lock").hold = None;

    let restarted = setup.serve(&fast);
    wait_for(
        "every message to be settled",
        Duration::from_secs(60),
        Some(&restarted),
        || {
            let received = setup.received().len();
            received >= 3
        },
    )
    .await;
    // The message the dead process was handing over stays `sending` while its heartbeat is
    // fresh, then the sweep finds its owner dead.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        let outbox = setup.outbox().await;
        if outbox.iter().any(|(_, _, state, _)| state == "uncertain") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let log = std::fs::read_to_string(&restarted.log).unwrap_or_default();
    assert!(
        !log.contains("Failed to poll backend"),
        "the restarted delivery worker took over the dead one's registration:\n{log}"
    );

    let received = setup.received();
    let mut counts: HashMap<&(String, String), usize> = HashMap::new();
    for message in &received {
        *counts.entry(message).or_default() += 1;
    }
    assert!(
        counts.values().all(|&count| count == 1),
        "no message reached a patient twice: {received:?}"
    );
    assert_eq!(sorted(received.clone()), expected_owned(), "none was lost");

    let outbox = setup.outbox().await;
    assert_eq!(outbox.len(), 3);
    let uncertain: Vec<_> = outbox
        .iter()
        .filter(|(_, _, state, _)| state == "uncertain")
        .collect();
    assert_eq!(
        uncertain.len(),
        1,
        "the one in flight is uncertain: {outbox:?}"
    );
    assert!(
        outbox
            .iter()
            .all(|(_, _, state, _)| state == "sent" || state == "uncertain"),
        "{outbox:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_wait_out_a_provider_outage_and_go_once_it_recovers() {
    let setup = Setup::new().await;
    setup.set_mode(Mode::Unavailable);
    let nabd = setup.serve(&[]);
    wait_for(
        "refused attempts",
        Duration::from_secs(40),
        Some(&nabd),
        || setup.bridge.lock().expect("lock").refused >= 3,
    )
    .await;
    // Then the phone is relinked: the bridge is up but not ready for a while.
    setup.set_mode(Mode::NotReady);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(setup.received().is_empty());
    // Each still waits: queued, or claimed for an attempt that the bridge is about to refuse
    // (a retry can be in flight at the moment the outbox is read).
    let waiting = setup.outbox().await;
    assert!(
        waiting
            .iter()
            .all(|(_, _, state, _)| state == "queued" || state == "sending"),
        "every message still waits: {waiting:?}"
    );
    setup.set_mode(Mode::Ready);
    wait_for(
        "the messages after recovery",
        Duration::from_secs(60),
        Some(&nabd),
        || setup.received().len() >= 3,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(sorted(setup.received()), expected_owned());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_excluded_after_its_message_was_queued_is_never_messaged() {
    let setup = Setup::new().await;
    // Nothing can go while the bridge is not ready, so the messages sit in the outbox.
    setup.set_mode(Mode::NotReady);
    let nabd = setup.serve(&[]);
    let start = Instant::now();
    let pool = loop {
        // The server creates its database as it starts.
        if let Ok(pool) = nabd::platform::store::connect(&setup.app_db()).await {
            let queued: i64 = nabd::db!(
                &pool,
                fetch_one,
                sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
            )
            .unwrap_or(0);
            if queued >= 3 {
                break pool;
            }
            pool.close().await;
        }
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "messages were never queued"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The admin excludes Omar's number (as the admin area will, in E.164).
    nabd::db!(
        &pool,
        execute,
        sqlx::query(
            "INSERT INTO do_not_contact (mobile, reason, source, added_at)
         VALUES ('+966502222222', 'asked on the phone', 'admin', '2026-01-05T09:00:00.000Z')",
        )
    )
    .expect("exclude");
    setup.set_mode(Mode::Ready);
    wait_for(
        "the other two messages",
        Duration::from_secs(60),
        Some(&nabd),
        || setup.received().len() >= 2,
    )
    .await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let received = setup.received();
    assert_eq!(received.len(), 2, "{received:?}");
    assert!(received.iter().all(|(to, _)| to != "966502222222"));
    let skipped: (String, Option<String>) =
        nabd::db!(&pool, fetch_one, sqlx::query_as("SELECT state, error FROM outbox WHERE idempotency_key = 'reminder:same_day:102:2026-01-05T15:00:1:966502222222'"))
            .expect("row");
    assert_eq!(
        skipped,
        ("skipped".to_owned(), Some("do_not_contact".to_owned()))
    );
    pool.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_runs_each_job_once_and_lists_the_outbox_as_json() {
    let setup = Setup::new().await;
    let run = |args: &[&str]| {
        let output = setup.command(args, &[]).output().expect("nabd runs");
        assert!(
            output.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let dry = run(&["reminders", "send", "--dry-run"]);
    assert!(
        dry.contains("reminder:same_day:101:2026-01-05T13:30:1:966501111111")
            && dry.contains("reminder:same_day:102:2026-01-05T15:00:1:966502222222"),
        "{dry}"
    );
    assert!(dry.contains("dry run: nothing was queued"), "{dry}");
    assert!(run(&["outbox", "list", "--json"]).trim().is_empty());

    let first = run(&["reminders:send"]);
    assert!(
        first.contains("2 queued, 0 already queued, 1 without a usable mobile"),
        "{first}"
    );
    let again = run(&["reminders", "send"]);
    assert!(again.contains("0 queued, 2 already queued"), "{again}");
    let feedback = run(&["feedback:send"]);
    assert!(feedback.contains("1 queued"), "{feedback}");

    let manual = run(&[
        "marketing:send-manual",
        "0508888888",
        "Your crown is ready.",
    ]);
    assert!(manual.contains("sent to +966508888888"), "{manual}");
    assert_eq!(
        setup.received(),
        vec![("966508888888".to_owned(), "Your crown is ready.".to_owned())]
    );

    let listed = run(&["outbox", "list", "--json"]);
    let rows: Vec<Value> = listed
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    assert_eq!(rows.len(), 4);
    let manual_row = &rows[0];
    assert_eq!(manual_row["kind"], "manual");
    assert_eq!(manual_row["to"], "+966508888888");
    assert_eq!(manual_row["state"], "sent");
    assert_eq!(manual_row["attempts"], 1);
    for field in ["id", "body", "key", "scheduled_at", "sent_at", "error"] {
        assert!(manual_row.get(field).is_some(), "{field} in {manual_row}");
    }
    assert!(rows[1..].iter().all(|row| row["state"] == "queued"));

    let bad = setup
        .command(&["marketing", "send-manual", "12345", "hi"], &[])
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("cannot be messaged"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

#[tokio::test]
async fn a_template_with_an_unknown_placeholder_stops_nabd_before_any_message() {
    let setup = Setup::new().await;
    let output = setup
        .command(
            &["reminders", "send"],
            &[(
                "NABD_TEMPLATE_REMINDER_CONFIRMED_EN",
                "Hi {name}, see you at {appointment_time}",
            )],
        )
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("NABD_TEMPLATE_REMINDER_CONFIRMED_EN: unknown placeholder {name}"),
        "{stderr}"
    );
    let served = setup
        .command(
            &["serve"],
            &[("NABD_TEMPLATE_FEEDBACK_AR", "شكراً {patient}")],
        )
        .output()
        .expect("runs");
    assert!(!served.status.success(), "the server refuses to start");
    assert!(String::from_utf8_lossy(&served.stderr).contains("NABD_TEMPLATE_FEEDBACK_AR"));
    assert!(setup.received().is_empty());
}
