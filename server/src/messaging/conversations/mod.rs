//! Two-way conversations (design notes §5): what patients send back, from either provider,
//! stored once each by its provider id, linked to the message it answers, read for its intent
//! ([`intent`]), and gathered per number for the staff's inbox; the staff's answers, which go
//! through the outbox (kind `reply`); and the reception's list of the day's replies about
//! appointments. Nabd never writes to the PMS: reception does, from that list.
//!
//! This module owns the `inbound_messages` and `conversations` tables. The outbox's side (which
//! message a reply answers, what was sent to a number) is asked of [`crate::messaging::outbox`];
//! reports read replies through the `message_replies` view.

pub mod intent;

pub use intent::Intent;

use crate::gateway::{self, ClinicGateway};
use crate::messaging::exclusions::{self, Scope};
use crate::messaging::kind::Kind;
use crate::messaging::outbox::{self, NewMessage, OutboxError};
use crate::messaging::provider::Provider;
use crate::messaging::{Language, Messaging};
use crate::platform::phone::Mobile;
use crate::platform::text::without_bidi_controls;
use crate::platform::time::{parse_stamp, stamp};
use chrono::{DateTime, Duration as Span, NaiveDate, Utc};
use futures::StreamExt;
use std::collections::{BTreeMap, HashMap};

/// A reply without a quote answers the latest message Nabd sent that number within this.
pub const LINK_WINDOW: Span = Span::days(7);

/// The Cloud API's customer-service window: free text may go this long after the patient's
/// last message.
pub const REPLY_WINDOW: Span = Span::hours(24);

/// How many names of new conversations are looked up in the PMS at once, and for how long at
/// most per delivery (the rest wait for their number's next message).
const LOOKUPS_AT_ONCE: usize = 4;
const LOOKUP_BUDGET: std::time::Duration = std::time::Duration::from_secs(3);

/// The longest staff reply (WhatsApp's limit for a text body).
pub const MAX_REPLY_CHARS: usize = 4096;

/// Which provider delivered a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    CloudApi,
    WhatsappWeb,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::CloudApi => "cloud-api",
            Self::WhatsappWeb => "whatsapp-web",
        }
    }
}

/// One message a patient sent, as a provider delivered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incoming {
    pub source: Source,
    /// The provider's id for it: the same delivery twice is stored once.
    pub id: String,
    /// The sender as the provider wrote it (digits, perhaps with `@c.us`).
    pub from: String,
    /// `text`, `button`, `interactive`, `image`, `audio`, `document`, `location`, `sticker`,
    /// `reaction`, ... as the provider named it.
    pub message_type: String,
    /// The text, a button's title, a caption, or empty.
    pub text: String,
    /// A quick-reply button's payload.
    pub payload: Option<String>,
    /// The provider's id of the message it quotes.
    pub context_id: Option<String>,
    /// When the patient sent it.
    pub sent_at: DateTime<Utc>,
}

/// What storing a delivery did (logged by the endpoints that receive them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stored {
    /// Messages stored for the first time.
    pub new: usize,
    /// Messages already stored (a provider's retry).
    pub duplicates: usize,
    /// Messages from a sender that is not a valid number (stored, in no conversation).
    pub invalid_senders: usize,
    /// Numbers put on the do-not-contact list by their reply.
    pub opted_out: usize,
}

/// Reads a sender as providers write it: `9665XXXXXXXX`, `+9665...`, `9665...@c.us`.
pub fn sender(from: &str, region: crate::platform::phone::Region) -> Option<Mobile> {
    let digits = from.split('@').next().unwrap_or_default().trim();
    let digits = digits.strip_prefix('+').unwrap_or(digits);
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    Mobile::parse(&format!("+{digits}"), region).ok()
}

/// What a message shows in the inbox: its text, or for a message without text a label
/// (`[image]`, `[location]`...) so that nothing arrives unseen.
pub fn shown_text(message_type: &str, text: &str) -> String {
    let text = without_bidi_controls(text.trim());
    match (text.is_empty(), message_type) {
        (false, _) => text,
        (true, kind) => format!("[{kind}]"),
    }
}

