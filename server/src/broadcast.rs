//! Manual broadcasts: an admin pastes or uploads numbers and writes a message; Nabd reviews
//! the list (valid, invalid with the reason, duplicates, numbers on the do-not-contact list)
//! and keeps it as a draft; on confirmation each valid number gets one outbox message, spread
//! out with random gaps (`NABD_BROADCAST_STAGGER_SECONDS`). Progress is read from the outbox
//! and cancelling marks what has not gone yet. Sends and cancels are audited.
//!
//! Also the do-not-contact list's import, which reads lists the same way.

use crate::admin::{Admin, AdminError, session_user};
use crate::auth::{self, SessionUser};
use crate::exclusions::{self, Scope};
use crate::messaging::outbox::{self, NewMessage};
use crate::messaging::{Kind, Language};
use crate::number_list::{self, Entry, ListError, Verdict};
use crate::state::AppState;
use crate::time::stamp;
use app::broadcast::{
    BroadcastError, BroadcastSummary, BroadcastView, Counts, ImportOutcome, MAX_MESSAGE_CHARS,
    Progress, Rejected,
};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};

/// How many left-out lines of each kind a review shows.
const SHOWN: i64 = 100;

/// The broadcast API routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/admin/broadcasts",
            get(list_route).post(review_route),
        )
        .route("/api/v1/admin/broadcasts/{id}", get(get_route))
        .route("/api/v1/admin/broadcasts/{id}/send", post(send_route))
        .route("/api/v1/admin/broadcasts/{id}/cancel", post(cancel_route))
        .route("/api/v1/admin/exclusions/import", post(import_route))
}

/// A broadcast operation failed.
#[derive(Debug)]
pub enum Failure {
    Refused(AdminError),
    Page(BroadcastError),
}

impl From<AdminError> for Failure {
    fn from(error: AdminError) -> Self {
        Self::Refused(error)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        Self::Refused(error.into())
    }
}

impl From<BroadcastError> for Failure {
    fn from(error: BroadcastError) -> Self {
        Self::Page(error)
    }
}

impl From<ListError> for Failure {
    fn from(error: ListError) -> Self {
        Self::Page(match error {
            ListError::NotText => BroadcastError::NotText,
            ListError::Malformed(line) => BroadcastError::MalformedCsv(line),
            ListError::NoNumbers => BroadcastError::NoNumbers,
            ListError::TooMany => BroadcastError::TooMany(number_list::MAX_NUMBERS),
        })
    }
}

