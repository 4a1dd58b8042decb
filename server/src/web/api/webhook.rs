//! `/webhooks/whatsapp`: the WhatsApp Cloud API webhook. Meta's verification handshake, then
//! signed deliveries, which [`crate::messaging::webhook`] records.

use crate::messaging::webhook::{self, Notification, Recorder};
use crate::web::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::collections::HashMap;

/// Returns the webhook's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/whatsapp", get(verify).post(receive))
}

fn not_configured() -> Response {
    (
        StatusCode::NOT_FOUND,
        "the WhatsApp webhook is not configured",
    )
        .into_response()
}

/// Answers Meta's subscription check: echoes `hub.challenge` when `hub.verify_token` matches.
async fn verify(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(expected) = &state.config.messaging.cloud_api_verify_token else {
        return not_configured();
    };
    let mode = query.get("hub.mode").map(String::as_str);
    let token = query.get("hub.verify_token").map(String::as_str);
    match (mode, token, query.get("hub.challenge")) {
        (Some("subscribe"), Some(token), Some(challenge))
            if webhook::constant_time_eq(token.as_bytes(), expected.expose().as_bytes()) =>
        {
            challenge.clone().into_response()
        }
        _ => (StatusCode::FORBIDDEN, "verification failed").into_response(),
    }
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let settings = &state.config.messaging;
    let Some(secret) = &settings.cloud_api_app_secret else {
        return not_configured();
    };
    let header = headers
        .get("x-hub-signature-256")
        .and_then(|value| value.to_str().ok());
    if !webhook::signature_is_valid(secret.expose(), &body, header) {
        tracing::warn!("WhatsApp webhook delivery with a missing or wrong signature refused");
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    let notification: Notification = match serde_json::from_slice(&body) {
        Ok(notification) => notification,
        Err(error) => {
            tracing::warn!(%error, "unreadable WhatsApp webhook delivery");
            return (StatusCode::BAD_REQUEST, "unreadable notification").into_response();
        }
    };
    let recorder = Recorder {
        db: &state.db,
        region: settings.phone_region,
        opt_out_words: &settings.opt_out_words,
        now: state.clock.real_now(),
    };
    match webhook::record(&recorder, notification).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => {
            // Meta retries deliveries that fail, so nothing is lost by answering 500 here.
            tracing::error!(error = %error, "cannot record a WhatsApp webhook delivery");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
