//! The outbox's rules at the moment of sending, with a fixed clinic clock and the `log`
//! provider: sending hours, expiry, the daily contact budget, the exclusion scopes and the
//! idempotency key.

use chrono::{Duration as Span, NaiveDate, NaiveDateTime, Utc};
use clap::Parser;
use nabd::messaging::exclusions::{self, Scope};
use nabd::messaging::outbox::{NewMessage, Outbox, Outcome};
use nabd::messaging::provider::Provider;
use nabd::messaging::{Kind, Language};
use nabd::platform::clock::Clock;
use nabd::platform::instance::Instance;
use nabd::platform::phone::{Mobile, Region};
use std::sync::Arc;

#[path = "common/postgres.rs"]
mod postgres;

fn local(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, day)
        .and_then(|d| d.and_hms_opt(hour, minute, 0))
        .expect("valid")
}

struct Fixture {
    outbox: Outbox,
    _database: postgres::AppDatabase,
    _dir: tempfile::TempDir,
}

/// An outbox on a fresh app database (SQLite, or PostgreSQL with `NABD_TEST_BACKEND=postgres`)
/// whose clinic clock reads `now`.
async fn outbox_at(now: NaiveDateTime) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let database = postgres::app_database(dir.path()).await;
    let db = nabd::platform::store::open(&database.url)
        .await
        .expect("app db");
    let clock = Clock::fixed(chrono_tz::Asia::Riyadh, now).expect("valid now");
    let outbox = another_process(&db, clock).await;
    Fixture {
        outbox,
        _database: database,
        _dir: dir,
    }
}

/// An outbox on `db` as another process would have it: an instance of its own.
async fn another_process(db: &nabd::platform::store::Db, clock: Clock) -> Outbox {
    let cli = nabd::cli::Cli::parse_from(["nabd"]);
    let instance = Instance::start(db, clock, std::time::Duration::from_secs(5))
        .await
        .expect("instance");
    Outbox::new(
        db.clone(),
        Provider::Log,
        clock,
        Arc::new(cli.config.messaging),
        None,
        instance,
    )
}

fn mobile(raw: &str) -> Mobile {
    Mobile::parse(raw, Region::default()).expect("valid mobile")
}

fn message(outbox: &Outbox, kind: Kind, to: &str, key: &str) -> NewMessage {
    NewMessage {
        kind,
        to: mobile(to),
        body: format!("{kind} for {to}"),
        language: Language::Ar,
        template_key: None,
        params: Vec::new(),
        key: key.to_owned(),
        not_before: outbox.clock().real_now(),
        expires_at: None,
        clinic_day: outbox.clock().today(),
        batch: None,
        appointment_id: None,
        touch: None,
        campaign_patient_id: None,
        broadcast_id: None,
    }
}

async fn queue(outbox: &Outbox, message: NewMessage) -> i64 {
    let queued = outbox.enqueue(&[message]).await.expect("queued");
    queued[0].id
}

async fn state_of(outbox: &Outbox, id: i64) -> (String, Option<String>) {
    nabd::db!(
        outbox.db(),
        fetch_one,
        sqlx::query_as("SELECT state, error FROM outbox WHERE id = $1").bind(id)
    )
    .expect("row")
}

fn close_to(actual: chrono::DateTime<Utc>, expected: chrono::DateTime<Utc>) -> bool {
    (actual - expected).num_seconds().abs() <= 2
}

#[tokio::test]
async fn a_message_is_kept_once_per_key_and_sent_once() {
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let first = message(outbox, Kind::Feedback, "0501234567", "feedback:1");
    let queued = outbox
        .enqueue(&[first.clone(), first.clone()])
        .await
        .expect("queued");
    assert!(queued[0].new && !queued[1].new);
    assert_eq!(queued[0].id, queued[1].id);
    assert_eq!(
        outbox.deliver(queued[0].id).await.expect("deliver"),
        Outcome::Sent
    );
    assert_eq!(
        outbox.deliver(queued[0].id).await.expect("deliver"),
        Outcome::AlreadyHandled
    );
    let again = outbox.enqueue(&[first]).await.expect("queued");
    assert!(
        !again[0].new,
        "a key is never queued twice, even after it was sent"
    );
    assert_eq!(state_of(outbox, queued[0].id).await.0, "sent");
}

