//! `/api/v1/admin/exclusions`: the do-not-contact list for admins (list, add, restore), and the
//! audited operations the admin page's port shares with these handlers.

use crate::admin::{self, SessionUser};
use crate::messaging::exclusions::{self, Scope};
use crate::platform::phone::Mobile;
use crate::web::api::extract::{Body, Params, Segment};
use crate::web::session::{Admin, AdminError};
use crate::web::state::AppState;
use app::admin::exclusions::ExclusionPage;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// Returns the do-not-contact routes (the import is [`super::broadcasts`]'s: it reads lists).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/admin/exclusions",
            get(list_exclusions).post(add_exclusion),
        )
        .route(
            "/api/v1/admin/exclusions/{id}/restore",
            post(restore_exclusion),
        )
}

/// One page of the list.
pub(crate) async fn page(
    state: &AppState,
    search: Option<&str>,
    page: u32,
) -> Result<ExclusionPage, AdminError> {
    let mut page = exclusions::page(&state.db, search, page).await?;
    for item in &mut page.items {
        item.added_at = crate::platform::time::local_stamp(&state.clock, &item.added_at);
    }
    Ok(page)
}

/// Excludes a number (normalised; audited). Returns it in E.164 and whether it is new.
pub(crate) async fn add_number(
    state: &AppState,
    user: &SessionUser,
    raw: &str,
    reason: Option<&str>,
) -> Result<(String, bool), AdminError> {
    let mobile = Mobile::parse(raw, state.config.messaging.phone_region)
        .map_err(|error| AdminError::Invalid(error.code(), format!("{raw:?}: {error}")))?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let now = state.clock.real_now();
    let added = exclusions::exclude(&state.db, &mobile, Scope::All, reason, "admin", now).await?;
    if added {
        admin::audit(&state.db, Some(user), "number_excluded", mobile.e164(), now).await?;
    }
    Ok((mobile.e164().to_owned(), added))
}

/// Restores an exclusion (audited).
pub(crate) async fn restore_number(
    state: &AppState,
    user: &SessionUser,
    id: i64,
) -> Result<(), AdminError> {
    let now = state.clock.real_now();
    let mobile = exclusions::restore(&state.db, id, now)
        .await?
        .ok_or(AdminError::NotFound)?;
    admin::audit(&state.db, Some(user), "number_restored", &mobile, now).await?;
    Ok(())
}

#[derive(Deserialize)]
struct ExclusionParams {
    search: Option<String>,
    page: Option<u32>,
}

async fn list_exclusions(
    State(state): State<AppState>,
    admin: Admin,
    Params(params): Params<ExclusionParams>,
) -> Result<Json<ExclusionPage>, AdminError> {
    admin.require_admin()?;
    Ok(Json(
        page(&state, params.search.as_deref(), params.page.unwrap_or(1)).await?,
    ))
}

#[derive(Deserialize)]
struct NewExclusion {
    mobile: String,
    reason: Option<String>,
}

async fn add_exclusion(
    State(state): State<AppState>,
    admin: Admin,
    Body(body): Body<NewExclusion>,
) -> Result<Response, AdminError> {
    admin.require_admin()?;
    let (mobile, added) =
        add_number(&state, &admin.0, &body.mobile, body.reason.as_deref()).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "mobile": mobile, "added": added }))).into_response())
}

async fn restore_exclusion(
    State(state): State<AppState>,
    admin: Admin,
    Segment(id): Segment<i64>,
) -> Result<StatusCode, AdminError> {
    admin.require_admin()?;
    restore_number(&state, &admin.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
