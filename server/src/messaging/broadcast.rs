//! Manual broadcasts: an admin pastes or uploads numbers and writes a message; Nabd reviews
//! the list (valid, invalid with the reason, duplicates, numbers on the do-not-contact list)
//! and keeps it as a draft; on confirmation each valid number gets one outbox message, spread
//! out with random gaps (`NABD_BROADCAST_STAGGER_SECONDS`). Progress is read from the outbox
//! and cancelling withdraws what has not gone yet. This module owns the `broadcasts` and
//! `broadcast_entries` tables; who may do it and the audit log are the web layer's.
//!
//! Also the do-not-contact list's import, which reads lists the same way.

use crate::messaging::exclusions::{self, Scope};
use crate::messaging::kind::Kind;
use crate::messaging::number_list::{self, Entry, ListError, Verdict};
use crate::messaging::outbox::{self, NewMessage, Outbox, OutboxError, State};
use crate::platform::language::Language;
use crate::platform::time::stamp;
use app::admin::broadcasts::{
    BroadcastError, BroadcastSummary, BroadcastView, Counts, ImportOutcome, MAX_MESSAGE_CHARS,
    Progress, Rejected,
};
use std::collections::{HashMap, HashSet};

/// How many left-out lines of each kind a review shows.
const SHOWN: i64 = 100;