struct Patient {
    id: Option<i64>,
    name: String,
    name_en: Option<String>,
}

/// Stores a delivery's messages, each once: links each to what it answers, reads its intent,
/// files it in its number's conversation (reopening a handled one), puts an opt-out on the
/// do-not-contact list at once, and thanks a confirmation when that is configured. The
/// patient's name is looked up in the PMS once, when a conversation starts, and kept with it.
pub async fn receive(
    messaging: &Messaging,
    messages: Vec<Incoming>,
    now: DateTime<Utc>,
) -> Result<Stored, OutboxError> {
    let db = messaging.outbox.db();
    let config = messaging.outbox.config();
    let region = messaging.region;
    let senders: Vec<Option<Mobile>> = messages.iter().map(|m| sender(&m.from, region)).collect();
    let patients = look_up_new(messaging, &senders).await?;
    let mut stored = Stored::default();
    let mut acknowledge = Vec::new();
    let mut tx = db.begin().await?;
    for (message, mobile) in messages.into_iter().zip(senders) {
        let shown = shown_text(&message.message_type, &message.text);
        let Some(mobile) = mobile else {
            tracing::warn!(
                from = message.from,
                "a message from a sender that is not a valid number; stored apart"
            );
            // language=SQL
            let done = crate::conn!(
                tx,
                execute,
                sqlx::query(
                    "INSERT INTO inbound_messages (provider_message_id, sender, body, sent_at,
                     received_at, type, provider, sender_valid)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0) ON CONFLICT DO NOTHING",
                )
                .bind(&message.id)
                .bind(message.from.chars().take(64).collect::<String>())
                .bind(&shown)
                .bind(stamp(message.sent_at))
                .bind(stamp(now))
                .bind(&message.message_type)
                .bind(message.source.as_str())
            )?;
            if done == 1 {
                stored.invalid_senders += 1;
            } else {
                stored.duplicates += 1;
            }
            continue;
        };
        // language=SQL
        let inserted: Option<i64> = crate::conn!(tx, fetch_optional, sqlx::query_scalar(
            "INSERT INTO inbound_messages (provider_message_id, sender, body, sent_at, received_at,
                 type, context_id, provider)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(&message.id)
        .bind(mobile.e164())
        .bind(&shown)
        .bind(stamp(message.sent_at))
        .bind(stamp(now))
        .bind(&message.message_type)
        .bind(&message.context_id)
        .bind(message.source.as_str()))?;
        let Some(row_id) = inserted else {
            stored.duplicates += 1;
            continue;
        };
        stored.new += 1;
        let button = message.payload.as_deref().and_then(intent::from_payload);
        let answered = outbox::answered_by(
            &mut tx,
            &mobile,
            button.map(|(_, id)| id),
            message.context_id.as_deref(),
            message.sent_at.min(now) - LINK_WINDOW,
        )
        .await?;
        let kind = answered.as_ref().and_then(|a| a.kind.parse::<Kind>().ok());
        let intent = match (button, &answered) {
            // A payload Nabd sent decides, when it names a message to this very number.
            (Some((intent, id)), Some(answered)) if answered.id == id => intent,
            _ => intent::decide(&message.text, kind, &config.opt_out_words),
        };
        let appointment_id = answered.as_ref().and_then(|a| a.appointment_id);
        // language=SQL
        crate::conn!(tx, execute, sqlx::query(
            "UPDATE inbound_messages SET answers_id = $1, answers_kind = $2, appointment_id = $3,
                 intent = $4
             WHERE id = $5",
        )
        .bind(answered.as_ref().map(|a| a.id))
        .bind(kind.map(Kind::as_str))
        .bind(appointment_id)
        .bind(intent.as_str())
        .bind(row_id))?;
        let patient = patients.get(mobile.e164());
        let sent_at = stamp(message.sent_at);
        // The newest message decides the conversation's intent and text; a late, older one
        // only counts as unread.
        // language=SQL
        crate::conn!(tx, execute, sqlx::query(
            "INSERT INTO conversations (mobile, patient_id, patient_name, patient_name_en,
                 started_at, last_at, last_inbound_at, last_intent, last_text, pending_intent,
                 confirmed_at, unread)
             VALUES ($1, $2, $3, $4, $5, $5, $5, $6, $7, $8, $9, 1)
             ON CONFLICT (mobile) DO UPDATE SET
                 patient_id = COALESCE(conversations.patient_id, excluded.patient_id),
                 patient_name = COALESCE(conversations.patient_name, excluded.patient_name),
                 patient_name_en = COALESCE(conversations.patient_name_en, excluded.patient_name_en),
                 last_at = CASE WHEN excluded.last_at > conversations.last_at
                     THEN excluded.last_at ELSE conversations.last_at END,
                 last_intent = CASE WHEN excluded.last_inbound_at >= COALESCE(conversations.last_inbound_at, '')
                     THEN excluded.last_intent ELSE conversations.last_intent END,
                 last_text = CASE WHEN excluded.last_inbound_at >= COALESCE(conversations.last_inbound_at, '')
                     THEN excluded.last_text ELSE conversations.last_text END,
                 last_inbound_at = CASE WHEN excluded.last_inbound_at > COALESCE(conversations.last_inbound_at, '')
                     THEN excluded.last_inbound_at ELSE conversations.last_inbound_at END,
                 pending_intent = COALESCE(excluded.pending_intent, conversations.pending_intent),
                 confirmed_at = COALESCE(excluded.confirmed_at, conversations.confirmed_at),
                 unread = conversations.unread + 1,
                 handled_at = NULL,
                 handled_by = NULL",
        )
        .bind(mobile.e164())
        .bind(patient.and_then(|p| p.id))
        .bind(patient.map(|p| p.name.clone()))
        .bind(patient.and_then(|p| p.name_en.clone()))
        .bind(&sent_at)
        .bind(intent.as_str())
        .bind(shown.chars().take(200).collect::<String>())
        .bind(intent.needs_action().then_some(intent.as_str()))
        .bind((intent == Intent::Confirm).then_some(&sent_at)))?;
        if intent == Intent::Stop {
            let reason = format!("replied {:?}", shown.chars().take(60).collect::<String>());
            if exclusions::exclude_in(&mut tx, &mobile, Scope::All, Some(&reason), "whatsapp", now)
                .await?
            {
                stored.opted_out += 1;
                tracing::info!(to = %mobile, "patient opted out by reply; number excluded");
            }
        }
        if intent == Intent::Confirm
            && config.reply_acknowledge
            && kind == Some(Kind::Reminder)
            && let Some(appointment_id) = appointment_id
        {
            acknowledge.push((mobile, appointment_id));
        }
    }
    tx.commit().await?;
    for (mobile, appointment_id) in acknowledge {
        thank(messaging, mobile, appointment_id).await?;
    }
    Ok(stored)
}

