//! `/api/v1/admin/messages`: the message log for admins, and an admin's decision on an
//! `uncertain` message; the log read and the decision the admin page's port shares.

use crate::admin::{self, SessionUser};
use crate::messaging::outbox::log::{self, LogQuery, MessageRow, Resolution};
use crate::platform::time::local_stamp;
use crate::web::api::extract::{Body, Params, Segment};
use crate::web::session::{Admin, AdminError};
use crate::web::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// Returns the message log routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/messages", get(list_messages))
        .route("/api/v1/admin/messages/{id}/resolve", post(resolve_message))
}

/// The log for `query`, each filter value checked once, whichever caller asks.
pub(crate) async fn read(
    state: &AppState,
    query: &LogQuery,
) -> Result<Vec<MessageRow>, AdminError> {
    let filter = query
        .parse(state.config.messaging.phone_region)
        .map_err(|error| AdminError::Invalid(error.code(), error.to_string()))?;
    let mut rows = log::list(&state.db, &filter).await?;
    // Every time an admin reads is the clinic's, with its offset (the stored form is UTC).
    for row in &mut rows {
        row.scheduled_at = local_stamp(&state.clock, &row.scheduled_at);
        row.sent_at = row
            .sent_at
            .as_deref()
            .map(|at| local_stamp(&state.clock, at));
    }
    Ok(rows)
}

/// Resolves an `uncertain` message: `sent` (the patient got it) or `requeue` (send again now).
/// Audited.
pub(crate) async fn resolve(
    state: &AppState,
    user: &SessionUser,
    id: i64,
    action: &str,
) -> Result<(), AdminError> {
    let resolution: Resolution = action
        .parse()
        .map_err(|message| AdminError::Invalid("bad_action", message))?;
    let now = state.clock.real_now();
    if !log::resolve_uncertain(&state.db, id, resolution, now).await? {
        return Err(AdminError::NotFound);
    }
    admin::audit(
        &state.db,
        Some(user),
        resolution.audit_action(),
        &format!("message {id}"),
        now,
    )
    .await?;
    if resolution == Resolution::Requeue {
        state
            .messaging
            .outbox
            .deliver(id)
            .await
            .map_err(|error| AdminError::Internal(error.to_string()))?;
    }
    Ok(())
}

#[derive(Deserialize)]
struct MessageParams {
    kind: Option<String>,
    state: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
}

async fn list_messages(
    State(state): State<AppState>,
    admin: Admin,
    Params(params): Params<MessageParams>,
) -> Result<Json<Vec<MessageRow>>, AdminError> {
    admin.require_admin()?;
    let query = LogQuery {
        kind: params.kind,
        state: params.state,
        to: params.to,
        limit: params.limit,
    };
    Ok(Json(read(&state, &query).await?))
}

#[derive(Deserialize)]
struct ResolveBody {
    /// `sent` (the patient did get it) or `requeue` (send it again).
    action: String,
}

async fn resolve_message(
    State(state): State<AppState>,
    admin: Admin,
    Segment(id): Segment<i64>,
    Body(body): Body<ResolveBody>,
) -> Result<StatusCode, AdminError> {
    admin.require_admin()?;
    resolve(&state, &admin.0, id, &body.action).await?;
    Ok(StatusCode::NO_CONTENT)
}