#[tokio::test]
async fn a_message_due_after_the_sending_hours_waits_for_the_next_morning() {
    // 22:30: feedback (09:00-21:00) and reminders (08:00-22:00) are both closed.
    let fixture = outbox_at(local(5, 22, 30)).await;
    let outbox = &fixture.outbox;
    let id = queue(
        outbox,
        message(outbox, Kind::Feedback, "0501234567", "feedback:2"),
    )
    .await;
    let outcome = outbox.deliver(id).await.expect("deliver");
    let expected = outbox.clock().real_now() + Span::minutes(10 * 60 + 30);
    match outcome {
        Outcome::Deferred(at) => assert!(close_to(at, expected), "{at} vs {expected}"),
        other => panic!("expected a deferral, got {other:?}"),
    }
    assert_eq!(state_of(outbox, id).await.0, "queued");
}

#[tokio::test]
async fn a_reminder_that_would_arrive_after_its_appointment_started_is_dropped() {
    let fixture = outbox_at(local(5, 22, 30)).await;
    let outbox = &fixture.outbox;
    let mut reminder = message(outbox, Kind::Reminder, "0501234567", "reminder:3");
    reminder.expires_at = Some(outbox.clock().real_now() + Span::minutes(60));
    let id = queue(outbox, reminder).await;
    assert_eq!(
        outbox.deliver(id).await.expect("deliver"),
        Outcome::Skipped("expired")
    );
    assert_eq!(state_of(outbox, id).await.0, "skipped");

    let mut late = message(outbox, Kind::Reminder, "0501234567", "reminder:4");
    late.expires_at = Some(outbox.clock().real_now() - Span::minutes(1));
    let id = queue(outbox, late).await;
    assert_eq!(
        outbox.deliver(id).await.expect("deliver"),
        Outcome::Skipped("expired")
    );
}

#[tokio::test]
async fn one_patient_gets_at_most_one_non_reminder_message_a_day() {
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let feedback = queue(
        outbox,
        message(outbox, Kind::Feedback, "0501234567", "feedback:5"),
    )
    .await;
    let broadcast = queue(
        outbox,
        message(outbox, Kind::Broadcast, "+966501234567", "broadcast:1:5"),
    )
    .await;
    let reminder = queue(
        outbox,
        message(outbox, Kind::Reminder, "0501234567", "reminder:5"),
    )
    .await;
    let manual = queue(
        outbox,
        message(outbox, Kind::Manual, "0501234567", "manual:5"),
    )
    .await;
    assert_eq!(
        outbox.deliver(feedback).await.expect("deliver"),
        Outcome::Sent
    );
    let tomorrow_nine = outbox.clock().real_now() + Span::hours(21);
    match outbox.deliver(broadcast).await.expect("deliver") {
        Outcome::Deferred(at) => assert!(close_to(at, tomorrow_nine), "{at}"),
        other => panic!("the second marketing message waits for tomorrow, got {other:?}"),
    }
    assert_eq!(
        outbox.deliver(reminder).await.expect("deliver"),
        Outcome::Sent
    );
    assert_eq!(
        outbox.deliver(manual).await.expect("deliver"),
        Outcome::Sent
    );
}