/// Looks up, in the PMS, the patients of the numbers whose conversation has no name yet (a new
/// conversation, or one whose look-up failed), a few at a time within a time budget. A failed
/// or unfinished look-up leaves the name unknown; the next message tries again. A number the
/// PMS does not know gets the name `''`.
async fn look_up_new(
    messaging: &Messaging,
    senders: &[Option<Mobile>],
) -> Result<HashMap<String, Patient>, sqlx::Error> {
    let mut numbers: Vec<&Mobile> = senders.iter().flatten().collect();
    numbers.sort_by(|a, b| a.e164().cmp(b.e164()));
    numbers.dedup();
    let mut found = HashMap::new();
    if numbers.is_empty() {
        return Ok(found);
    }
    let list = serde_json::to_string(&numbers.iter().map(|m| m.e164()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned());
    // language=SQL
    let db = messaging.outbox.db();
    let named: Vec<String> = crate::db!(
        db,
        fetch_all,
        sqlx::query_scalar(crate::sql_in_json!(
            db,
            text,
            "SELECT mobile FROM conversations WHERE mobile IN ",
            " AND patient_name IS NOT NULL"
        ))
        .bind(list)
    )?;
    let unnamed: Vec<Mobile> = numbers
        .into_iter()
        .filter(|m| !named.iter().any(|n| n == m.e164()))
        .cloned()
        .collect();
    let waiting = unnamed.len();
    // A few at a time, and never longer than the budget: a provider waits for this answer,
    // and a slow clinic database must not hold a delivery of a hundred new numbers for minutes.
    let lookups = futures::stream::iter(unnamed)
        .map(|mobile| async move {
            let patients =
                gateway::patients_by_mobile(&messaging.clinic, &mobile, messaging.region).await;
            (mobile, patients)
        })
        .buffer_unordered(LOOKUPS_AT_ONCE);
    tokio::pin!(lookups);
    let deadline = tokio::time::sleep(LOOKUP_BUDGET);
    tokio::pin!(deadline);
    loop {
        let (mobile, patients) = tokio::select! {
            next = lookups.next() => match next {
                Some(done) => done,
                None => break,
            },
            () = &mut deadline => {
                tracing::warn!(
                    left = waiting - found.len(),
                    "the clinic database is slow: the other new conversations' names are looked up with their next message"
                );
                break;
            }
        };
        match patients {
            Ok(patients) => {
                let patient = patients.into_iter().next();
                found.insert(
                    mobile.e164().to_owned(),
                    Patient {
                        id: patient.as_ref().map(|p| p.patient_id),
                        name: patient
                            .as_ref()
                            .map(|p| without_bidi_controls(p.name_ar.trim()))
                            .unwrap_or_default(),
                        name_en: patient
                            .and_then(|p| p.name_en)
                            .map(|n| without_bidi_controls(n.trim()))
                            .filter(|n| !n.is_empty()),
                    },
                );
            }
            Err(error) => {
                tracing::warn!(%error, to = %mobile, "cannot look up a replying patient's name; tried again with their next message");
            }
        }
    }
    Ok(found)
}

/// Thanks a patient once for confirming appointment `appointment_id` by reply.
async fn thank(messaging: &Messaging, to: Mobile, appointment_id: i64) -> Result<(), OutboxError> {
    let config = messaging.outbox.config();
    let clock = messaging.outbox.clock();
    let body = match messaging.language {
        Language::Ar => config.template_acknowledge_ar.clone(),
        Language::En => config.template_acknowledge_en.clone(),
    };
    let now = clock.real_now();
    let mut message = reply_message(messaging, to, body, format!("acknowledge:{appointment_id}"));
    // Inside the reply window only: a thanks a day late is noise.
    message.expires_at = Some(now + Span::hours(1));
    message.appointment_id = Some(appointment_id);
    messaging.outbox.enqueue(&[message]).await?;
    Ok(())
}

/// A message of kind `reply` to `to`, keyed `key`, due now: free text (the body is also the
/// `manual` template's one parameter, for a reply that goes as the template).
fn reply_message(messaging: &Messaging, to: Mobile, body: String, key: String) -> NewMessage {
    let clock = messaging.outbox.clock();
    NewMessage::free_text(
        Kind::Reply,
        to,
        body,
        messaging.language,
        key,
        clock.real_now(),
        clock.today(),
    )
}

/// Which conversations the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Filter {
    /// Someone must act: a cancel, reschedule, book or question not yet handled.
    #[default]
    NeedsAction,
    /// Patients who confirmed by reply.
    Confirmations,
    All,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "needs_action" => Ok(Self::NeedsAction),
            "confirmations" => Ok(Self::Confirmations),
            "all" => Ok(Self::All),
            other => Err(format!("unknown filter {other:?}")),
        }
    }
}

