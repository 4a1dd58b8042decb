//! `GET /api/v1/dashboard[?doctor=<id>]`: the dashboard figures as JSON.

use crate::dashboard::FiguresError;
use crate::gateway::GatewayError;
use crate::web::state::AppState;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

/// Returns the dashboard API's route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/dashboard", get(get_dashboard))
}

/// The query string; `doctor` is kept as text so a malformed id gets a clear 400.
#[derive(Debug, Deserialize)]
pub struct DashboardQuery {
    doctor: Option<String>,
}

/// Why the dashboard API refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("doctor must be a whole number, not {0:?}")]
    MalformedDoctor(String),
    #[error("there is no doctor with id {0}")]
    UnknownDoctor(i64),
    #[error("the clinic database is unavailable; try again shortly")]
    ClinicUnavailable(#[from] GatewayError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            Self::MalformedDoctor(_) => StatusCode::BAD_REQUEST,
            Self::UnknownDoctor(_) => StatusCode::NOT_FOUND,
            Self::ClinicUnavailable(cause) => {
                tracing::error!(error = %cause, cause = ?std::error::Error::source(cause), "dashboard query failed");
                StatusCode::SERVICE_UNAVAILABLE
            }
        };
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Answers the dashboard figures for now, optionally with one doctor's average.
pub async fn get_dashboard(
    State(state): State<AppState>,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let doctor_id = match query.doctor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| ApiError::MalformedDoctor(text.to_owned()))?,
        ),
    };
    let figures = state
        .dashboard
        .figures(doctor_id)
        .await
        .map_err(|error| match error {
            FiguresError::UnknownDoctor(id) => ApiError::UnknownDoctor(id),
            FiguresError::Clinic(cause) => ApiError::ClinicUnavailable(cause),
        })?;
    Ok(Json(figures).into_response())
}
