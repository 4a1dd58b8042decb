//! `/api/v1/marketing/report` and `/api/v1/marketing/returned.csv`: the campaign report for
//! signed-in admins and viewers.

use crate::campaign::report::{self, ReportQuery};
use crate::web::api::extract::Params;
use crate::web::session::{Admin, AdminError};
use crate::web::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use serde::Deserialize;

/// Returns the report routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/marketing/report", get(campaign_report))
        .route("/api/v1/marketing/returned.csv", get(returned_csv))
}

#[derive(Deserialize)]
struct ReportParams {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    search: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

impl From<ReportParams> for ReportQuery {
    fn from(params: ReportParams) -> Self {
        Self {
            from: params.from,
            to: params.to,
            search: params.search,
            page: params.page.unwrap_or(1),
            per_page: params.per_page.unwrap_or(50),
        }
    }
}

/// Writes the returned patients' contact and return instants in the clinic's time (with the
/// offset), as every time an admin reads.
pub(crate) fn in_clinic_time(clock: &crate::platform::clock::Clock, rows: &mut [report::Returned]) {
    use crate::platform::time::local_stamp;
    for row in rows {
        row.contacted_at = local_stamp(clock, &row.contacted_at);
        row.returned_at = local_stamp(clock, &row.returned_at);
    }
}

async fn campaign_report(
    State(state): State<AppState>,
    _admin: Admin,
    Params(params): Params<ReportParams>,
) -> Result<Json<report::Report>, AdminError> {
    let campaign = &state.config.campaign;
    let mut report = report::build(
        &state.db,
        &params.into(),
        campaign.campaign_message_cost,
        &state.config.currency,
    )
    .await?;
    in_clinic_time(&state.clock, &mut report.returned);
    Ok(Json(report))
}

/// The returned patients of the report's filter, every page, as a CSV download.
async fn returned_csv(
    State(state): State<AppState>,
    _admin: Admin,
    Params(params): Params<ReportParams>,
) -> Result<Response, AdminError> {
    let mut rows = report::all_returned(
        &state.db,
        &params.into(),
        state.config.campaign.campaign_message_cost,
        &state.config.currency,
    )
    .await?;
    in_clinic_time(&state.clock, &mut rows);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"returned-patients.csv\"",
            ),
        ],
        report::returned_csv(&rows),
    )
        .into_response())
}