/// One conversation as the inbox lists it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Summary {
    pub mobile: String,
    pub patient_name: Option<String>,
    pub patient_name_en: Option<String>,
    pub last_at: String,
    pub last_inbound_at: Option<String>,
    /// What needs acting on, else the newest message's intent.
    pub intent: Option<String>,
    pub last_text: String,
    pub handled: bool,
    pub unread: i64,
}

/// Expands to the query of [`Summary`] rows with `$rest` (its filter and order) after it: one
/// place for what the inbox shows of a conversation, its list and its thread alike.
macro_rules! summary_sql {
    ($rest:literal) => {
        concat!(
            "SELECT mobile, patient_name, patient_name_en, last_at, last_inbound_at,
                    CASE WHEN handled_at IS NULL THEN COALESCE(pending_intent, last_intent)
                         ELSE last_intent END AS intent,
                    last_text, handled_at IS NOT NULL AS handled, unread
             FROM conversations ",
            $rest
        )
    };
}

/// The page size of the inbox.
pub const PAGE: i64 = 50;

/// Lists conversations, newest first: those matching `filter`, and `search` (part of the
/// number's digits, or of the patient's name) when given.
pub async fn list(
    db: &crate::platform::store::Db,
    filter: Filter,
    search: Option<&str>,
    page: u32,
) -> Result<Vec<Summary>, sqlx::Error> {
    let filter = match filter {
        Filter::NeedsAction => "needs_action",
        Filter::Confirmations => "confirmations",
        Filter::All => "all",
    };
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    let digits: String = search
        .map(crate::platform::phone::latin_digits)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    // A local form ("0501...") matches the stored international one ("+966501...").
    let digits = digits.trim_start_matches('0');
    let (number_like, name_like) = match search {
        None => (None, None),
        Some(text) => (
            (!digits.is_empty()).then(|| format!("%{digits}%")),
            Some(format!("%{}%", text.replace(['%', '_'], ""))),
        ),
    };
    // language=SQL
    crate::db!(
        db,
        fetch_all,
        sqlx::query_as(summary_sql!(
            "WHERE ($5 = 'all'
                OR ($5 = 'needs_action' AND pending_intent IS NOT NULL AND handled_at IS NULL)
                OR ($5 = 'confirmations' AND confirmed_at IS NOT NULL))
           AND ($1 IS NULL OR mobile LIKE $2 OR patient_name LIKE $1
                OR LOWER(patient_name_en) LIKE LOWER($1))
         ORDER BY last_at DESC, mobile LIMIT $3 OFFSET $4"
        ))
        .bind(name_like)
        // An empty pattern matches no number (PostgreSQL refuses a NUL in text).
        .bind(number_like.unwrap_or_default())
        .bind(PAGE)
        .bind(i64::from(page.saturating_sub(1)) * PAGE)
        .bind(filter)
    )
}

