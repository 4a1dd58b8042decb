//! The durable outbox (design notes §4): every message is a row before any provider sees it,
//! at most one per idempotency key, claimed atomically before it is handed over. A crash
//! between hand-off and record leaves it `uncertain` for an admin, never re-sent by itself.
//! The do-not-contact list, the expiry, the sending hours and the daily contact budget are
//! checked here, at the moment of sending, whatever path queued the message.

//!
//! This module owns the `outbox` table: no other module names it in SQL. What others need of
//! it are the typed functions here ([`Outbox::exists`], [`Outbox::asked_since`],
//! [`Outbox::count_on_day`], [`batch_progress`], [`cancel_batch`], [`record_delivery_status`])
//! and, for reports that join messages, the read-only view `message_outcomes` (each message's
//! outcome as booleans, defined beside the table in `migrations/`).

mod deliver;
pub mod log;

/// The state of a message: the one list, shared with the admin page's filter.
pub use app::admin::messages::MessageState as State;

use crate::config::messaging::MessagingConfig;
use crate::messaging::kind::{Kind, Touch};
use crate::messaging::provider::Provider;
use crate::platform::clock::Clock;
use crate::platform::language::Language;
use crate::platform::phone::Mobile;
use crate::platform::time::stamp;
use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::platform::instance::Instance;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

/// A message to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub kind: Kind,
    pub to: Mobile,
    pub body: String,
    pub language: Language,
    /// The template key for the Cloud API (`reminder_confirmed`, `feedback`, ...).
    pub template_key: Option<String>,
    /// The template's body parameters, in its order.
    pub params: Vec<String>,
    /// At most one message per key, ever.
    pub key: String,
    /// Not sent before this real instant.
    pub not_before: DateTime<Utc>,
    /// Not sent at all from this real instant (a reminder once the appointment has started).
    pub expires_at: Option<DateTime<Utc>>,
    /// The clinic-local day the message is meant for.
    pub clinic_day: NaiveDate,
    /// The broadcast or campaign run it belongs to.
    pub batch: Option<String>,
    /// The appointment it is about (reminders, feedback), read again just before it is sent.
    pub appointment_id: Option<i64>,
    /// Which reminder touch it is.
    pub touch: Option<Touch>,
    /// The campaign patient (`campaign_patients.id`) a campaign message is for.
    pub campaign_patient_id: Option<i64>,
    /// The broadcast a broadcast message belongs to.
    pub broadcast_id: Option<i64>,
}

impl NewMessage {
    /// A free-text message of `kind` to `to`, about no appointment, batch, campaign patient or
    /// broadcast, due at `not_before` for the clinic day `clinic_day`, never expiring. Its body is
    /// also its one template parameter (for the Cloud API's `manual` template); no template key
    /// is set.
    pub fn free_text(
        kind: Kind,
        to: Mobile,
        body: String,
        language: Language,
        key: String,
        not_before: DateTime<Utc>,
        clinic_day: NaiveDate,
    ) -> Self {
        Self {
            kind,
            to,
            params: vec![body.clone()],
            body,
            language,
            template_key: None,
            key,
            not_before,
            expires_at: None,
            clinic_day,
            batch: None,
            appointment_id: None,
            touch: None,
            campaign_patient_id: None,
            broadcast_id: None,
        }
    }
}

/// What queuing one message did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queued {
    pub id: i64,
    pub key: String,
    /// False when a message with this key already existed (nothing new was queued).
    pub new: bool,
}

/// The job that delivers one outbox message at its time, kept by the job runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliver {
    pub message_id: i64,
}

/// What one delivery attempt did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The provider took it.
    Sent,
    /// The provider failed in a way worth retrying; it goes again at this instant.
    Retrying(DateTime<Utc>),
    /// Failed for good, with the reason.
    Failed(String),
    /// Not sent and never will be: `do_not_contact`, `expired`, `appointment_changed`.
    Skipped(&'static str),
    /// Outside its sending hours or over the contact budget; it waits until this instant.
    Deferred(DateTime<Utc>),
    /// Its time has not come yet.
    NotDue,
    /// Already sent, failed, skipped, or being sent by another worker.
    AlreadyHandled,
}

