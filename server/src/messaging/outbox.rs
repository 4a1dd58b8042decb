//! The durable outbox (design notes §4): every message is a row before any provider sees it,
//! at most one per idempotency key, claimed atomically before it is handed over. A crash
//! between hand-off and record leaves it `uncertain` for an admin, never re-sent by itself.
//! The do-not-contact list, the expiry, the sending hours and the daily contact budget are
//! checked here, at the moment of sending, whatever path queued the message.

use crate::clock::Clock;
use crate::exclusions::{self, Scope};
use crate::messaging::config::MessagingConfig;
use crate::messaging::provider::{Outgoing, Provider, STOPPED_MARKETING, SendError};
use crate::messaging::{Kind, Language};
use crate::phone::{Mobile, Region};
use crate::time::{parse_stamp, stamp};
use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use chrono_tz::Tz;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::Duration;

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
    /// Not sent and never will be: `do_not_contact`, `expired`.
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

/// The outbox with what sending needs.
#[derive(Clone)]
pub struct Outbox {
    db: SqlitePool,
    provider: Provider,
    clock: Clock,
    config: Arc<MessagingConfig>,
    timers: Option<Arc<dyn Timers>>,
}

/// One outbox row as the CLI and the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub body: String,
    pub key: String,
    pub state: String,
    pub attempts: i64,
    pub scheduled_at: String,
    pub sent_at: Option<String>,
    pub error: Option<String>,
    pub provider: Option<String>,
    pub delivery_status: Option<String>,
    pub batch: Option<String>,
    pub created_at: String,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    kind: String,
    recipient: String,
    body: String,
    language: String,
    template: Option<String>,
    params: String,
    not_before: String,
    expires_at: Option<String>,
    state: String,
    attempts: i64,
}

/// How long a message may stay `sending` before the sweep calls it `uncertain`: a hand-off
/// that old has outlived any provider call, so its process died mid-send.
fn stale_after(config: &MessagingConfig) -> Span {
    Span::seconds(2 * config.whatsapp_timeout_secs as i64 + 30)
}

impl Outbox {
    /// Returns an outbox sending through `provider`; `timers` wakes it at each message's time
    /// (without them, queued messages wait for [`Outbox::sweep`] or a later run).
    pub fn new(
        db: SqlitePool,
        provider: Provider,
        clock: Clock,
        config: Arc<MessagingConfig>,
        timers: Option<Arc<dyn Timers>>,
    ) -> Self {
        Self {
            db,
            provider,
            clock,
            config,
            timers,
        }
    }