/// How many conversations need someone to act (the count in the admin navigation).
pub async fn needing_action(db: &crate::platform::store::Db) -> Result<i64, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        fetch_one,
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM conversations WHERE pending_intent IS NOT NULL AND handled_at IS NULL",
        )
    )
}

/// One line of a conversation's thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// From the patient (`true`) or from Nabd.
    pub inbound: bool,
    pub at: String,
    pub body: String,
    pub message_type: String,
    /// An inbound message's intent.
    pub intent: Option<String>,
    /// An outbound message's kind, or the kind of message an inbound one answers.
    pub kind: Option<String>,
    pub appointment_id: Option<i64>,
    /// An outbound message's state (`queued`, `sent`...) and delivery status.
    pub state: Option<String>,
}

/// A conversation, opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub summary: Summary,
    pub lines: Vec<Line>,
    /// When the reply window closes (Cloud API), if it is open.
    pub window_closes: Option<DateTime<Utc>>,
    /// Whether the provider limits free text to the window (the Cloud API).
    pub window_applies: bool,
    /// Whether an approved `manual` template can carry a reply outside the window.
    pub template_fallback: bool,
}

#[derive(sqlx::FromRow)]
struct InboundLine {
    sent_at: String,
    body: String,
    #[sqlx(rename = "type")]
    message_type: String,
    intent: String,
    answers_kind: Option<String>,
    appointment_id: Option<i64>,
}