/// An outbox operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the outbox could not be read or written")]
    Database(#[from] sqlx::Error),
    #[error("the job runtime could not schedule the message")]
    Jobs(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Schedules a [`Deliver`] job at a real instant (the job runtime's storage), so that queued
/// and staggered sends survive restarts.
pub trait Timers: Send + Sync {
    fn schedule(
        &self,
        job: Deliver,
        at: DateTime<Utc>,
    ) -> futures::future::BoxFuture<'_, Result<(), OutboxError>>;
}

/// A message about an appointment, as the send-time check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AboutAppointment {
    pub kind: Kind,
    pub appointment_id: i64,
    pub touch: Option<Touch>,
    pub key: String,
}

/// What the send-time check says of a message about an appointment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The appointment is as it was when the message was queued.
    Send,
    /// It was cancelled, moved, re-assigned or deleted since: the message is not sent.
    Changed,
    /// The clinic database did not answer; nothing is known.
    Unknown,
}

/// Reads an appointment again just before a message about it goes (the clinic gateway, in
/// production), so that a reminder about a cancelled or moved appointment is never sent.
pub trait SendCheck: Send + Sync {
    fn check<'a>(
        &'a self,
        message: &'a AboutAppointment,
    ) -> futures::future::BoxFuture<'a, Verdict>;
}

/// The outbox with what sending needs.
#[derive(Clone)]
pub struct Outbox {
    db: crate::platform::store::Db,
    provider: Provider,
    clock: Clock,
    config: Arc<MessagingConfig>,
    timers: Option<Arc<dyn Timers>>,
    check: Option<Arc<dyn SendCheck>>,
    /// This process: it owns the messages it claims.
    instance: Instance,
    /// Claims another worker or process won first (they found the message no longer queued).
    claims_lost: Arc<AtomicU64>,
}

impl Outbox {
    /// Returns an outbox sending through `provider`; `timers` wakes it at each message's time
    /// (without them, queued messages wait for [`Outbox::sweep`] or a later run).
    pub fn new(
        db: crate::platform::store::Db,
        provider: Provider,
        clock: Clock,
        config: Arc<MessagingConfig>,
        timers: Option<Arc<dyn Timers>>,
        instance: Instance,
    ) -> Self {
        Self {
            db,
            provider,
            clock,
            config,
            timers,
            check: None,
            instance,
            claims_lost: Arc::default(),
        }
    }

    /// Returns this process's instance.
    pub fn instance(&self) -> &Instance {
        &self.instance
    }

