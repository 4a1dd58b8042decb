//! `/api/v1/admin/conversations` and `/api/v1/admin/appointment-replies`: the inbox and the
//! reception's list for admins. The reads and the audited changes here are shared with the
//! admin pages' port.

use crate::admin::{self, SessionUser};
use crate::messaging::conversations::{self, Filter, Line, ReplyRefusal, Summary, Thread};
use crate::platform::clock::Clock;
use crate::platform::phone::Mobile;
use crate::platform::text::csv_cell;
use crate::platform::time::local_stamp;
use crate::web::api::extract::{Body, Params, Segment};
use crate::web::session::{Admin, AdminError};
use crate::web::state::AppState;
use app::admin::inbox::{
    AppointmentReply, Conversation, ConversationSummary, DayReplies, ReplyWindow, ThreadEntry,
};
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;

/// Returns the inbox's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/conversations", get(list_conversations))
        .route(
            "/api/v1/admin/conversations/{mobile}",
            get(open_conversation),
        )
        .route("/api/v1/admin/conversations/{mobile}/reply", post(reply_to))
        .route(
            "/api/v1/admin/conversations/{mobile}/handled",
            post(handled),
        )
        .route(
            "/api/v1/admin/appointment-replies",
            get(appointment_replies),
        )
        .route(
            "/api/v1/admin/appointment-replies.csv",
            get(appointment_replies_csv),
        )
}

/// Reads a conversation's number from the URL or a form, in any form the desk types it.
pub(crate) fn number(state: &AppState, text: &str) -> Result<Mobile, AdminError> {
    Mobile::parse(text.trim(), state.config.messaging.phone_region)
        .map_err(|error| AdminError::Invalid("invalid_mobile", error.to_string()))
}

fn summary(clock: &Clock, row: Summary) -> ConversationSummary {
    let name = row
        .patient_name
        .filter(|name| !name.trim().is_empty())
        .or(row.patient_name_en.filter(|name| !name.trim().is_empty()));
    ConversationSummary {
        mobile: row.mobile,
        patient_name: name,
        last_at: local_stamp(clock, &row.last_at),
        intent: row.intent,
        handled: row.handled,
        unread: row.unread,
        last_text: row.last_text,
    }
}

fn entry(clock: &Clock, line: Line) -> ThreadEntry {
    ThreadEntry {
        direction: if line.inbound { "in" } else { "out" }.to_owned(),
        at: local_stamp(clock, &line.at),
        body: line.body,
        message_type: line.message_type,
        intent: line.intent,
        kind: line.kind,
        appointment_id: line.appointment_id,
        state: line.state,
    }
}

/// The conversations of `filter` and `search`, newest first.
pub(crate) async fn list(
    state: &AppState,
    filter: Option<&str>,
    search: Option<&str>,
    page: u32,
) -> Result<Vec<ConversationSummary>, AdminError> {
    let filter: Filter = match filter.map(str::trim).filter(|f| !f.is_empty()) {
        None => Filter::default(),
        Some(text) => text
            .parse()
            .map_err(|message| AdminError::Invalid("bad_filter", message))?,
    };
    let rows = conversations::list(&state.db, filter, search, page.max(1)).await?;
    Ok(rows
        .into_iter()
        .map(|row| summary(&state.clock, row))
        .collect())
}

/// Opens the conversation with `mobile`; `mark_read` resets its unread count.
pub(crate) async fn open(
    state: &AppState,
    mobile: &str,
    mark_read: bool,
) -> Result<Conversation, AdminError> {
    let mobile = number(state, mobile)?;
    let now = state.clock.real_now();
    let Thread {
        summary: row,
        lines,
        window_closes,
        window_applies,
        template_fallback,
    } = conversations::thread(&state.messaging, &mobile, mark_read, now)
        .await?
        .ok_or(AdminError::NotFound)?;
    Ok(Conversation {
        summary: summary(&state.clock, row),
        thread: lines
            .into_iter()
            .map(|line| entry(&state.clock, line))
            .collect(),
        window: ReplyWindow {
            applies: window_applies,
            closes_at: window_closes
                .map(|closes| local_stamp(&state.clock, &crate::platform::time::stamp(closes))),
            minutes_left: window_closes.map(|closes| (closes - now).num_minutes().max(0)),
            template_fallback,
        },
    })
}

/// Queues a staff reply (audited) and hands it to the provider at once; a provider that is not
/// ready leaves it queued for a retry.
pub(crate) async fn reply(
    state: &AppState,
    user: &SessionUser,
    mobile: &str,
    body: &str,
) -> Result<i64, AdminError> {
    let mobile = number(state, mobile)?;
    let now = state.clock.real_now();
    let id = conversations::reply(&state.messaging, &mobile, body, now)
        .await
        .map_err(|refusal| match refusal {
            ReplyRefusal::NoConversation => AdminError::NotFound,
            ReplyRefusal::Empty => AdminError::Invalid("empty_reply", refusal.to_string()),
            ReplyRefusal::TooLong => AdminError::Invalid("reply_too_long", refusal.to_string()),
            ReplyRefusal::WindowClosed => AdminError::Invalid("window_closed", refusal.to_string()),
            ReplyRefusal::Outbox(error) => AdminError::Internal(error.to_string()),
        })?;
    admin::audit(
        &state.db,
        Some(user),
        "replied",
        &format!("{mobile}: message {id}"),
        now,
    )
    .await?;
    state
        .messaging
        .outbox
        .deliver(id)
        .await
        .map_err(|error| AdminError::Internal(error.to_string()))?;
    Ok(id)
}