    /// Returns the app database.
    pub fn db(&self) -> &SqlitePool {
        &self.db
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
            let id: Option<i64> = sqlx::query_scalar(
                "INSERT INTO outbox (kind, recipient, body, language, template, params,
                     idempotency_key, not_before, expires_at, clinic_day, batch, created_at,
                     updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
            .bind(&now)
            .bind(&now)
            .fetch_optional(&mut *tx)
            .await?;
            match id {
                Some(id) => queued.push(Queued {
                    id,
                    key: message.key.clone(),
                    new: true,
                }),
                None => {
                    // language=SQL
                    let id: i64 =
                        sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = ?")
                            .bind(&message.key)
                            .fetch_one(&mut *tx)
                            .await?;
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

    async fn wake_at(&self, message_id: i64, at: DateTime<Utc>) -> Result<(), OutboxError> {
        match &self.timers {
            Some(timers) => timers.schedule(Deliver { message_id }, at).await,
            None => Ok(()),
        }
    }

    /// Tries to send message `id` now: checks its time, expiry, the do-not-contact list, the
    /// sending hours and the contact budget, claims it, hands it to the provider and records
    /// the result. Safe to call twice at once: only one call claims it.
    pub async fn deliver(&self, id: i64) -> Result<Outcome, OutboxError> {
        // language=SQL
        let Some(row) = sqlx::query_as::<_, ClaimRow>(
            "SELECT kind, recipient, body, language, template, params, not_before, expires_at,
                    state, attempts
             FROM outbox WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await?
        else {
            return Ok(Outcome::AlreadyHandled);
        };
        if row.state != "queued" {
            return Ok(Outcome::AlreadyHandled);
        }
        let now = self.clock.real_now();
        let not_before = parse_stamp(&row.not_before).unwrap_or(now);
        // A timer may fire a little early; a message rescheduled later keeps its old timer too.
        if not_before > now + Span::seconds(1) {
            return Ok(Outcome::NotDue);
        }
        let kind: Kind = row.kind.parse().unwrap_or(Kind::Manual);
        let expires_at = row.expires_at.as_deref().and_then(parse_stamp);
        if expires_at.is_some_and(|expiry| expiry <= now) {
            return self.finish_unsent(id, "skipped", "expired").await;
        }
        if let Some(open) = self.next_opening(kind, now) {
            if expires_at.is_some_and(|expiry| expiry <= open) {
                return self
                    .finish_unsent(id, "skipped", "expired: outside sending hours")
                    .await;
            }
            return self.defer(id, open, "outside sending hours").await;
        }
        if kind.counts_against_budget() && self.over_budget(id, &row.recipient).await? {
            let tomorrow = self.opening_tomorrow(kind, now);
            return self.defer(id, tomorrow, "daily contact budget used").await;
        }
        // The claim re-checks the do-not-contact list in the same statement, so a number
        // excluded a moment ago is never handed over.
        // language=SQL
        let claimed = sqlx::query(concat!(
            "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = ?,
                 provider = ?, updated_at = ?
             WHERE id = ? AND state = 'queued' AND NOT ",
            crate::excluded_sql!()
        ))
        .bind(stamp(now))
        .bind(self.provider.name())
        .bind(stamp(now))
        .bind(id)
        .execute(&self.db)
        .await?;
        if claimed.rows_affected() == 0 {
            return self.finish_unsent(id, "skipped", "do_not_contact").await;
        }
        let Ok(to) = Mobile::parse(&row.recipient, Region::default()) else {
            return self
                .record_failure(id, format!("invalid number {}", row.recipient))
                .await;
        };
        let params: Vec<String> = serde_json::from_str(&row.params).unwrap_or_default();
        let language = row.language.parse().unwrap_or(Language::Ar);
        let reply_window_open = self.reply_window_open(&to, now).await?;
        let outgoing = Outgoing {
            kind,
            to: &to,
            body: &row.body,
            language,
            template_key: row.template.as_deref(),
            params: &params,
            reply_window_open,
        };
        match self.provider.send(&outgoing).await {
            Ok(accepted) => {
                let sent_at = stamp(self.clock.real_now());
                // language=SQL
                sqlx::query(
                    "UPDATE outbox SET state = 'sent', sent_at = ?, provider_message_id = ?,
                         delivery_status = COALESCE(delivery_status, 'sent'), error = NULL,
                         updated_at = ?
                     WHERE id = ?",
                )
                .bind(&sent_at)
                .bind(accepted.message_id)
                .bind(&sent_at)
                .bind(id)
                .execute(&self.db)
                .await?;
                tracing::info!(id, kind = %kind, to = %to, "message sent");
                Ok(Outcome::Sent)
            }
            Err(SendError::Retryable(reason)) => {
                let attempts = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
                if attempts >= self.config.send_max_attempts {
                    return self
                        .record_failure(id, format!("gave up after {attempts} attempts: {reason}"))
                        .await;
                }
                let again = self.clock.real_now()
                    + Span::from_std(self.config.retry_delay(attempts))
                        .unwrap_or_else(|_| Span::minutes(30));
                // language=SQL
                sqlx::query(
                    "UPDATE outbox SET state = 'queued', not_before = ?, error = ?, updated_at = ?
                     WHERE id = ? AND state = 'sending'",
                )
                .bind(stamp(again))
                .bind(&reason)
                .bind(stamp(self.clock.real_now()))
                .bind(id)
                .execute(&self.db)
                .await?;
                tracing::warn!(id, attempts, %reason, retry_at = %again, "message not sent; will retry");
                self.wake_at(id, again).await?;
                Ok(Outcome::Retrying(again))
            }
            Err(SendError::Permanent { reason, code }) => {
                if code == Some(STOPPED_MARKETING) {
                    exclusions::exclude(
                        &self.db,
                        &to,
                        Scope::Marketing,
                        Some("WhatsApp error 131050: the patient stopped marketing messages"),
                        "whatsapp",
                        self.clock.real_now(),
                    )
                    .await?;
                }
                self.record_failure(id, reason).await
            }
        }
    }

    async fn record_failure(&self, id: i64, reason: String) -> Result<Outcome, OutboxError> {
        // language=SQL
        sqlx::query("UPDATE outbox SET state = 'failed', error = ?, updated_at = ? WHERE id = ?")
            .bind(&reason)
            .bind(stamp(self.clock.real_now()))
            .bind(id)
            .execute(&self.db)
            .await?;
        tracing::warn!(id, %reason, "message failed");
        Ok(Outcome::Failed(reason))
    }

    async fn finish_unsent(
        &self,
        id: i64,
        state: &'static str,
        reason: &'static str,
    ) -> Result<Outcome, OutboxError> {
        // language=SQL
        let done = sqlx::query(
            "UPDATE outbox SET state = ?, error = ?, updated_at = ? WHERE id = ? AND state = 'queued'",
        )
        .bind(state)
        .bind(reason)
        .bind(stamp(self.clock.real_now()))
        .bind(id)
        .execute(&self.db)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(Outcome::AlreadyHandled);
        }
        tracing::info!(id, reason, "message not sent");
        Ok(Outcome::Skipped(match reason {
            "do_not_contact" => "do_not_contact",
            _ => "expired",
        }))
    }

    async fn defer(
        &self,
        id: i64,
        until: DateTime<Utc>,
        why: &str,
    ) -> Result<Outcome, OutboxError> {
        // language=SQL
        sqlx::query(
            "UPDATE outbox SET not_before = ?, error = ?, updated_at = ? WHERE id = ? AND state = 'queued'",
        )
        .bind(stamp(until))
        .bind(format!("waiting: {why}"))
        .bind(stamp(self.clock.real_now()))
        .bind(id)
        .execute(&self.db)
        .await?;
        self.wake_at(id, until).await?;
        Ok(Outcome::Deferred(until))
    }

    fn hours_for(&self, kind: Kind) -> crate::messaging::config::SendingHours {
        match kind {
            Kind::Reminder => self.config.sending_hours_reminders,
            _ => self.config.sending_hours_other,
        }
    }

    /// Returns when the sending hours of `kind` next open, if they are closed at `now`.
    fn next_opening(&self, kind: Kind, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let hours = self.hours_for(kind);
        let local = self.clock.local_at(now);
        if hours.contains(local.time()) {
            return None;
        }
        let today = local.date_naive().and_time(hours.start);
        let opening = if today > local.naive_local() {
            today
        } else {
            today + Span::days(1)
        };
        Some(self.real_instant(opening, local.timezone()))
    }

    fn opening_tomorrow(&self, kind: Kind, now: DateTime<Utc>) -> DateTime<Utc> {
        let hours = self.hours_for(kind);
        let local = self.clock.local_at(now);
        let opening = (local.date_naive() + Span::days(1)).and_time(hours.start);
        self.real_instant(opening, local.timezone())
    }

    fn real_instant(&self, local: chrono::NaiveDateTime, tz: Tz) -> DateTime<Utc> {
        use chrono::TimeZone;
        let local = tz
            .from_local_datetime(&local)
            .earliest()
            .unwrap_or_else(|| self.clock.now());
        self.clock.real_instant_of(local)
    }

    async fn over_budget(&self, id: i64, recipient: &str) -> Result<bool, OutboxError> {
        let today = self.clock.today().to_string();
        // language=SQL
        let used: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox
             WHERE recipient = ? AND clinic_day = ? AND id <> ?
               AND kind NOT IN ('reminder', 'manual')
               AND state IN ('sending', 'sent', 'uncertain')",
        )
        .bind(recipient)
        .bind(today)
        .bind(id)
        .fetch_one(&self.db)
        .await?;
        Ok(used >= i64::from(self.config.daily_contact_budget))
    }

    async fn reply_window_open(
        &self,
        to: &Mobile,
        now: DateTime<Utc>,
    ) -> Result<bool, OutboxError> {
        if !matches!(self.provider, Provider::CloudApi(_)) {
            return Ok(false);
        }
        // language=SQL
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM inbound_messages WHERE sender = ? AND sent_at > ? LIMIT 1",
        )
        .bind(to.e164())
        .bind(stamp(now - Span::hours(24)))
        .fetch_optional(&self.db)
        .await?;
        Ok(found.is_some())
    }

    /// Marks messages left `sending` by a process that died mid-send as `uncertain`: they may
    /// or may not have reached the patient, so an admin decides. With `all`, every `sending`
    /// message (at start, when no send of this process can be under way); otherwise only those
    /// older than any provider call. Returns how many.
    pub async fn mark_uncertain(&self, all: bool) -> Result<u64, OutboxError> {
        let now = self.clock.real_now();
        let before = if all {
            now + Span::days(1)
        } else {
            now - stale_after(&self.config)
        };
        // language=SQL
        let done = sqlx::query(
            "UPDATE outbox SET state = 'uncertain',
                 error = 'the server stopped while handing this message to the provider; \
                          it may or may not have been sent',
                 updated_at = ?
             WHERE state = 'sending' AND claimed_at < ?",
        )
        .bind(stamp(now))
        .bind(stamp(before))
        .execute(&self.db)
        .await?;
        if done.rows_affected() > 0 {
            tracing::warn!(count = done.rows_affected(), "messages marked uncertain");
        }
        Ok(done.rows_affected())
    }

    /// The safety net behind the timers: marks stale sends uncertain and delivers queued
    /// messages whose time passed more than `grace` ago (their timer was lost). Returns how
    /// many were delivered or retried.
    pub async fn sweep(&self, grace: Duration) -> Result<usize, OutboxError> {
        self.mark_uncertain(false).await?;
        let due = self.clock.real_now() - Span::from_std(grace).unwrap_or_default();
        // language=SQL
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM outbox WHERE state = 'queued' AND not_before <= ?
             ORDER BY not_before, id LIMIT 500",
        )
        .bind(stamp(due))
        .fetch_all(&self.db)
        .await?;
        let mut handled = 0;
        for id in ids {
            if !matches!(
                self.deliver(id).await?,
                Outcome::NotDue | Outcome::AlreadyHandled
            ) {
                handled += 1;
            }
        }
        Ok(handled)
    }
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

/// What `nabd outbox list` and the message log filter on.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub kind: Option<Kind>,
    pub state: Option<String>,
    pub to: Option<String>,
    pub limit: i64,
}

/// Lists outbox messages, newest first.
pub async fn list(db: &SqlitePool, filter: &ListFilter) -> Result<Vec<MessageRow>, sqlx::Error> {
    // language=SQL
    sqlx::query_as(
        "SELECT id, kind, recipient AS \"to\", body, idempotency_key AS key, state, attempts,
                not_before AS scheduled_at, sent_at, error, provider, delivery_status, batch,
                created_at
         FROM outbox
         WHERE (?1 IS NULL OR kind = ?1) AND (?2 IS NULL OR state = ?2)
           AND (?3 IS NULL OR recipient = ?3)
         ORDER BY id DESC LIMIT ?4",
    )
    .bind(filter.kind.map(Kind::as_str))
    .bind(&filter.state)
    .bind(&filter.to)
    .bind(if filter.limit > 0 { filter.limit } else { -1 })
    .fetch_all(db)
    .await
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
}