    /// How many claims another worker or process won first, since start.
    pub fn claims_lost(&self) -> u64 {
        self.claims_lost.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Returns this outbox with `check` reading each appointment again before a message about
    /// it is sent.
    pub fn with_check(mut self, check: Arc<dyn SendCheck>) -> Self {
        self.check = Some(check);
        self
    }

    /// Returns the app database.
    pub fn db(&self) -> &crate::platform::store::Db {
        &self.db
    }

    /// Returns the provider messages go through.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Returns the program's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Returns the messaging settings.
    pub fn config(&self) -> &MessagingConfig {
        &self.config
    }

    /// Queues `messages`; a key already in the outbox is left as it is. Each new message gets
    /// a timer at its time.
    pub async fn enqueue(&self, messages: &[NewMessage]) -> Result<Vec<Queued>, OutboxError> {
        let now = stamp(self.clock.real_now());
        let mut queued = Vec::with_capacity(messages.len());
        let mut tx = self.db.begin().await?;
        for message in messages {
            let params = serde_json::to_string(&message.params).unwrap_or_else(|_| "[]".into());
            // language=SQL
            let id: Option<i64> = crate::conn!(
                tx,
                fetch_optional,
                sqlx::query_scalar(
                    "INSERT INTO outbox (kind, recipient, body, language, template, params,
                     idempotency_key, not_before, expires_at, clinic_day, batch, appointment_id,
                     touch, campaign_patient_id, broadcast_id, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
                 ON CONFLICT (idempotency_key) DO NOTHING
                 RETURNING id",
                )
                .bind(message.kind.as_str())
                .bind(message.to.e164())
                .bind(&message.body)
                .bind(message.language.code())
                .bind(&message.template_key)
                .bind(params)
                .bind(&message.key)
                .bind(stamp(message.not_before))
                .bind(message.expires_at.map(stamp))
                .bind(message.clinic_day.to_string())
                .bind(&message.batch)
                .bind(message.appointment_id)
                .bind(message.touch.map(Touch::as_str))
                .bind(message.campaign_patient_id)
                .bind(message.broadcast_id)
                .bind(&now)
                .bind(&now)
            )?;
            match id {
                Some(id) => queued.push(Queued {
                    id,
                    key: message.key.clone(),
                    new: true,
                }),
                None => {
                    // language=SQL
                    let id: i64 = crate::conn!(
                        tx,
                        fetch_one,
                        sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
                            .bind(&message.key)
                    )?;
                    queued.push(Queued {
                        id,
                        key: message.key.clone(),
                        new: false,
                    });
                }
            }
        }
        tx.commit().await?;
        for (message, done) in messages.iter().zip(&queued) {
            if done.new {
                self.wake_at(done.id, message.not_before).await?;
            }
        }
        Ok(queued)
    }

    /// Tells whether a message with idempotency key `key` was ever queued.
    pub async fn exists(&self, key: &str) -> Result<bool, sqlx::Error> {
        // language=SQL
        let found: Option<i64> = crate::db!(
            &self.db,
            fetch_optional,
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM outbox WHERE idempotency_key = $1")
                .bind(key)
        )?;
        Ok(found.is_some())
    }

    /// Tells whether `to` was sent (or has waiting) a message of `kind` created since `since`,
    /// other than the one keyed `except_key`: the feedback cooldown.
    pub async fn asked_since(
        &self,
        kind: Kind,
        to: &Mobile,
        except_key: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, sqlx::Error> {
        // language=SQL
        let found: Option<i64> = crate::db!(
            &self.db,
            fetch_optional,
            sqlx::query_scalar(
                "SELECT CAST(1 AS BIGINT) FROM outbox
             WHERE kind = $1 AND recipient = $2 AND idempotency_key <> $3
               AND state IN ('queued', 'sending', 'sent', 'uncertain') AND created_at >= $4
             LIMIT 1",
            )
            .bind(kind.as_str())
            .bind(to.e164())
            .bind(except_key)
            .bind(stamp(since))
        )?;
        Ok(found.is_some())
    }

    /// Counts the messages of `kind` meant for the clinic-local day `day`, in any state: the
    /// campaign's daily cap.
    pub async fn count_on_day(&self, kind: Kind, day: NaiveDate) -> Result<i64, sqlx::Error> {
        // language=SQL
        crate::db!(
            &self.db,
            fetch_one,
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = $1 AND clinic_day = $2")
                .bind(kind.as_str())
                .bind(day.to_string())
        )
    }

    async fn wake_at(&self, message_id: i64, at: DateTime<Utc>) -> Result<(), OutboxError> {
        match &self.timers {
            Some(timers) => timers.schedule(Deliver { message_id }, at).await,
            None => Ok(()),
        }
    }
}

/// An outbox message a patient's reply answers: what it was about.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Answered {
    pub id: i64,
    pub kind: String,
    pub appointment_id: Option<i64>,
    pub campaign_patient_id: Option<i64>,
    pub broadcast_id: Option<i64>,
}

/// Finds the message a reply from `recipient` answers: message `id` when a button named it,
/// else the one the provider knows as `context_id` (the quoted message), else the latest sent
/// to that number since `since`. Each must have gone to `recipient`, so that a reply cannot
/// claim another patient's message.
pub async fn answered_by(
    db: &mut crate::platform::store::Tx,
    recipient: &Mobile,
    id: Option<i64>,
    context_id: Option<&str>,
    since: DateTime<Utc>,
) -> Result<Option<Answered>, sqlx::Error> {
    macro_rules! answered_sql {
        ($rest:literal) => {
            concat!(
                "SELECT id, kind, appointment_id, campaign_patient_id, broadcast_id FROM outbox ",
                $rest
            )
        };
    }
    if let Some(id) = id {
        // language=SQL
        let found = crate::conn!(
            db,
            fetch_optional,
            sqlx::query_as::<_, Answered>(answered_sql!("WHERE id = $1 AND recipient = $2"))
                .bind(id)
                .bind(recipient.e164())
        )?;
        if found.is_some() {
            return Ok(found);
        }
    }
    if let Some(context_id) = context_id.filter(|c| !c.is_empty()) {
        // language=SQL
        let found = crate::conn!(
            db,
            fetch_optional,
            sqlx::query_as::<_, Answered>(answered_sql!(
                "WHERE provider_message_id = $1 AND recipient = $2"
            ))
            .bind(context_id)
            .bind(recipient.e164())
        )?;
        if found.is_some() {
            return Ok(found);
        }
    }
    // language=SQL
    crate::conn!(
        db,
        fetch_optional,
        sqlx::query_as::<_, Answered>(answered_sql!(
            "WHERE recipient = $1 AND sent_at IS NOT NULL AND sent_at >= $2
         ORDER BY sent_at DESC, id DESC LIMIT 1"
        ))
        .bind(recipient.e164())
        .bind(stamp(since))
    )
}

/// One message Nabd sent (or is sending) to a number, as a conversation's thread shows it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ToNumber {
    pub id: i64,
    pub kind: String,
    pub body: String,
    pub state: String,
    /// When it was sent, or when it was queued if it has not gone.
    pub at: String,
    pub appointment_id: Option<i64>,
    pub delivery_status: Option<String>,
}

