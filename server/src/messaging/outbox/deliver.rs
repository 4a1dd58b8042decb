//! Delivering one outbox message: the checks at the moment of sending (time, expiry, sending
//! hours, contact budget, the do-not-contact list in the claim itself), the claim, the hand-off
//! to the provider and the record of what happened; and the recovery of sends a dead process
//! left behind.

use super::{AboutAppointment, Outbox, OutboxError, Outcome, State, Verdict};
use crate::config::messaging::{MessagingConfig, SendingHours};
use crate::messaging::conversations;
use crate::messaging::exclusions::{self, Scope};
use crate::messaging::kind::{Kind, Touch};
use crate::messaging::provider::{Outgoing, Provider, STOPPED_MARKETING, SendError};
use crate::platform::language::Language;
use crate::platform::phone::{Mobile, Region};
use crate::platform::store::locks;
use crate::platform::time::{parse_stamp, stamp};
use chrono::{DateTime, Duration as Span, Utc};
use chrono_tz::Tz;
use std::time::Duration;

/// How long a message waits before its appointment is read again when the clinic database
/// did not answer.
const RECHECK_RETRY: Span = Span::minutes(2);

/// Why a message is never sent (state `skipped`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    DoNotContact,
    Expired,
    /// The sending hours stay closed until after it expires.
    ClosedUntilExpiry,
    /// Its appointment was cancelled, moved, re-assigned or deleted since it was queued.
    AppointmentChanged,
}

impl Skip {
    /// The reason stored with the message.
    fn reason(self) -> &'static str {
        match self {
            Self::DoNotContact => "do_not_contact",
            Self::Expired => "expired",
            Self::ClosedUntilExpiry => "expired: outside sending hours",
            Self::AppointmentChanged => "appointment_changed",
        }
    }

    /// The reason [`Outcome::Skipped`] reports.
    fn outcome(self) -> &'static str {
        match self {
            Self::DoNotContact => "do_not_contact",
            Self::Expired | Self::ClosedUntilExpiry => "expired",
            Self::AppointmentChanged => "appointment_changed",
        }
    }
}

/// What claiming a message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    /// This instance holds it, `sending`.
    Claimed,
    /// The number is on the do-not-contact list, or another worker claimed it first.
    NotClaimed,
    /// The recipient's daily contact budget is used.
    OverBudget,
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
    idempotency_key: String,
    appointment_id: Option<i64>,
    touch: Option<String>,
    created_at: String,
}

/// How long a message may stay `sending` before the sweep calls it `uncertain`: a hand-off
/// that old has outlived any provider call, so its process died mid-send.
fn stale_after(config: &MessagingConfig) -> Span {
    Span::seconds(2 * config.whatsapp_timeout_secs as i64 + 30)
}

