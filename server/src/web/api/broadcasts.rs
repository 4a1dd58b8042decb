//! `/api/v1/admin/broadcasts` (review, list, view, send, cancel) and
//! `/api/v1/admin/exclusions/import`, for admins; the audited operations the admin pages' port
//! shares with these handlers.

use crate::admin::{self, SessionUser};
use crate::messaging::broadcast::{self, Failure};
use crate::web::api::extract::{Body, Segment};
use crate::web::session::{Admin, AdminError};
use crate::web::state::AppState;
use app::admin::broadcasts::{BroadcastError, BroadcastSummary, BroadcastView, ImportOutcome};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// Returns the broadcast routes.
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

/// A refused or failed broadcast request.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// Not signed in, not allowed, or broken (the session layer's answer).
    Admin(AdminError),
    /// The broadcast itself was refused.
    Broadcast(BroadcastError),
}

impl From<AdminError> for Refusal {
    fn from(error: AdminError) -> Self {
        Self::Admin(error)
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(error: sqlx::Error) -> Self {
        Self::Admin(error.into())
    }
}

impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(error) => Self::Broadcast(error),
            broken => Self::Admin(AdminError::Internal(broken.to_string())),
        }
    }
}

impl Refusal {
    /// The error the pages translate; an internal cause is logged, never shown.
    pub(crate) fn for_page(self) -> BroadcastError {
        match self {
            Self::Broadcast(error) => error,
            Self::Admin(AdminError::Unauthenticated) => BroadcastError::Unauthenticated,
            Self::Admin(AdminError::Forbidden) => BroadcastError::Forbidden,
            Self::Admin(AdminError::NotFound) => BroadcastError::NotFound,
            Self::Admin(other) => other.unexpected(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Admin(error) => error.into_response(),
            Self::Broadcast(error) => (
                error.status(),
                Json(json!({ "error": error.code(), "message": error.to_string() })),
            )
                .into_response(),
        }
    }
}

/// Reviews a list for a message and keeps it as a draft; returns its id.
pub(crate) async fn review(
    state: &AppState,
    user: &SessionUser,
    numbers: &str,
    csv: Option<&str>,
    message: &str,
) -> Result<i64, Refusal> {
    let outbox = &state.messaging.outbox;
    Ok(broadcast::review(outbox, &user.username, numbers, csv, message).await?)
}

/// Queues a draft's messages (audited); returns how many.
pub(crate) async fn send(state: &AppState, user: &SessionUser, id: i64) -> Result<usize, Refusal> {
    let queued = broadcast::send(&state.messaging.outbox, &user.username, id).await?;
    let detail = format!("broadcast {id}: {queued} messages queued");
    let now = state.clock.real_now();
    admin::audit(&state.db, Some(user), "broadcast_sent", &detail, now).await?;
    Ok(queued)
}

/// Cancels what has not gone yet (audited); returns how many messages that was.
pub(crate) async fn cancel(state: &AppState, user: &SessionUser, id: i64) -> Result<i64, Refusal> {
    let cancelled = broadcast::cancel(&state.messaging.outbox, &user.username, id).await?;
    let detail = format!("broadcast {id}: {cancelled} messages not sent");
    let now = state.clock.real_now();
    admin::audit(&state.db, Some(user), "broadcast_cancelled", &detail, now).await?;
    Ok(cancelled)
}

/// Adds every mobile of a list to the do-not-contact list, audited once per number added.
pub(crate) async fn import_exclusions(
    state: &AppState,
    user: &SessionUser,
    numbers: &str,
    csv: Option<&str>,
    reason: Option<&str>,
) -> Result<ImportOutcome, Refusal> {
    let (outcome, added) =
        broadcast::import_exclusions(&state.messaging.outbox, numbers, csv, reason).await?;
    let now = state.clock.real_now();
    for mobile in &added {
        admin::audit(&state.db, Some(user), "number_excluded", mobile, now).await?;
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
    Body(body): Body<NewBroadcast>,
) -> Result<Response, Refusal> {
    admin.require_admin()?;
    let id = review(
        &state,
        &admin.0,
        &body.numbers,
        body.csv.as_deref(),
        &body.message,
    )
    .await?;
    let view = broadcast::view(&state.messaging.outbox, id).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

async fn list_route(
    State(state): State<AppState>,
    admin: Admin,
) -> Result<Json<Vec<BroadcastSummary>>, Refusal> {
    admin.require_admin()?;
    Ok(Json(broadcast::recent(&state.messaging.outbox).await?))
}

async fn get_route(
    State(state): State<AppState>,
    admin: Admin,
    Segment(id): Segment<i64>,
) -> Result<Json<BroadcastView>, Refusal> {
    admin.require_admin()?;
    Ok(Json(broadcast::view(&state.messaging.outbox, id).await?))
}

async fn send_route(
    State(state): State<AppState>,
    admin: Admin,
    Segment(id): Segment<i64>,
) -> Result<Response, Refusal> {
    admin.require_admin()?;
    let queued = send(&state, &admin.0, id).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "queued": queued }))).into_response())
}

async fn cancel_route(
    State(state): State<AppState>,
    admin: Admin,
    Segment(id): Segment<i64>,
) -> Result<Json<serde_json::Value>, Refusal> {
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
    Body(body): Body<ImportBody>,
) -> Result<Json<ImportOutcome>, Refusal> {
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