/// The newest `limit` messages to `recipient` that were sent or are on their way, oldest first.
pub async fn to_number(
    db: &crate::platform::store::Db,
    recipient: &Mobile,
    limit: i64,
) -> Result<Vec<ToNumber>, sqlx::Error> {
    // language=SQL
    let mut rows: Vec<ToNumber> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT id, kind, body, state, COALESCE(sent_at, created_at) AS at, appointment_id,
                delivery_status
         FROM outbox
         WHERE recipient = $1 AND state IN ('queued', 'sending', 'sent', 'uncertain', 'failed')
         ORDER BY at DESC, id DESC LIMIT $2",
        )
        .bind(recipient.e164())
        .bind(limit)
    )?;
    rows.reverse();
    Ok(rows)
}

/// How many messages of each batch are in each state, for the batches `batches` (at most a
/// few hundred names): `(batch, state, count)`. A state this build does not know is left out.
pub async fn batch_progress(
    db: &crate::platform::store::Db,
    batches: &[String],
) -> Result<Vec<(String, State, i64)>, sqlx::Error> {
    let batches = serde_json::to_string(batches).unwrap_or_else(|_| "[]".to_owned());
    // language=SQL
    let rows: Vec<(String, String, i64)> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(crate::sql_in_json!(
            db,
            text,
            "SELECT batch, state, COUNT(*) FROM outbox WHERE batch IN ",
            " GROUP BY batch, state"
        ))
        .bind(batches)
    )?;
    Ok(rows
        .into_iter()
        .filter_map(|(batch, state, count)| Some((batch, state.parse().ok()?, count)))
        .collect())
}