/// The longest thread shown.
const THREAD_LINES: i64 = 200;

/// Opens the conversation with `mobile`: its thread, what Nabd sent and what came back, oldest
/// first. With `mark_read`, its unread count goes back to zero. `None` when there is none.
pub async fn thread(
    messaging: &Messaging,
    mobile: &Mobile,
    mark_read: bool,
    now: DateTime<Utc>,
) -> Result<Option<Thread>, sqlx::Error> {
    let db = messaging.outbox.db();
    let Some(summary) = summary(db, mobile).await? else {
        return Ok(None);
    };
    if mark_read {
        // language=SQL
        crate::db!(
            db,
            execute,
            sqlx::query("UPDATE conversations SET unread = 0, opened_at = $1 WHERE mobile = $2")
                .bind(stamp(now))
                .bind(mobile.e164())
        )?;
    }
    // language=SQL
    let inbound: Vec<InboundLine> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT sent_at, body, type, intent, answers_kind, appointment_id
         FROM inbound_messages WHERE sender = $1 AND sender_valid = 1
         ORDER BY sent_at DESC, id DESC LIMIT $2",
        )
        .bind(mobile.e164())
        .bind(THREAD_LINES)
    )?;
    let outbound = outbox::to_number(db, mobile, THREAD_LINES).await?;
    let mut lines: Vec<Line> = inbound
        .into_iter()
        .map(|row| Line {
            inbound: true,
            at: row.sent_at,
            body: row.body,
            message_type: row.message_type,
            intent: Some(row.intent),
            kind: row.answers_kind,
            appointment_id: row.appointment_id,
            state: None,
        })
        .chain(outbound.into_iter().map(|sent| Line {
            inbound: false,
            at: sent.at,
            body: sent.body,
            message_type: "text".to_owned(),
            intent: None,
            kind: Some(sent.kind),
            appointment_id: sent.appointment_id,
            state: Some(sent.delivery_status.unwrap_or(sent.state)),
        }))
        .collect();
    lines.sort_by(|a, b| a.at.cmp(&b.at));
    let window = reply_window(messaging, &summary, now);
    Ok(Some(Thread {
        summary,
        lines,
        window_closes: window.closes,
        window_applies: window.applies,
        template_fallback: window.fallback,
    }))
}

async fn summary(
    db: &crate::platform::store::Db,
    mobile: &Mobile,
) -> Result<Option<Summary>, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        fetch_optional,
        sqlx::query_as(summary_sql!("WHERE mobile = $1")).bind(mobile.e164())
    )
}

struct Window {
    applies: bool,
    closes: Option<DateTime<Utc>>,
    fallback: bool,
}

fn reply_window(messaging: &Messaging, summary: &Summary, now: DateTime<Utc>) -> Window {
    let applies = matches!(messaging.outbox.provider(), Provider::CloudApi(_));
    let closes = summary
        .last_inbound_at
        .as_deref()
        .and_then(parse_stamp)
        .map(|at| at + REPLY_WINDOW)
        .filter(|closes| *closes > now);
    Window {
        applies,
        closes,
        fallback: messaging
            .outbox
            .config()
            .cloud_api_templates
            .get("manual")
            .is_some(),
    }
}

/// Marks the conversation with `mobile` handled (its pending intent is done); the caller
/// audits it. `false` when there is no such conversation.
pub async fn mark_handled(
    db: &crate::platform::store::Db,
    mobile: &Mobile,
    by: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // language=SQL
    let done = crate::db!(
        db,
        execute,
        sqlx::query(
            "UPDATE conversations SET handled_at = $1, handled_by = $2, pending_intent = NULL
         WHERE mobile = $3",
        )
        .bind(stamp(now))
        .bind(by)
        .bind(mobile.e164())
    )?;
    Ok(done == 1)
}