impl Outbox {
    /// Tries to send message `id` now: checks its time, expiry, the do-not-contact list, the
    /// sending hours and the contact budget, claims it, hands it to the provider and records
    /// the result. Safe to call twice at once: only one call claims it.
    pub async fn deliver(&self, id: i64) -> Result<Outcome, OutboxError> {
        // language=SQL
        let Some(row) =
            crate::db!(&self.db, fetch_optional, sqlx::query_as::<_, ClaimRow>(
            "SELECT kind, recipient, body, language, template, params, not_before, expires_at,
                    state, attempts, idempotency_key, appointment_id, touch, created_at
             FROM outbox WHERE id = $1",
        )
        .bind(id))?
        else {
            return Ok(Outcome::AlreadyHandled);
        };
        if row.state != State::Queued.as_str() {
            return Ok(Outcome::AlreadyHandled);
        }
        let now = self.clock.real_now();
        let not_before = parse_stamp(&row.not_before).unwrap_or(now);
        // A timer may fire a little early; a message rescheduled later keeps its old timer too.
        if not_before > now + Span::seconds(1) {
            return Ok(Outcome::NotDue);
        }
        // An unreadable kind is a broken row, not a kind to guess: guessing `manual` would skip
        // the contact budget. It fails, visibly, in the message log.
        let Ok(kind) = row.kind.parse::<Kind>() else {
            return self
                .record_failure(id, format!("unreadable message kind {:?}", row.kind))
                .await;
        };
        let expires_at = row.expires_at.as_deref().and_then(parse_stamp);
        if expires_at.is_some_and(|expiry| expiry <= now) {
            return self.finish_unsent(id, Skip::Expired).await;
        }
        if let Some(open) = self
            .next_opening(kind, now)
            .filter(|_| kind.waits_for_sending_hours())
        {
            if expires_at.is_some_and(|expiry| expiry <= open) {
                return self.finish_unsent(id, Skip::ClosedUntilExpiry).await;
            }
            return self.defer(id, open, "outside sending hours").await;
        }
        if let Some(waiting) = self.recheck(id, kind, &row, expires_at, now).await? {
            return Ok(waiting);
        }
        let budget = kind
            .counts_against_budget()
            .then_some(row.recipient.as_str());
        match self.claim(id, now, budget).await? {
            Claim::Claimed => {}
            Claim::OverBudget => {
                let tomorrow = self.opening_tomorrow(kind, now);
                return self.defer(id, tomorrow, "daily contact budget used").await;
            }
            Claim::NotClaimed => {
                let outcome = self.finish_unsent(id, Skip::DoNotContact).await?;
                if outcome == Outcome::AlreadyHandled {
                    // Another worker (or process) claimed it between the read and the claim.
                    self.claims_lost
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                return Ok(outcome);
            }
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
            id,
            kind,
            to: &to,
            body: &row.body,
            language,
            template_key: row.template.as_deref(),
            params: &params,
            reply_window_open,
        };
        let outcome =
            |refused| crate::platform::metrics::send_outcome(self.provider.name(), refused);
        match self.provider.send(&outgoing).await {
            Ok(accepted) => {
                outcome(None);
                let sent_at = stamp(self.clock.real_now());
                // language=SQL
                crate::db!(
                    &self.db,
                    execute,
                    sqlx::query(
                        "UPDATE outbox SET state = 'sent', sent_at = $1, provider_message_id = $2,
                         delivery_status = COALESCE(delivery_status, 'sent'), error = NULL,
                         updated_at = $3
                     WHERE id = $4 AND claimed_by = $5 AND state IN ('sending', 'uncertain')",
                    )
                    .bind(&sent_at)
                    .bind(accepted.message_id)
                    .bind(&sent_at)
                    .bind(id)
                    .bind(self.instance.id())
                )?;
                tracing::info!(id, kind = %kind, to = %to, "message sent");
                Ok(Outcome::Sent)
            }
            Err(SendError::Retryable(reason)) => {
                outcome(Some("retryable"));
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
                crate::db!(&self.db, execute, sqlx::query(
                    "UPDATE outbox SET state = 'queued', not_before = $1, error = $2, updated_at = $3
                     WHERE id = $4 AND state = 'sending' AND claimed_by = $5",
                )
                .bind(stamp(again))
                .bind(&reason)
                .bind(stamp(self.clock.real_now()))
                .bind(id)
                .bind(self.instance.id()))?;
                tracing::warn!(id, attempts, %reason, retry_at = %again, "message not sent; will retry");
                self.wake_at(id, again).await?;
                Ok(Outcome::Retrying(again))
            }
            Err(SendError::Permanent { reason, code }) => {
                outcome(Some(if code == Some(STOPPED_MARKETING) {
                    "stopped_marketing"
                } else {
                    "permanent"
                }));
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

    /// Reads the message's appointment again, when it is about one: `Some` outcome when the
    /// message must not go now (its appointment changed, or the clinic did not answer and
    /// there is still time to ask again), `None` when it goes.
    ///
    /// The clinic unreachable: asked again every [`RECHECK_RETRY`] until the last moment a
    /// message is still worth sending unchecked (a same-day reminder 30 minutes before the
    /// appointment; a day-before one 5 minutes before its slot ends; a feedback request 30
    /// minutes after it was queued), then sent as queued, which beats no reminder at all.
    async fn recheck(
        &self,
        id: i64,
        kind: Kind,
        row: &ClaimRow,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Outcome>, OutboxError> {
        let (Some(check), Some(appointment_id)) = (&self.check, row.appointment_id) else {
            return Ok(None);
        };
        let touch = row
            .touch
            .as_deref()
            .and_then(|touch| touch.parse::<Touch>().ok());
        let about = AboutAppointment {
            kind,
            appointment_id,
            touch,
            key: row.idempotency_key.clone(),
        };
        match check.check(&about).await {
            Verdict::Send => Ok(None),
            Verdict::Changed => self
                .finish_unsent(id, Skip::AppointmentChanged)
                .await
                .map(Some),
            Verdict::Unknown => {
                let queued_at = parse_stamp(&row.created_at).unwrap_or(now);
                let last_chance = match (kind, touch, expires_at) {
                    (Kind::Reminder, Some(Touch::DayBefore), Some(end)) => end - Span::minutes(5),
                    (Kind::Reminder, _, Some(starts)) => starts - Span::minutes(30),
                    _ => queued_at + Span::minutes(30),
                };
                if now >= last_chance {
                    tracing::warn!(
                        id,
                        appointment = appointment_id,
                        "the clinic database did not answer; sent as queued, without the re-check"
                    );
                    return Ok(None);
                }
                let again = (now + RECHECK_RETRY).min(last_chance);
                self.defer(
                    id,
                    again,
                    "the clinic database did not answer; checking again",
                )
                .await
                .map(Some)
            }
        }
    }

    async fn record_failure(&self, id: i64, reason: String) -> Result<Outcome, OutboxError> {
        // language=SQL
        crate::db!(
            &self.db,
            execute,
            sqlx::query(
                "UPDATE outbox SET state = 'failed', error = $1, updated_at = $2 WHERE id = $3"
            )
            .bind(&reason)
            .bind(stamp(self.clock.real_now()))
            .bind(id)
        )?;
        tracing::warn!(id, %reason, "message failed");
        Ok(Outcome::Failed(reason))
    }

    async fn finish_unsent(&self, id: i64, why: Skip) -> Result<Outcome, OutboxError> {
        let reason = why.reason();
        // language=SQL
        let done = crate::db!(&self.db, execute, sqlx::query(
            "UPDATE outbox SET state = 'skipped', error = $1, updated_at = $2 WHERE id = $3 AND state = 'queued'",
        )
        .bind(reason)
        .bind(stamp(self.clock.real_now()))
        .bind(id))?;
        if done == 0 {
            return Ok(Outcome::AlreadyHandled);
        }
        tracing::info!(id, reason, "message not sent");
        Ok(Outcome::Skipped(why.outcome()))
    }

    async fn defer(
        &self,
        id: i64,
        until: DateTime<Utc>,
        why: &str,
    ) -> Result<Outcome, OutboxError> {
        // language=SQL
        crate::db!(&self.db, execute, sqlx::query(
            "UPDATE outbox SET not_before = $1, error = $2, updated_at = $3 WHERE id = $4 AND state = 'queued'",
        )
        .bind(stamp(until))
        .bind(format!("waiting: {why}"))
        .bind(stamp(self.clock.real_now()))
        .bind(id))?;
        self.wake_at(id, until).await?;
        Ok(Outcome::Deferred(until))
    }

    fn hours_for(&self, kind: Kind) -> SendingHours {
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

    /// Claims message `id` for this instance: `sending`, owned by it. The claim re-checks the
    /// do-not-contact list in the same statement, so a number excluded a moment ago is never
    /// handed over. With `budget` (the recipient of a message the daily contact budget counts),
    /// the budget is checked and the claim made as one step: inside one write transaction that
    /// holds the recipient's lock (PostgreSQL: an advisory lock per number; SQLite: its write
    /// lock), so two processes cannot both pass the budget for one number.
    async fn claim(
        &self,
        id: i64,
        now: DateTime<Utc>,
        budget: Option<&str>,
    ) -> Result<Claim, OutboxError> {
        macro_rules! claim_sql {
            () => {
                // language=SQL
                sqlx::query(concat!(
                    "UPDATE outbox SET state = 'sending', attempts = attempts + 1, claimed_at = $1,
                         claimed_by = $2, provider = $3, updated_at = $1
                     WHERE id = $4 AND state = 'queued' AND NOT ",
                    crate::excluded_sql!("outbox.recipient", "outbox.kind")
                ))
                .bind(stamp(now))
                .bind(self.instance.id())
                .bind(self.provider.name())
                .bind(id)
            };
        }
        let Some(recipient) = budget else {
            let claimed = crate::db!(&self.db, execute, claim_sql!())?;
            return Ok(if claimed == 1 {
                Claim::Claimed
            } else {
                Claim::NotClaimed
            });
        };
        let mut tx = self.db.begin_write().await?;
        tx.lock(locks::BUDGET, recipient).await?;
        // language=SQL
        let used: i64 = crate::conn!(
            tx,
            fetch_one,
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbox
                 WHERE recipient = $1 AND clinic_day = $2 AND id <> $3
                   AND kind NOT IN ('reminder', 'manual', 'reply')
                   AND state IN ('sending', 'sent', 'uncertain')",
            )
            .bind(recipient)
            .bind(self.clock.today().to_string())
            .bind(id)
        )?;
        if used >= i64::from(self.config.daily_contact_budget) {
            return Ok(Claim::OverBudget);
        }
        let claimed = crate::conn!(tx, execute, claim_sql!())?;
        tx.commit().await?;
        Ok(if claimed == 1 {
            Claim::Claimed
        } else {
            Claim::NotClaimed
        })
    }

    async fn reply_window_open(
        &self,
        to: &Mobile,
        now: DateTime<Utc>,
    ) -> Result<bool, OutboxError> {
        if !matches!(self.provider, Provider::CloudApi(_)) {
            return Ok(false);
        }
        Ok(
            conversations::heard_from_since(&self.db, to, now - conversations::REPLY_WINDOW)
                .await?,
        )
    }

    /// Marks messages left `sending` by a process that died mid-send as `uncertain`: they may
    /// or may not have reached the patient, so an admin decides. A message is abandoned when
    /// the instance that claimed it is dead (its heartbeat stale, or never written), or when
    /// its claim has outlived any provider call (a process wedged mid-send). A live peer's send
    /// in flight is left alone. Returns how many.
    pub async fn mark_abandoned(&self) -> Result<u64, OutboxError> {
        let now = self.clock.real_now();
        // language=SQL
        let done = crate::db!(
            &self.db,
            execute,
            sqlx::query(
                "UPDATE outbox SET state = 'uncertain',
                 error = 'the server stopped while handing this message to the provider; \
                          it may or may not have been sent',
                 updated_at = $1
             WHERE state = 'sending'
               AND (claimed_at < $2
                    OR claimed_by IS NULL
                    OR claimed_by NOT IN (SELECT id FROM instances WHERE heartbeat_at >= $3))",
            )
            .bind(stamp(now))
            .bind(stamp(now - stale_after(&self.config)))
            .bind(self.instance.stale_before())
        )?;
        if done > 0 {
            tracing::warn!(count = done, "messages marked uncertain");
        }
        Ok(done)
    }

    /// The safety net behind the timers: marks stale sends uncertain and delivers queued
    /// messages whose time passed more than `grace` ago (their timer was lost). Returns how
    /// many were delivered or retried.
    pub async fn sweep(&self, grace: Duration) -> Result<usize, OutboxError> {
        self.mark_abandoned().await?;
        let due = self.clock.real_now() - Span::from_std(grace).unwrap_or_default();
        // language=SQL
        let ids: Vec<i64> = crate::db!(
            &self.db,
            fetch_all,
            sqlx::query_scalar(
                "SELECT id FROM outbox WHERE state = 'queued' AND not_before <= $1
             ORDER BY not_before, id LIMIT 500",
            )
            .bind(stamp(due))
        )?;
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