/// Cancels every message of `batch` still waiting, inside the caller's transaction; returns
/// how many.
pub async fn cancel_batch(
    db: &mut crate::platform::store::Tx,
    batch: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    // language=SQL
    let done = crate::conn!(
        db,
        execute,
        sqlx::query(
            "UPDATE outbox SET state = 'cancelled', error = $1, updated_at = $2
         WHERE batch = $3 AND state = 'queued'",
        )
        .bind(reason)
        .bind(stamp(now))
        .bind(batch)
    )?;
    Ok(done)
}

/// Expands to the rank of a delivery status in the order statuses move (sent, delivered,
/// read, failed), so that a report never moves a message backwards.
macro_rules! status_rank {
    ($status:literal) => {
        concat!(
            "CASE ",
            $status,
            " WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ",
            "WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END"
        )
    };
}

/// Records the provider's delivery `status` (`sent`, `delivered`, `read`, `failed`) of the
/// message it knows as `provider_message_id`, never moving it backwards.
pub async fn record_delivery_status(
    db: &crate::platform::store::Db,
    provider_message_id: &str,
    status: &str,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        execute,
        sqlx::query(concat!(
            "UPDATE outbox SET delivery_status = $1,
             delivery_error = COALESCE($2, delivery_error), updated_at = $3
         WHERE provider_message_id = $4 AND ",
            status_rank!("COALESCE(delivery_status, '')"),
            " < ",
            status_rank!("?1")
        ))
        .bind(status)
        .bind(error)
        .bind(stamp(now))
        .bind(provider_message_id)
    )?;
    Ok(())
}

/// Returns when each of `count` consecutive messages goes, starting at `start`: the first at
/// once, each next one a random number of seconds (in `gap`) after the one before.
pub fn stagger(
    start: DateTime<Utc>,
    count: usize,
    gap: &RangeInclusive<u32>,
    rng: &mut impl Rng,
) -> Vec<DateTime<Utc>> {
    let mut at = start;
    (0..count)
        .map(|index| {
            if index > 0 {
                at += Span::seconds(i64::from(rng.random_range(gap.clone())));
            }
            at
        })
        .collect()
}

/// Returns when each of `count` messages goes when spread over `[from, until)`: in order, one
/// in each of `count` equal parts of the span, at a random point of its part, so that a full
/// day of appointments fits the slot (400 in two hours is one every 18 s).
pub fn spread(
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    count: usize,
    rng: &mut impl Rng,
) -> Vec<DateTime<Utc>> {
    if count == 0 {
        return Vec::new();
    }
    let span = (until - from).num_milliseconds().max(0);
    let part = span / count as i64;
    (0..count as i64)
        .map(|index| {
            let offset = if part > 0 {
                rng.random_range(0..part)
            } else {
                0
            };
            from + Span::milliseconds(index * part + offset)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn staggered_sends_start_at_once_and_keep_their_gaps_in_range() {
        let start = DateTime::from_timestamp(1_767_600_000, 0).expect("valid");
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let times = stagger(start, 50, &(40..=120), &mut rng);
        assert_eq!(times.len(), 50);
        assert_eq!(times[0], start);
        for pair in times.windows(2) {
            let gap = (pair[1] - pair[0]).num_seconds();
            assert!((40..=120).contains(&gap), "gap {gap}");
        }
        let distinct: std::collections::HashSet<_> = times
            .windows(2)
            .map(|p| (p[1] - p[0]).num_seconds())
            .collect();
        assert!(distinct.len() > 10, "gaps should vary: {distinct:?}");
    }

    #[test]
    fn a_spread_fills_the_slot_in_order_one_per_part() {
        let from = DateTime::from_timestamp(1_767_628_800, 0).expect("valid");
        let until = from + Span::hours(2);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let times = spread(from, until, 400, &mut rng);
        assert_eq!(times.len(), 400);
        assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "in order");
        assert!(times.iter().all(|at| *at >= from && *at < until), "inside");
        let part = Span::seconds(18);
        for (index, at) in times.iter().enumerate() {
            let start = from + part * index as i32;
            assert!(*at >= start && *at < start + part, "{index} in its part");
        }
        assert!(spread(from, until, 0, &mut rng).is_empty());
    }
}