/// Why a staff reply was refused.
#[derive(Debug, thiserror::Error)]
pub enum ReplyRefusal {
    #[error("there is no conversation with this number")]
    NoConversation,
    #[error("the reply is empty")]
    Empty,
    #[error("the reply is longer than {MAX_REPLY_CHARS} characters")]
    TooLong,
    /// The Cloud API's 24-hour window is closed and no `manual` template is configured.
    #[error(
        "the patient last wrote more than 24 hours ago: WhatsApp allows only an approved template \
         now, and none is configured for manual messages"
    )]
    WindowClosed,
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

impl From<sqlx::Error> for ReplyRefusal {
    fn from(error: sqlx::Error) -> Self {
        Self::Outbox(OutboxError::Database(error))
    }
}

/// Queues a staff reply to `mobile` through the outbox (kind `reply`: not counted in the
/// contact budget, sent at once). With the Cloud API outside the reply window it goes as the
/// approved `manual` template, or is refused when there is none. Returns the outbox id; the
/// caller audits it and may deliver it at once.
pub async fn reply(
    messaging: &Messaging,
    mobile: &Mobile,
    body: &str,
    now: DateTime<Utc>,
) -> Result<i64, ReplyRefusal> {
    let db = messaging.outbox.db();
    let body = without_bidi_controls(body.trim());
    if body.is_empty() {
        return Err(ReplyRefusal::Empty);
    }
    if body.chars().count() > MAX_REPLY_CHARS {
        return Err(ReplyRefusal::TooLong);
    }
    let summary = summary(db, mobile)
        .await?
        .ok_or(ReplyRefusal::NoConversation)?;
    let window = reply_window(messaging, &summary, now);
    let template_key = match (window.applies, window.closes, window.fallback) {
        (false, _, _) | (true, Some(_), _) => None,
        (true, None, true) => Some("manual".to_owned()),
        (true, None, false) => return Err(ReplyRefusal::WindowClosed),
    };
    let key = format!("reply:{}:{}", mobile.digits(), now.timestamp_micros());
    let mut message = reply_message(messaging, mobile.clone(), body, key);
    message.template_key = template_key;
    let queued = messaging.outbox.enqueue(&[message]).await?;
    let id = queued.first().map(|q| q.id).unwrap_or_default();
    // language=SQL
    crate::db!(
        db,
        execute,
        sqlx::query("UPDATE conversations SET last_at = $1 WHERE mobile = $2 AND last_at < $1")
            .bind(stamp(now))
            .bind(mobile.e164())
    )?;
    Ok(id)
}

/// One appointment whose patient answered, for the reception's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentReply {
    pub appointment_id: i64,
    pub patient_name: String,
    pub mobile: String,
    pub doctor: String,
    pub date: NaiveDate,
    pub starts_at: String,
    /// The reply's intent: the newest one that asks for something, else the newest.
    pub intent: String,
    /// The newest reply's text.
    pub text: String,
    pub replied_at: String,
}

