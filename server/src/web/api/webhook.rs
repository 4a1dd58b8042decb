//! The providers' webhooks: `/webhooks/whatsapp` (the WhatsApp Cloud API: Meta's verification
//! handshake, then signed deliveries) and `/webhooks/whatsapp-web` (the whatsapp-web bridge,
//! authenticated by a shared secret). Both hand what they carry to
//! [`crate::messaging::webhook`].

use crate::messaging::webhook::{self, BridgeMessage, Notification};
use crate::web::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::HashMap;

/// The largest Cloud API delivery accepted (Meta batches up to a few hundred changes).
const CLOUD_API_BODY_LIMIT: usize = 1024 * 1024;

/// The largest bridge post accepted: one message.
const BRIDGE_BODY_LIMIT: usize = 64 * 1024;

/// Returns the webhooks' routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks/whatsapp",
            get(verify)
                .post(receive)
                .layer(DefaultBodyLimit::max(CLOUD_API_BODY_LIMIT)),
        )
        .route(
            "/webhooks/whatsapp-web",
            post(receive_bridge).layer(DefaultBodyLimit::max(BRIDGE_BODY_LIMIT)),
        )
}

fn not_configured(which: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!("the {which} webhook is not configured"),
    )
        .into_response()
}

/// Answers Meta's subscription check: echoes `hub.challenge` when `hub.verify_token` matches.
async fn verify(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(expected) = &state.config.messaging.cloud_api_verify_token else {
        return not_configured("WhatsApp");
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
        return not_configured("WhatsApp");
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
    let now = state.clock.real_now();
    match webhook::record(&state.messaging, notification, now).await {
        Ok(stored) => {
            log_stored("cloud-api", &stored);
            StatusCode::OK.into_response()
        }
        Err(error) => {
            // Meta retries deliveries that fail, so nothing is lost by answering 500 here.
            tracing::error!(error = %error, "cannot record a WhatsApp webhook delivery");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A patient's message from the whatsapp-web bridge (`X-Nabd-Bridge-Secret`).
async fn receive_bridge(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(secret) = &state.config.messaging.whatsapp_web_secret else {
        return not_configured("whatsapp-web");
    };
    let sent = headers
        .get("x-nabd-bridge-secret")
        .map(|value| value.as_bytes())
        .unwrap_or_default();
    if !webhook::constant_time_eq(sent, secret.expose().as_bytes()) {
        tracing::warn!("whatsapp-web bridge post with a missing or wrong secret refused");
        return (StatusCode::UNAUTHORIZED, "bad secret").into_response();
    }
    let message: BridgeMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!(%error, "unreadable whatsapp-web bridge post");
            return (
                StatusCode::BAD_REQUEST,
                format!("unreadable message: {error}"),
            )
                .into_response();
        }
    };
    let now = state.clock.real_now();
    match crate::messaging::conversations::receive(
        &state.messaging,
        vec![message.into_incoming(now)],
        now,
    )
    .await
    {
        Ok(stored) => {
            log_stored("whatsapp-web", &stored);
            StatusCode::OK.into_response()
        }
        Err(error) => {
            tracing::error!(error = %error, "cannot record a whatsapp-web bridge message");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Says what a delivery brought: a provider's retries show as duplicates, a bad sender or an
/// opt-out is worth an operator's eye.
fn log_stored(provider: &str, stored: &crate::messaging::conversations::Stored) {
    if stored.new + stored.duplicates + stored.invalid_senders == 0 {
        return;
    }
    tracing::info!(
        provider,
        new = stored.new,
        duplicates = stored.duplicates,
        invalid_senders = stored.invalid_senders,
        opted_out = stored.opted_out,
        "patients' messages received"
    );
}
