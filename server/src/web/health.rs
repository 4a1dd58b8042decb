//! `GET /healthz` (the process is alive) and `GET /readyz` (its databases answer, and which
//! processes share the app database).

use crate::gateway::ClinicGateway;
use crate::platform::instance::{self, LiveInstance};
use crate::platform::store;
use crate::web::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;

/// Answers 200 while the process serves requests.
pub async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// One dependency's readiness.
#[derive(Debug, Serialize)]
pub struct Check {
    /// Whether it answered.
    pub ok: bool,
    /// Why not, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<Result<(), String>> for Check {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Self {
                ok: true,
                error: None,
            },
            Err(error) => Self {
                ok: false,
                error: Some(error),
            },
        }
    }
}

/// The readiness report.
#[derive(Debug, Serialize)]
pub struct Readiness {
    /// `"ready"` or `"not_ready"`.
    pub status: &'static str,
    /// Nabd's own database.
    pub app_database: Check,
    /// The clinic's database.
    pub clinic_database: Check,
    /// The app database's backend: `sqlite` or `postgres`.
    pub backend: &'static str,
    /// This process's instance id.
    pub instance: String,
    /// Every process sharing the app database whose heartbeat is fresh, this one included.
    pub instances: Vec<LiveInstance>,
    /// Claims of a message another worker or process made first, since this one started.
    pub claims_lost: u64,
}

/// Answers 200 when both databases answer, else 503; the body says which does not.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let (app, clinic) = tokio::join!(store::ping(&state.db), state.clinic.ping());
    let app_database = Check::from(app.map_err(|error| {
        tracing::warn!(%error, "app database is not answering");
        "the app database is not answering".to_owned()
    }));
    let clinic_database = Check::from(clinic.map_err(|error| {
        let cause = std::error::Error::source(&error)
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::warn!(%error, %cause, "clinic database is not ready");
        if cause.is_empty() {
            error.to_string()
        } else {
            format!("{error}: {cause}")
        }
    }));
    let outbox = &state.messaging.outbox;
    let me = outbox.instance();
    let instances = instance::live(&state.db, state.clock.real_now(), me.heartbeat())
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "live instances not read");
            Vec::new()
        });
    let ready = app_database.ok && clinic_database.ok;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let report = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        app_database,
        clinic_database,
        backend: state.db.backend().name(),
        instance: me.id().to_owned(),
        instances,
        claims_lost: outbox.claims_lost(),
    };
    (status, Json(report))
}