/// A broadcast operation failed: refused (the page says why) or broken (logged).
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("{0}")]
    Refused(BroadcastError),
    #[error("the broadcast could not be read or written")]
    Database(#[from] sqlx::Error),
    #[error("the broadcast's messages could not be queued")]
    Outbox(#[from] OutboxError),
}

impl From<BroadcastError> for Failure {
    fn from(error: BroadcastError) -> Self {
        Self::Refused(error)
    }
}

impl From<ListError> for Failure {
    fn from(error: ListError) -> Self {
        Self::Refused(match error {
            ListError::NotText => BroadcastError::NotText,
            ListError::Malformed(line) => BroadcastError::MalformedCsv(line),
            ListError::NoNumbers => BroadcastError::NoNumbers,
            ListError::TooMany => BroadcastError::TooMany(number_list::MAX_NUMBERS),
        })
    }
}

/// The language a message is written in: Arabic when it has Arabic letters.
pub fn language_of(body: &str) -> Language {
    if body
        .chars()
        .any(|c| ('\u{0600}'..='\u{06FF}').contains(&c) || ('\u{0750}'..='\u{077F}').contains(&c))
    {
        Language::Ar
    } else {
        Language::En
    }
}

/// Reviews `numbers` and `csv` for `message` and keeps the result as a draft; returns its id.
pub async fn review(
    outbox: &Outbox,
    by: &str,
    numbers: &str,
    csv: Option<&str>,
    message: &str,
) -> Result<i64, Failure> {
    let body = message.trim();
    if body.is_empty() {
        return Err(BroadcastError::EmptyMessage.into());
    }
    let chars = body.chars().count();
    if chars > MAX_MESSAGE_CHARS {
        return Err(BroadcastError::MessageTooLong(chars).into());
    }
    let entries = number_list::read(numbers, csv)?;
    let excluded = exclusions::active_numbers(outbox.db()).await?;
    let judged = number_list::judge(&entries, outbox.config().phone_region, &excluded);
    let now = stamp(outbox.clock().real_now());
    let mut tx = outbox.db().begin().await?;
    // language=SQL
    let id: i64 = crate::conn!(tx, fetch_one, sqlx::query_scalar(
        "INSERT INTO broadcasts (body, language, created_by, created_at) VALUES ($1, $2, $3, $4)
         RETURNING id",
    )
    .bind(body)
    .bind(language_of(body).code())
    .bind(by)
    .bind(&now))?;
    for (position, (Entry { line, input }, verdict)) in judged.iter().enumerate() {
        let (mobile, verdict, reason) = match verdict {
            Verdict::Valid(mobile) => (Some(mobile.e164()), "valid", None),
            Verdict::Invalid(code) => (None, "invalid", Some((*code).to_owned())),
            Verdict::Duplicate(mobile, first) => {
                (Some(mobile.e164()), "duplicate", Some(first.to_string()))
            }
            Verdict::Excluded(mobile) => (Some(mobile.e164()), "excluded", None),
        };
        // language=SQL
        crate::conn!(tx, execute, sqlx::query(
            "INSERT INTO broadcast_entries (broadcast_id, position, line, input, mobile, verdict,
                 reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(*line as i64)
        .bind(input)
        .bind(mobile)
        .bind(verdict)
        .bind(reason))?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Writes a stored instant as the clinic's local time (`2026-01-05 12:00`).
fn local(outbox: &Outbox, instant: &str) -> String {
    crate::platform::time::parse_stamp(instant).map_or_else(
        || instant.to_owned(),
        |at| {
            outbox
                .clock()
                .local_at(at)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

fn batch(id: i64) -> String {
    format!("broadcast:{id}")
}

/// The progress of each of the broadcasts `ids`, read from the outbox in one query.
async fn progress_of(outbox: &Outbox, ids: &[i64]) -> Result<HashMap<i64, Progress>, sqlx::Error> {
    let ids_of: HashMap<String, i64> = ids.iter().map(|id| (batch(*id), *id)).collect();
    let batches: Vec<String> = ids_of.keys().cloned().collect();
    let rows = outbox::batch_progress(outbox.db(), &batches).await?;
    let mut all: HashMap<i64, Progress> = ids.iter().map(|id| (*id, Progress::default())).collect();
    for (batch, state, count) in rows {
        let Some(progress) = ids_of.get(&batch).and_then(|id| all.get_mut(id)) else {
            continue;
        };
        match state {
            State::Queued | State::Sending => progress.queued += count,
            State::Sent => progress.sent += count,
            State::Failed | State::Uncertain => progress.failed += count,
            State::Skipped => progress.skipped += count,
            State::Cancelled => progress.cancelled += count,
        }
    }
    Ok(all)
}

async fn progress(outbox: &Outbox, id: i64) -> Result<Progress, sqlx::Error> {
    Ok(progress_of(outbox, &[id])
        .await?
        .remove(&id)
        .unwrap_or_default())
}

/// The state people see: a sending broadcast with nothing left to send is done.
fn shown_state(stored: &str, progress: &Progress) -> String {
    if stored == "sending" && progress.queued == 0 {
        "done".to_owned()
    } else {
        stored.to_owned()
    }
}

#[derive(sqlx::FromRow)]
struct BroadcastRow {
    id: i64,
    body: String,
    language: String,
    state: String,
    created_by: String,
    created_at: String,
    sent_at: Option<String>,
}

async fn rejected(outbox: &Outbox, id: i64, verdict: &str) -> Result<Vec<Rejected>, sqlx::Error> {
    // language=SQL
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = crate::db!(
        outbox.db(),
        fetch_all,
        sqlx::query_as(
            "SELECT line, input, mobile, reason FROM broadcast_entries
         WHERE broadcast_id = $1 AND verdict = $2 ORDER BY position LIMIT $3",
        )
        .bind(id)
        .bind(verdict)
        .bind(SHOWN)
    )?;
    Ok(rows
        .into_iter()
        .map(|(line, input, mobile, reason)| Rejected {
            line,
            input,
            mobile,
            reason,
        })
        .collect())
}

/// One broadcast with its review and progress.
pub async fn view(outbox: &Outbox, id: i64) -> Result<BroadcastView, Failure> {
    // language=SQL
    let row: BroadcastRow = crate::db!(
        outbox.db(),
        fetch_optional,
        sqlx::query_as(
            "SELECT id, body, language, state, created_by, created_at, sent_at FROM broadcasts
         WHERE id = $1",
        )
        .bind(id)
    )?
    .ok_or(BroadcastError::NotFound)?;
    // language=SQL
    let verdicts: Vec<(String, i64)> = crate::db!(outbox.db(), fetch_all, sqlx::query_as(
        "SELECT verdict, COUNT(*) FROM broadcast_entries WHERE broadcast_id = $1 GROUP BY verdict",
    )
    .bind(id))?;
    let mut counts = Counts::default();
    for (verdict, count) in verdicts {
        counts.total += count;
        match verdict.as_str() {
            "valid" => counts.valid = count,
            "invalid" => counts.invalid = count,
            "duplicate" => counts.duplicates = count,
            _ => counts.excluded = count,
        }
    }
    let progress = progress(outbox, id).await?;
    Ok(BroadcastView {
        id: row.id,
        state: shown_state(&row.state, &progress),
        body: row.body,
        language: row.language,
        created_by: row.created_by,
        created_at: local(outbox, &row.created_at),
        sent_at: row.sent_at.map(|at| local(outbox, &at)),
        counts,
        invalid: rejected(outbox, id, "invalid").await?,
        duplicates: rejected(outbox, id, "duplicate").await?,
        excluded: rejected(outbox, id, "excluded").await?,
        progress,
    })
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    body: String,
    state: String,
    created_by: String,
    created_at: String,
    valid: i64,
}

/// The 50 newest broadcasts.
pub async fn recent(outbox: &Outbox) -> Result<Vec<BroadcastSummary>, Failure> {
    // language=SQL
    let rows: Vec<SummaryRow> = crate::db!(
        outbox.db(),
        fetch_all,
        sqlx::query_as(
            "SELECT b.id, b.body, b.state, b.created_by, b.created_at,
                (SELECT COUNT(*) FROM broadcast_entries e
                 WHERE e.broadcast_id = b.id AND e.verdict = 'valid') AS valid
         FROM broadcasts b ORDER BY b.id DESC LIMIT 50",
        )
    )?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut progress = progress_of(outbox, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let progress = progress.remove(&row.id).unwrap_or_default();
            BroadcastSummary {
                id: row.id,
                state: shown_state(&row.state, &progress),
                body: row.body,
                created_by: row.created_by,
                created_at: local(outbox, &row.created_at),
                valid: row.valid,
                progress,
            }
        })
        .collect())
}

/// Queues a draft's messages through the outbox, staggered, as confirmed by `by`; returns how
/// many.
pub async fn send(outbox: &Outbox, by: &str, id: i64) -> Result<usize, Failure> {
    // language=SQL
    let found: Option<(String, String, String)> = crate::db!(
        outbox.db(),
        fetch_optional,
        sqlx::query_as("SELECT state, body, language FROM broadcasts WHERE id = $1").bind(id)
    )?;
    let (stored, body, language) = found.ok_or(BroadcastError::NotFound)?;
    if stored != "draft" {
        return Err(BroadcastError::NotDraft.into());
    }
    // language=SQL
    let numbers: Vec<String> = crate::db!(
        outbox.db(),
        fetch_all,
        sqlx::query_scalar(
            "SELECT mobile FROM broadcast_entries WHERE broadcast_id = $1 AND verdict = 'valid'
         ORDER BY position",
        )
        .bind(id)
    )?;
    let region = outbox.config().phone_region;
    let language: Language = language.parse().unwrap_or(Language::Ar);
    let clock = outbox.clock();
    let times = outbox::stagger(
        clock.real_now(),
        numbers.len(),
        &outbox.config().broadcast_stagger_seconds,
        &mut rand::rng(),
    );
    let messages: Vec<NewMessage> = numbers
        .iter()
        .zip(times)
        .filter_map(|(number, at)| {
            let to = crate::platform::phone::Mobile::parse(number, region).ok()?;
            Some(NewMessage {
                kind: Kind::Broadcast,
                key: format!("broadcast:{id}:{}", to.digits()),
                to,
                body: body.clone(),
                language,
                template_key: Some("broadcast".to_owned()),
                params: vec![body.clone()],
                not_before: at,
                expires_at: None,
                clinic_day: clock.local_at(at).date_naive(),
                batch: Some(batch(id)),
                appointment_id: None,
                touch: None,
                campaign_patient_id: None,
                broadcast_id: Some(id),
            })
        })
        .collect();
    // The draft is claimed first, so that two confirmations cannot both queue it.
    let now = clock.real_now();
    // language=SQL
    let claimed = crate::db!(
        outbox.db(),
        execute,
        sqlx::query(
            "UPDATE broadcasts SET state = 'sending', sent_by = $1, sent_at = $2
         WHERE id = $3 AND state = 'draft'",
        )
        .bind(by)
        .bind(stamp(now))
        .bind(id)
    )?;
    if claimed == 0 {
        return Err(BroadcastError::NotDraft.into());
    }
    if let Err(error) = outbox.enqueue(&messages).await {
        // Nothing (or only part) was queued: the draft goes back to be confirmed again; the
        // idempotency keys keep a second confirmation from doubling what did get queued.
        // language=SQL
        crate::db!(outbox.db(), execute, sqlx::query(
            "UPDATE broadcasts SET state = 'draft', sent_by = NULL, sent_at = NULL WHERE id = $1",
        )
        .bind(id))?;
        return Err(error.into());
    }
    Ok(messages.len())
}

/// Cancels a broadcast for `by`: a draft is dropped, a sending one's queued messages are
/// cancelled; returns how many messages will not be sent.
pub async fn cancel(outbox: &Outbox, by: &str, id: i64) -> Result<i64, Failure> {
    let at = outbox.clock().real_now();
    let now = stamp(at);
    let mut tx = outbox.db().begin().await?;
    // language=SQL
    let done = crate::conn!(
        tx,
        execute,
        sqlx::query(
            "UPDATE broadcasts SET state = 'cancelled', cancelled_by = $1, cancelled_at = $2
         WHERE id = $3 AND state IN ('draft', 'sending')",
        )
        .bind(by)
        .bind(&now)
        .bind(id)
    )?;
    if done == 0 {
        // language=SQL
        let exists: Option<i64> = crate::conn!(
            tx,
            fetch_optional,
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT) FROM broadcasts WHERE id = $1").bind(id)
        )?;
        return Err(match exists {
            Some(_) => BroadcastError::NotDraft,
            None => BroadcastError::NotFound,
        }
        .into());
    }
    let cancelled =
        outbox::cancel_batch(&mut tx, &batch(id), &format!("cancelled by {by}"), at).await? as i64;
    tx.commit().await?;
    Ok(cancelled)
}

/// Adds every mobile of a list to the do-not-contact list; returns what it did and the numbers
/// it added (for the audit log).
pub async fn import_exclusions(
    outbox: &Outbox,
    numbers: &str,
    csv: Option<&str>,
    reason: Option<&str>,
) -> Result<(ImportOutcome, Vec<String>), Failure> {
    let entries = number_list::read(numbers, csv)?;
    let judged = number_list::judge(&entries, outbox.config().phone_region, &HashSet::new());
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let now = outbox.clock().real_now();
    let mut outcome = ImportOutcome::default();
    let mut added = Vec::new();
    for (entry, verdict) in judged {
        match verdict {
            Verdict::Valid(mobile) | Verdict::Excluded(mobile) => {
                if exclusions::exclude(outbox.db(), &mobile, Scope::All, reason, "import", now)
                    .await?
                {
                    outcome.added += 1;
                    added.push(mobile.e164().to_owned());
                } else {
                    outcome.already += 1;
                }
            }
            Verdict::Duplicate(..) => outcome.already += 1,
            Verdict::Invalid(code) => {
                outcome.invalid_count += 1;
                if outcome.invalid.len() < SHOWN as usize {
                    outcome.invalid.push(Rejected {
                        line: entry.line as i64,
                        input: entry.input,
                        mobile: None,
                        reason: Some(code.to_owned()),
                    });
                }
            }
        }
    }
    Ok((outcome, added))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_with_arabic_letters_is_arabic() {
        assert_eq!(language_of("عرض خاص على تنظيف الأسنان"), Language::Ar);
        assert_eq!(language_of("Whitening offer: 20% off"), Language::En);
        assert_eq!(language_of("Offer عرض"), Language::Ar);
    }
}