#[tokio::test]
async fn an_exclusion_from_marketing_stops_campaigns_but_not_reminders() {
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let to = mobile("0501234567");
    exclusions::exclude(outbox.db(), &to, Scope::Marketing, None, "test", Utc::now())
        .await
        .expect("excluded");
    let campaign = queue(
        outbox,
        message(outbox, Kind::Campaign, "0501234567", "campaign:6"),
    )
    .await;
    let reminder = queue(
        outbox,
        message(outbox, Kind::Reminder, "0501234567", "reminder:6"),
    )
    .await;
    assert_eq!(
        outbox.deliver(campaign).await.expect("deliver"),
        Outcome::Skipped("do_not_contact")
    );
    assert_eq!(
        outbox.deliver(reminder).await.expect("deliver"),
        Outcome::Sent
    );

    exclusions::exclude(
        outbox.db(),
        &to,
        Scope::All,
        Some("asked"),
        "test",
        Utc::now(),
    )
    .await
    .expect("excluded");
    let next = queue(
        outbox,
        message(outbox, Kind::Reminder, "0501234567", "reminder:7"),
    )
    .await;
    assert_eq!(
        outbox.deliver(next).await.expect("deliver"),
        Outcome::Skipped("do_not_contact")
    );
    assert_eq!(
        state_of(outbox, next).await,
        ("skipped".to_owned(), Some("do_not_contact".to_owned()))
    );
}

#[tokio::test]
async fn a_message_left_sending_by_a_dead_process_becomes_uncertain_and_is_not_resent() {
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let id = queue(
        outbox,
        message(outbox, Kind::Feedback, "0501234567", "feedback:8"),
    )
    .await;
    nabd::db!(
        outbox.db(),
        execute,
        sqlx::query(
            "UPDATE outbox SET state = 'sending', claimed_at = '2026-01-05T09:00:00.000Z'
             WHERE id = $1",
        )
        .bind(id)
    )
    .expect("simulate a crash mid-send");
    assert_eq!(outbox.mark_abandoned().await.expect("sweep"), 1);
    assert_eq!(state_of(outbox, id).await.0, "uncertain");
    assert_eq!(
        outbox.deliver(id).await.expect("deliver"),
        Outcome::AlreadyHandled
    );
    assert_eq!(
        outbox
            .sweep(std::time::Duration::ZERO)
            .await
            .expect("sweep"),
        0
    );
}