/// The appointments on `date` whose patients answered a message about them, by start time:
/// each read through the gateway's look-up by id, so that reception sees the booking as the
/// PMS holds it now.
pub async fn appointment_replies(
    messaging: &Messaging,
    date: NaiveDate,
) -> Result<Vec<AppointmentReply>, crate::messaging::RunError> {
    let db = messaging.outbox.db();
    // Reminders go at most a day ahead; a reply can come a while after. Two weeks is ample.
    let clock = messaging.outbox.clock();
    let real = |day: NaiveDate| {
        use chrono::TimeZone;
        let local = clock
            .now()
            .timezone()
            .from_local_datetime(&day.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .unwrap_or_else(|| clock.now());
        stamp(clock.real_instant_of(local))
    };
    // language=SQL
    let rows: Vec<(i64, String, String, String, String)> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT appointment_id, intent, body, sent_at, sender FROM inbound_messages
         WHERE appointment_id IS NOT NULL AND sent_at >= $1 AND sent_at < $2
         ORDER BY appointment_id, sent_at, id",
        )
        .bind(real(date - Span::days(14)))
        .bind(real(date + Span::days(2)))
    )?;
    let mut by_appointment: BTreeMap<i64, Vec<(String, String, String, String)>> = BTreeMap::new();
    for (appointment_id, intent, body, at, sender) in rows {
        by_appointment
            .entry(appointment_id)
            .or_default()
            .push((intent, body, at, sender));
    }
    if by_appointment.is_empty() {
        return Ok(Vec::new());
    }
    let doctors = messaging.doctor_names().await?;
    let language = messaging.language;
    let mut replies = Vec::new();
    for (appointment_id, answers) in by_appointment {
        let Some(appointment) = messaging.clinic.appointment(appointment_id).await? else {
            continue;
        };
        if appointment.date != date {
            continue;
        }
        let Some((_, text, replied_at, mobile)) = answers.last().cloned() else {
            continue;
        };
        let intent = answers
            .iter()
            .rev()
            .map(|(intent, ..)| intent.as_str())
            .find(|intent| *intent != "other")
            .unwrap_or("other")
            .to_owned();
        replies.push(AppointmentReply {
            appointment_id,
            patient_name: without_bidi_controls(&crate::messaging::patient_name(
                &appointment,
                language,
            )),
            mobile,
            doctor: without_bidi_controls(&doctors.name(
                appointment.doctor_id,
                language,
                &appointment.doctor_name,
            )),
            date: appointment.date,
            starts_at: appointment.starts.format("%H:%M").to_string(),
            intent,
            text,
            replied_at,
        });
    }
    replies.sort_by(|a, b| (&a.starts_at, a.appointment_id).cmp(&(&b.starts_at, b.appointment_id)));
    Ok(replies)
}

/// The appointments among `ids` whose patient confirmed by reply (a later reminder uses the
/// confirmed template). A later cancel or reschedule undoes it.
pub async fn confirmed_by_reply(
    db: &crate::platform::store::Db,
    ids: &[i64],
) -> Result<std::collections::HashSet<i64>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let list = serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned());
    // The newest reply that says yes or no, per appointment.
    // language=SQL
    let rows: Vec<(i64, String)> = crate::db!(db, fetch_all, sqlx::query_as(crate::sql_in_json!(
        db,
        ids,
        "SELECT appointment_id, intent FROM (
             SELECT appointment_id, intent,
                    ROW_NUMBER() OVER (PARTITION BY appointment_id ORDER BY sent_at DESC, id DESC) AS n
             FROM inbound_messages
             WHERE appointment_id IN ",
        "     AND intent IN ('confirm', 'cancel', 'reschedule')
         ) AS latest WHERE n = 1"
    ))
    .bind(list))?;
    Ok(rows
        .into_iter()
        .filter(|(_, intent)| intent == "confirm")
        .map(|(id, _)| id)
        .collect())
}

/// Tells whether `sender` wrote to the clinic after `since` (the Cloud API's customer-service
/// window is the 24 hours after a patient's last message).
pub async fn heard_from_since(
    db: &crate::platform::store::Db,
    sender: &Mobile,
    since: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // language=SQL
    let found: Option<i64> = crate::db!(db, fetch_optional, sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM inbound_messages WHERE sender = $1 AND sent_at > $2 LIMIT 1",
    )
    .bind(sender.e164())
    .bind(stamp(since)))?;
    Ok(found.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::phone::Region;

    #[test]
    fn senders_are_read_in_each_providers_form_and_bad_ones_refused() {
        let region = Region::default();
        let expected = Mobile::parse("+966501234567", region).expect("valid");
        for form in ["966501234567", "+966501234567", "966501234567@c.us"] {
            assert_eq!(sender(form, region), Some(expected.clone()), "{form}");
        }
        for bad in ["", "abc", "123", "status@broadcast", "9665012345678901234"] {
            assert_eq!(sender(bad, region), None, "{bad}");
        }
    }

    #[test]
    fn a_message_without_text_shows_its_type() {
        assert_eq!(shown_text("image", ""), "[image]");
        assert_eq!(shown_text("image", "my x-ray"), "my x-ray");
        assert_eq!(shown_text("text", " hi "), "hi");
        assert_eq!(shown_text("location", "  "), "[location]");
    }
}