impl Failure {
    /// The error the pages translate; internal causes are logged, never shown.
    fn for_page(self) -> BroadcastError {
        match self {
            Self::Page(error) => error,
            Self::Refused(AdminError::Unauthenticated) => BroadcastError::Unauthenticated,
            Self::Refused(AdminError::Forbidden) => BroadcastError::Forbidden,
            Self::Refused(AdminError::NotFound) => BroadcastError::NotFound,
            Self::Refused(other) => {
                let _ = other.into_response();
                BroadcastError::Unexpected("something went wrong; it was logged".to_owned())
            }
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        match self {
            Self::Refused(error) => error.into_response(),
            Self::Page(error) => (
                error.status(),
                Json(json!({ "error": error.code(), "message": error.to_string() })),
            )
                .into_response(),
        }
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

/// Every actively excluded number (either scope: a broadcast is marketing).
async fn excluded_numbers(state: &AppState) -> Result<HashSet<String>, sqlx::Error> {
    // language=SQL
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT mobile FROM do_not_contact WHERE restored_at IS NULL")
            .fetch_all(&state.db)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Reviews `numbers` and `csv` for `message` and keeps the result as a draft; returns its id.
pub async fn review(
    state: &AppState,
    user: &SessionUser,
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
    let excluded = excluded_numbers(state).await?;
    let judged = number_list::judge(&entries, state.config.messaging.phone_region, &excluded);
    let now = stamp(state.clock.real_now());
    let mut tx = state.db.begin().await?;
    // language=SQL
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO broadcasts (body, language, created_by, created_at) VALUES (?, ?, ?, ?)
         RETURNING id",
    )
    .bind(body)
    .bind(language_of(body).code())
    .bind(&user.username)
    .bind(&now)
    .fetch_one(&mut *tx)
    .await?;
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
        sqlx::query(
            "INSERT INTO broadcast_entries (broadcast_id, position, line, input, mobile, verdict,
                 reason)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(position as i64)
        .bind(*line as i64)
        .bind(input)
        .bind(mobile)
        .bind(verdict)
        .bind(reason)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(id)
}

/// Writes a stored instant as the clinic's local time (`2026-01-05 12:00`).
fn local(state: &AppState, instant: &str) -> String {
    crate::time::parse_stamp(instant).map_or_else(
        || instant.to_owned(),
        |at| {
            state
                .clock
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
async fn progress_of(state: &AppState, ids: &[i64]) -> Result<HashMap<i64, Progress>, sqlx::Error> {
    let ids_of: HashMap<String, i64> = ids.iter().map(|id| (batch(*id), *id)).collect();
    let batches = serde_json::to_string(&ids_of.keys().collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned());
    // language=SQL
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT batch, state, COUNT(*) FROM outbox
         WHERE batch IN (SELECT value FROM json_each(?)) GROUP BY batch, state",
    )
    .bind(batches)
    .fetch_all(&state.db)
    .await?;
    let mut all: HashMap<i64, Progress> = ids.iter().map(|id| (*id, Progress::default())).collect();
    for (batch, state, count) in rows {
        let Some(progress) = ids_of.get(&batch).and_then(|id| all.get_mut(id)) else {
            continue;
        };
        match state.as_str() {
            "queued" | "sending" => progress.queued += count,
            "sent" => progress.sent += count,
            "failed" | "uncertain" => progress.failed += count,
            "skipped" => progress.skipped += count,
            _ => progress.cancelled += count,
        }
    }
    Ok(all)
}

async fn progress(state: &AppState, id: i64) -> Result<Progress, sqlx::Error> {
    Ok(progress_of(state, &[id])
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

async fn rejected(state: &AppState, id: i64, verdict: &str) -> Result<Vec<Rejected>, sqlx::Error> {
    // language=SQL
    let rows: Vec<(i64, String, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT line, input, mobile, reason FROM broadcast_entries
         WHERE broadcast_id = ? AND verdict = ? ORDER BY position LIMIT ?",
    )
    .bind(id)
    .bind(verdict)
    .bind(SHOWN)
    .fetch_all(&state.db)
    .await?;
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
pub async fn view(state: &AppState, id: i64) -> Result<BroadcastView, Failure> {
    // language=SQL
    let row: BroadcastRow = sqlx::query_as(
        "SELECT id, body, language, state, created_by, created_at, sent_at FROM broadcasts
         WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?
    .ok_or(BroadcastError::NotFound)?;
    // language=SQL
    let verdicts: Vec<(String, i64)> = sqlx::query_as(
        "SELECT verdict, COUNT(*) FROM broadcast_entries WHERE broadcast_id = ? GROUP BY verdict",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
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
    let progress = progress(state, id).await?;
    Ok(BroadcastView {
        id: row.id,
        state: shown_state(&row.state, &progress),
        body: row.body,
        language: row.language,
        created_by: row.created_by,
        created_at: local(state, &row.created_at),
        sent_at: row.sent_at.map(|at| local(state, &at)),
        counts,
        invalid: rejected(state, id, "invalid").await?,
        duplicates: rejected(state, id, "duplicate").await?,
        excluded: rejected(state, id, "excluded").await?,
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
pub async fn recent(state: &AppState) -> Result<Vec<BroadcastSummary>, Failure> {
    // language=SQL
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT b.id, b.body, b.state, b.created_by, b.created_at,
                (SELECT COUNT(*) FROM broadcast_entries e
                 WHERE e.broadcast_id = b.id AND e.verdict = 'valid') AS valid
         FROM broadcasts b ORDER BY b.id DESC LIMIT 50",
    )
    .fetch_all(&state.db)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut progress = progress_of(state, &ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let progress = progress.remove(&row.id).unwrap_or_default();
            BroadcastSummary {
                id: row.id,
                state: shown_state(&row.state, &progress),
                body: row.body,
                created_by: row.created_by,
                created_at: local(state, &row.created_at),
                valid: row.valid,
                progress,
            }
        })
        .collect())
}

/// Queues a draft's messages through the outbox, staggered; audited.
pub async fn send(state: &AppState, user: &SessionUser, id: i64) -> Result<usize, Failure> {
    // language=SQL
    let found: Option<(String, String, String)> =
        sqlx::query_as("SELECT state, body, language FROM broadcasts WHERE id = ?")
            .bind(id)
            .fetch_optional(&state.db)
            .await?;
    let (stored, body, language) = found.ok_or(BroadcastError::NotFound)?;
    if stored != "draft" {
        return Err(BroadcastError::NotDraft.into());
    }
    // language=SQL
    let numbers: Vec<String> = sqlx::query_scalar(
        "SELECT mobile FROM broadcast_entries WHERE broadcast_id = ? AND verdict = 'valid'
         ORDER BY position",
    )
    .bind(id)
    .fetch_all(&state.db)
    .await?;
    let region = state.config.messaging.phone_region;
    let language: Language = language.parse().unwrap_or(Language::Ar);
    let clock = &state.clock;
    let times = outbox::stagger(
        clock.real_now(),
        numbers.len(),
        &state.config.messaging.broadcast_stagger_seconds,
        &mut rand::rng(),
    );
    let messages: Vec<NewMessage> = numbers
        .iter()
        .zip(times)
        .filter_map(|(number, at)| {
            let to = crate::phone::Mobile::parse(number, region).ok()?;
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
            })
        })
        .collect();
    // The draft is claimed first, so that two confirmations cannot both queue it.
    let now = clock.real_now();
    // language=SQL
    let claimed = sqlx::query(
        "UPDATE broadcasts SET state = 'sending', sent_by = ?, sent_at = ?
         WHERE id = ? AND state = 'draft'",
    )
    .bind(&user.username)
    .bind(stamp(now))
    .bind(id)
    .execute(&state.db)
    .await?;
    if claimed.rows_affected() == 0 {
        return Err(BroadcastError::NotDraft.into());
    }
    if let Err(error) = state.messaging.outbox.enqueue(&messages).await {
        // Nothing (or only part) was queued: the draft goes back to be confirmed again; the
        // idempotency keys keep a second confirmation from doubling what did get queued.
        // language=SQL
        sqlx::query(
            "UPDATE broadcasts SET state = 'draft', sent_by = NULL, sent_at = NULL WHERE id = ?",
        )
        .bind(id)
        .execute(&state.db)
        .await?;
        return Err(AdminError::Internal(error.to_string()).into());
    }
    auth::audit(
        &state.db,
        Some(user),
        "broadcast_sent",
        &format!("broadcast {id}: {} messages queued", messages.len()),
        now,
    )
    .await?;
    Ok(messages.len())
}

/// Cancels a broadcast: a draft is dropped, a sending one's queued messages are cancelled;
/// returns how many messages will not be sent. Audited.
pub async fn cancel(state: &AppState, user: &SessionUser, id: i64) -> Result<i64, Failure> {
    let now = stamp(state.clock.real_now());
    let mut tx = state.db.begin().await?;
    // language=SQL
    let done = sqlx::query(
        "UPDATE broadcasts SET state = 'cancelled', cancelled_by = ?, cancelled_at = ?
         WHERE id = ? AND state IN ('draft', 'sending')",
    )
    .bind(&user.username)
    .bind(&now)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        // language=SQL
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM broadcasts WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        return Err(match exists {
            Some(_) => BroadcastError::NotDraft,
            None => BroadcastError::NotFound,
        }
        .into());
    }
    // language=SQL
    let cancelled = sqlx::query(
        "UPDATE outbox SET state = 'cancelled', error = ?, updated_at = ?
         WHERE batch = ? AND state = 'queued'",
    )
    .bind(format!("cancelled by {}", user.username))
    .bind(&now)
    .bind(batch(id))
    .execute(&mut *tx)
    .await?
    .rows_affected() as i64;
    tx.commit().await?;
    auth::audit(
        &state.db,
        Some(user),
        "broadcast_cancelled",
        &format!("broadcast {id}: {cancelled} messages not sent"),
        state.clock.real_now(),
    )
    .await?;
    Ok(cancelled)
}

/// Adds every mobile of a list to the do-not-contact list; audited once per number added.
pub async fn import_exclusions(
    state: &AppState,
    user: &SessionUser,
    numbers: &str,
    csv: Option<&str>,
    reason: Option<&str>,
) -> Result<ImportOutcome, Failure> {
    let entries = number_list::read(numbers, csv)?;
    let judged = number_list::judge(
        &entries,
        state.config.messaging.phone_region,
        &HashSet::new(),
    );
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let now = state.clock.real_now();
    let mut outcome = ImportOutcome::default();
    for (entry, verdict) in judged {
        match verdict {
            Verdict::Valid(mobile) | Verdict::Excluded(mobile) => {
                if exclusions::exclude(&state.db, &mobile, Scope::All, reason, "import", now)
                    .await?
                {
                    outcome.added += 1;
                    auth::audit(&state.db, Some(user), "number_excluded", mobile.e164(), now)
                        .await?;
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
    Ok(outcome)
}

#[derive(Deserialize)]
struct NewBroadcast {
    #[serde(default)]
    numbers: String,
    csv: Option<String>,
    message: String,
}

async fn review_route(
    State(state): State<AppState>,
    admin: Admin,
    Json(body): Json<NewBroadcast>,
) -> Result<Response, Failure> {
    admin.require_admin()?;
    let id = review(
        &state,
        &admin.0,
        &body.numbers,
        body.csv.as_deref(),
        &body.message,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view(&state, id).await?)).into_response())
}

async fn list_route(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Json<Vec<BroadcastSummary>>, Failure> {
    admin.require_admin()?;
    Ok(Json(recent(&state).await?))
}

async fn get_route(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<BroadcastView>, Failure> {
    admin.require_admin()?;
    Ok(Json(view(&state, id).await?))
}

async fn send_route(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Response, Failure> {
    admin.require_admin()?;
    let queued = send(&state, &admin.0, id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))).into_response())
}

async fn cancel_route(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<Json<serde_json::Value>, Failure> {
    admin.require_admin()?;
    let cancelled = cancel(&state, &admin.0, id).await?;
    Ok(Json(json!({ "cancelled": cancelled })))
}

#[derive(Deserialize)]
struct ImportBody {
    #[serde(default)]
    numbers: String,
    csv: Option<String>,
    reason: Option<String>,
}

async fn import_route(
    State(state): State<AppState>,
    admin: Admin,
    Json(body): Json<ImportBody>,
) -> Result<Json<ImportOutcome>, Failure> {
    admin.require_admin()?;
    Ok(Json(
        import_exclusions(
            &state,
            &admin.0,
            &body.numbers,
            body.csv.as_deref(),
            body.reason.as_deref(),
        )
        .await?,
    ))
}

/// Broadcasts for the admin pages' server functions.
pub struct BroadcastDesk(pub AppState);

impl BroadcastDesk {
    async fn admin(&self, request: &Parts) -> Result<SessionUser, BroadcastError> {
        let user = session_user(&self.0, &request.headers)
            .await
            .map_err(|e| Failure::from(e).for_page())?;
        Admin(user.clone())
            .require_admin()
            .map_err(|e| Failure::from(e).for_page())?;
        Ok(user)
    }
}

impl app::broadcast::source::BroadcastSource for BroadcastDesk {
    fn review<'a>(
        &'a self,
        request: &'a Parts,
        numbers: String,
        csv: Option<String>,
        message: String,
    ) -> app::broadcast::source::Fut<'a, i64> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            review(&self.0, &user, &numbers, csv.as_deref(), &message)
                .await
                .map_err(Failure::for_page)
        })
    }

    fn list<'a>(
        &'a self,
        request: &'a Parts,
    ) -> app::broadcast::source::Fut<'a, Vec<BroadcastSummary>> {
        Box::pin(async move {
            self.admin(request).await?;
            recent(&self.0).await.map_err(Failure::for_page)
        })
    }

    fn get<'a>(
        &'a self,
        request: &'a Parts,
        id: i64,
    ) -> app::broadcast::source::Fut<'a, BroadcastView> {
        Box::pin(async move {
            self.admin(request).await?;
            view(&self.0, id).await.map_err(Failure::for_page)
        })
    }

    fn send<'a>(&'a self, request: &'a Parts, id: i64) -> app::broadcast::source::Fut<'a, ()> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            send(&self.0, &user, id)
                .await
                .map(|_| ())
                .map_err(Failure::for_page)
        })
    }

    fn cancel<'a>(&'a self, request: &'a Parts, id: i64) -> app::broadcast::source::Fut<'a, i64> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            cancel(&self.0, &user, id).await.map_err(Failure::for_page)
        })
    }

    fn import_exclusions<'a>(
        &'a self,
        request: &'a Parts,
        numbers: String,
        csv: Option<String>,
        reason: Option<String>,
    ) -> app::broadcast::source::Fut<'a, ImportOutcome> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            import_exclusions(&self.0, &user, &numbers, csv.as_deref(), reason.as_deref())
                .await
                .map_err(Failure::for_page)
        })
    }
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