#[tokio::test]
async fn a_message_whose_kind_cannot_be_read_fails_visibly_instead_of_passing_as_manual() {
    // 'manual' skips the contact budget, so a guess would let a broken row jump it.
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let id = queue(
        outbox,
        message(outbox, Kind::Campaign, "0501234567", "campaign:9"),
    )
    .await;
    // The table's CHECK keeps such a kind out; a newer release's kind read by an older one, or
    // a hand-edited database, gets past it.
    match outbox.db() {
        nabd::platform::store::Db::Sqlite(pool) => {
            let mut connection = pool.acquire().await.expect("connection");
            sqlx::query("PRAGMA ignore_check_constraints = ON")
                .execute(&mut *connection)
                .await
                .expect("pragma");
            sqlx::query("UPDATE outbox SET kind = 'newsletter' WHERE id = $1")
                .bind(id)
                .execute(&mut *connection)
                .await
                .expect("a kind this build does not know");
            sqlx::query("PRAGMA ignore_check_constraints = OFF")
                .execute(&mut *connection)
                .await
                .expect("pragma");
        }
        nabd::platform::store::Db::Postgres(pool) => {
            sqlx::query("ALTER TABLE outbox DROP CONSTRAINT outbox_kind")
                .execute(pool)
                .await
                .expect("no check");
            sqlx::query("UPDATE outbox SET kind = 'newsletter' WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .expect("a kind this build does not know");
        }
    }
    let outcome = outbox.deliver(id).await.expect("deliver");
    assert!(
        matches!(&outcome, Outcome::Failed(reason) if reason.contains("unreadable message kind \"newsletter\"")),
        "{outcome:?}"
    );
    let (state, error) = state_of(outbox, id).await;
    assert_eq!(state, "failed");
    assert!(error.is_some_and(|e| e.contains("newsletter")));
}

/// Sets message `id` to `sending`, claimed by `owner` just now.
async fn claimed_by(outbox: &Outbox, id: i64, owner: &str) {
    nabd::db!(
        outbox.db(),
        execute,
        sqlx::query(
            "UPDATE outbox SET state = 'sending', claimed_at = $1, claimed_by = $2 WHERE id = $3"
        )
        .bind(nabd::platform::time::stamp(Utc::now()))
        .bind(owner)
        .bind(id)
    )
    .expect("claimed");
}

#[tokio::test]
async fn a_live_peers_send_in_flight_is_left_alone_and_a_dead_ones_becomes_uncertain() {
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let peer = another_process(outbox.db(), *outbox.clock()).await;
    let dead = another_process(outbox.db(), *outbox.clock()).await;
    let in_flight = queue(
        outbox,
        message(outbox, Kind::Feedback, "0501234567", "feedback:20"),
    )
    .await;
    let abandoned = queue(
        outbox,
        message(outbox, Kind::Feedback, "0501234568", "feedback:21"),
    )
    .await;
    claimed_by(outbox, in_flight, peer.instance().id()).await;
    claimed_by(outbox, abandoned, dead.instance().id()).await;
    // The dead one stopped beating three beats ago.
    nabd::db!(
        outbox.db(),
        execute,
        sqlx::query("UPDATE instances SET heartbeat_at = $1 WHERE id = $2")
            .bind(nabd::platform::time::stamp(Utc::now() - Span::seconds(16)))
            .bind(dead.instance().id())
    )
    .expect("stale");
    // This process starts: only the dead process's send is uncertain.
    assert_eq!(outbox.mark_abandoned().await.expect("marked"), 1);
    assert_eq!(state_of(outbox, in_flight).await.0, "sending");
    assert_eq!(state_of(outbox, abandoned).await.0, "uncertain");
    // A stopped instance is dead at once, without waiting for its heartbeat to go stale.
    peer.instance().stop().await.expect("stopped");
    assert_eq!(outbox.mark_abandoned().await.expect("marked"), 1);
    assert_eq!(state_of(outbox, in_flight).await.0, "uncertain");
}

#[tokio::test]
async fn only_the_claiming_process_records_a_message_sent() {
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let peer = another_process(outbox.db(), *outbox.clock()).await;
    let id = queue(
        outbox,
        message(outbox, Kind::Manual, "0501234567", "manual:30"),
    )
    .await;
    assert_eq!(peer.deliver(id).await.expect("deliver"), Outcome::Sent);
    assert_eq!(
        outbox.deliver(id).await.expect("deliver"),
        Outcome::AlreadyHandled
    );
    let owner: Option<String> = nabd::db!(
        outbox.db(),
        fetch_one,
        sqlx::query_scalar("SELECT claimed_by FROM outbox WHERE id = $1").bind(id)
    )
    .expect("row");
    assert_eq!(owner.as_deref(), Some(peer.instance().id()));
}

#[tokio::test]
async fn two_processes_sending_to_one_number_at_once_pass_its_daily_budget_once() {
    let fixture = outbox_at(local(5, 12, 0)).await;
    let outbox = &fixture.outbox;
    let peers: Vec<Outbox> =
        futures::future::join_all((0..4).map(|_| another_process(outbox.db(), *outbox.clock())))
            .await;
    // Eight feedback requests to one patient, each process racing for each.
    let mut ids = Vec::new();
    for n in 0..8 {
        let key = format!("feedback:budget:{n}");
        ids.push(queue(outbox, message(outbox, Kind::Feedback, "0501234567", &key)).await);
    }
    let attempts = ids
        .iter()
        .flat_map(|id| peers.iter().map(move |peer| peer.deliver(*id)));
    let outcomes = futures::future::join_all(attempts).await;
    let sent = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Ok(Outcome::Sent)))
        .count();
    assert_eq!(sent, 1, "{outcomes:?}");
    let used: i64 = nabd::db!(
        outbox.db(),
        fetch_one,
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'sent'")
    )
    .expect("count");
    assert_eq!(used, 1);
}