/// Marks the conversation with `mobile` handled (audited).
pub(crate) async fn mark_handled(
    state: &AppState,
    user: &SessionUser,
    mobile: &str,
) -> Result<(), AdminError> {
    let mobile = number(state, mobile)?;
    let now = state.clock.real_now();
    if !conversations::mark_handled(&state.db, &mobile, &user.username, now).await? {
        return Err(AdminError::NotFound);
    }
    admin::audit(
        &state.db,
        Some(user),
        "conversation_handled",
        mobile.e164(),
        now,
    )
    .await?;
    Ok(())
}

/// The reception's list of `date` (`YYYY-MM-DD`; default today).
pub(crate) async fn day(state: &AppState, date: Option<&str>) -> Result<DayReplies, AdminError> {
    let today = state.clock.today();
    let date = match date.map(str::trim).filter(|d| !d.is_empty()) {
        None => today,
        Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| {
            AdminError::Invalid("bad_date", format!("{text:?} is not a date (YYYY-MM-DD)"))
        })?,
    };
    let replies = conversations::appointment_replies(&state.messaging, date)
        .await
        .map_err(|error| AdminError::Internal(error.to_string()))?;
    Ok(DayReplies {
        date: date.to_string(),
        today: today.to_string(),
        tomorrow: today.succ_opt().unwrap_or(today).to_string(),
        replies: replies
            .into_iter()
            .map(|reply| AppointmentReply {
                appointment_id: reply.appointment_id,
                patient_name: reply.patient_name,
                mobile: reply.mobile,
                doctor: reply.doctor,
                starts_at: reply.starts_at,
                intent: reply.intent,
                text: reply.text,
                replied_at: local_stamp(&state.clock, &reply.replied_at),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct ListParams {
    filter: Option<String>,
    q: Option<String>,
    page: Option<u32>,
}

async fn list_conversations(
    State(state): State<AppState>,
    admin: Admin,
    Params(params): Params<ListParams>,
) -> Result<Json<Vec<ConversationSummary>>, AdminError> {
    admin.require_admin()?;
    Ok(Json(
        list(
            &state,
            params.filter.as_deref(),
            params.q.as_deref(),
            params.page.unwrap_or(1),
        )
        .await?,
    ))
}

async fn open_conversation(
    State(state): State<AppState>,
    admin: Admin,
    Segment(mobile): Segment<String>,
) -> Result<Json<Vec<ThreadEntry>>, AdminError> {
    admin.require_admin()?;
    Ok(Json(open(&state, &mobile, true).await?.thread))
}

#[derive(Deserialize)]
struct ReplyBody {
    body: String,
}

async fn reply_to(
    State(state): State<AppState>,
    admin: Admin,
    Segment(mobile): Segment<String>,
    Body(body): Body<ReplyBody>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require_admin()?;
    let id = reply(&state, &admin.0, &mobile, &body.body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "message_id": id })),
    ))
}

async fn handled(
    State(state): State<AppState>,
    admin: Admin,
    Segment(mobile): Segment<String>,
) -> Result<StatusCode, AdminError> {
    admin.require_admin()?;
    mark_handled(&state, &admin.0, &mobile).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DayParams {
    date: Option<String>,
}

async fn appointment_replies(
    State(state): State<AppState>,
    admin: Admin,
    Params(params): Params<DayParams>,
) -> Result<Json<Vec<AppointmentReply>>, AdminError> {
    admin.require_admin()?;
    Ok(Json(day(&state, params.date.as_deref()).await?.replies))
}

async fn appointment_replies_csv(
    State(state): State<AppState>,
    admin: Admin,
    Params(params): Params<DayParams>,
) -> Result<impl IntoResponse, AdminError> {
    admin.require_admin()?;
    let day = day(&state, params.date.as_deref()).await?;
    let mut csv = String::from(
        "\u{feff}appointment_id,starts_at,doctor,patient_name,mobile,intent,reply,replied_at\r\n",
    );
    for reply in &day.replies {
        let cells = [
            reply.appointment_id.to_string(),
            reply.starts_at.clone(),
            reply.doctor.clone(),
            reply.patient_name.clone(),
            reply.mobile.clone(),
            reply.intent.clone(),
            reply.text.clone(),
            reply.replied_at.clone(),
        ];
        let line: Vec<String> = cells.iter().map(|cell| csv_cell(cell)).collect();
        csv.push_str(&line.join(","));
        csv.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"replies-{}.csv\"", day.date),
            ),
        ],
        csv,
    ))
}
