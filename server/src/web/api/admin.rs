//! `/api/v1/admin/sign-in`, `sign-out` and `me`: an admin session for programs.

use crate::admin::{Role, SessionUser};
use crate::web::api::extract::Body;
use crate::web::session::{Admin, AdminError, ClientIp, end_session, start_session};
use crate::web::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

/// Returns the session routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/sign-in", post(sign_in))
        .route("/api/v1/admin/sign-out", post(sign_out))
        .route("/api/v1/admin/me", get(me))
}

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct Me {
    username: String,
    role: Role,
    csrf: String,
}

impl From<&SessionUser> for Me {
    fn from(user: &SessionUser) -> Self {
        Self {
            username: user.username.clone(),
            role: user.role,
            csrf: user.csrf.clone(),
        }
    }
}

/// Answers `response` with `cookies` set, each that is a valid header value.
fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Body(credentials): Body<Credentials>,
) -> Result<Response, AdminError> {
    let (user, cookies) = start_session(
        &state,
        &headers,
        ip,
        &credentials.username,
        &credentials.password,
    )
    .await?;
    Ok(with_cookies(
        Json(Me::from(&user)).into_response(),
        &cookies,
    ))
}

async fn sign_out(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let cookies = end_session(&state, &headers).await?;
    Ok(with_cookies(
        StatusCode::NO_CONTENT.into_response(),
        &cookies,
    ))
}

async fn me(admin: Admin) -> Json<Me> {
    Json(Me::from(&admin.0))
}
