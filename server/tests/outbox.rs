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
use nabd::platform::phone::{Mobile, Region};
use std::sync::Arc;

fn local(day: u32, hour: u32, minute: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 1, day)
        .and_then(|d| d.and_hms_opt(hour, minute, 0))
        .expect("valid")
}

struct Fixture {
    outbox: Outbox,
    _dir: tempfile::TempDir,
}

async fn outbox_at(now: NaiveDateTime) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = nabd::platform::store::open(&format!("sqlite://{}/nabd.db", dir.path().display()))
        .await
        .expect("app db");
    let cli = nabd::cli::Cli::parse_from(["nabd"]);
    let clock = Clock::fixed(chrono_tz::Asia::Riyadh, now).expect("valid now");
    let outbox = Outbox::new(
        db,
        Provider::Log,
        clock,
        Arc::new(cli.config.messaging),
        None,
    );
    Fixture { outbox, _dir: dir }
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
    sqlx::query_as("SELECT state, error FROM outbox WHERE id = ?")
        .bind(id)
        .fetch_one(outbox.db())
        .await
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
    sqlx::query(
        "UPDATE outbox SET state = 'sending', claimed_at = '2026-01-05T09:00:00.000Z' WHERE id = ?",
    )
    .bind(id)
    .execute(outbox.db())
    .await
    .expect("simulate a crash mid-send");
    assert_eq!(outbox.mark_uncertain(false).await.expect("sweep"), 1);
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
    let mut connection = outbox.db().acquire().await.expect("connection");
    sqlx::query("PRAGMA ignore_check_constraints = ON")
        .execute(&mut *connection)
        .await
        .expect("pragma");
    sqlx::query("UPDATE outbox SET kind = 'newsletter' WHERE id = ?")
        .bind(id)
        .execute(&mut *connection)
        .await
        .expect("a kind this build does not know");
    sqlx::query("PRAGMA ignore_check_constraints = OFF")
        .execute(&mut *connection)
        .await
        .expect("pragma");
    drop(connection);
    let outcome = outbox.deliver(id).await.expect("deliver");
    assert!(
        matches!(&outcome, Outcome::Failed(reason) if reason.contains("unreadable message kind \"newsletter\"")),
        "{outcome:?}"
    );
    let (state, error) = state_of(outbox, id).await;
    assert_eq!(state, "failed");
    assert!(error.is_some_and(|e| e.contains("newsletter")));
}
