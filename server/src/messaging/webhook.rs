//! The WhatsApp Cloud API webhook (`/webhooks/whatsapp`): Meta's verification handshake, then
//! signed deliveries of delivery statuses and inbound messages. Statuses are recorded once
//! each and never move a message backwards (a late "delivered" after "read" changes nothing);
//! an inbound opt-out word puts the sender on the do-not-contact list at once.

use crate::exclusions::{self, Scope};
use crate::messaging::provider::STOPPED_MARKETING;
use crate::phone::Mobile;
use crate::state::AppState;
use crate::time::stamp;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use std::collections::HashMap;

/// Returns the webhook's routes.
pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/whatsapp", get(verify).post(receive))
}

/// Answers Meta's subscription check: echoes `hub.challenge` when `hub.verify_token` matches.
async fn verify(
    State(state): State<AppState>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(expected) = &state.config.messaging.cloud_api_verify_token else {
        return (
            StatusCode::NOT_FOUND,
            "the WhatsApp webhook is not configured",
        )
            .into_response();
    };
    let mode = query.get("hub.mode").map(String::as_str);
    let token = query.get("hub.verify_token").map(String::as_str);
    match (mode, token, query.get("hub.challenge")) {
        (Some("subscribe"), Some(token), Some(challenge))
            if constant_time_eq(token.as_bytes(), expected.expose().as_bytes()) =>
        {
            challenge.clone().into_response()
        }
        _ => (StatusCode::FORBIDDEN, "verification failed").into_response(),
    }
}

/// Checks `X-Hub-Signature-256` (HMAC-SHA256 of the raw body with the app secret).
pub fn signature_is_valid(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_signature) = header.and_then(|value| value.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(signature) = hex::decode(hex_signature.trim()) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Debug, Deserialize)]
struct Notification {
    #[serde(default)]
    entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
struct Change {
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Default, Deserialize)]
struct Value {
    #[serde(default)]
    statuses: Vec<StatusReport>,
    #[serde(default)]
    messages: Vec<Inbound>,
}

#[derive(Debug, Deserialize)]
struct StatusReport {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    recipient_id: Option<String>,
    #[serde(default)]
    errors: Vec<ReportedError>,
}

#[derive(Debug, Deserialize)]
struct ReportedError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Inbound {
    id: String,
    from: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    text: Option<InboundText>,
    #[serde(default)]
    button: Option<InboundText>,
}

#[derive(Debug, Deserialize)]
struct InboundText {
    #[serde(alias = "text")]
    body: String,
}

async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(secret) = &state.config.messaging.cloud_api_app_secret else {
        return (
            StatusCode::NOT_FOUND,
            "the WhatsApp webhook is not configured",
        )
            .into_response();
    };
    let header = headers
        .get("x-hub-signature-256")
        .and_then(|value| value.to_str().ok());
    if !signature_is_valid(secret.expose(), &body, header) {
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
    match record(&state, notification).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => {
            // Meta retries deliveries that fail, so nothing is lost by answering 500 here.
            tracing::error!(error = %error, "cannot record a WhatsApp webhook delivery");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn reported_at(timestamp: Option<&str>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    timestamp
        .and_then(|seconds| seconds.parse::<i64>().ok())
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .unwrap_or(fallback)
}

/// Expands to the rank of a delivery status in the order statuses move (sent, delivered,
/// read, failed), so that a report never moves a message backwards.
macro_rules! status_rank {
    ($status:literal) => {
        concat!(
            "CASE ",
            $status,
            " WHEN 'sent' THEN 1 WHEN 'delivered' THEN 2 ",
            "WHEN 'read' THEN 3 WHEN 'failed' THEN 4 ELSE 0 END"
        )
    };
}

async fn record(state: &AppState, notification: Notification) -> Result<(), sqlx::Error> {
    let now = state.clock.real_now();
    let region = state.config.messaging.phone_region;
    let values = notification
        .entry
        .into_iter()
        .flat_map(|entry| entry.changes)
        .map(|change| change.value);
    for value in values {
        for report in value.statuses {
            let at = reported_at(report.timestamp.as_deref(), now);
            let error = report.errors.first();
            let code = error.and_then(|e| e.code);
            let title = error.and_then(|e| e.title.clone());
            // language=SQL
            sqlx::query(
                "INSERT INTO delivery_events
                     (provider_message_id, status, error_code, error_title, reported_at, received_at)
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&report.id)
            .bind(&report.status)
            .bind(code)
            .bind(&title)
            .bind(stamp(at))
            .bind(stamp(now))
            .execute(&state.db)
            .await?;
            let delivery_error =
                code.map(|code| format!("{code}: {}", title.clone().unwrap_or_default()));
            // language=SQL
            sqlx::query(concat!(
                "UPDATE outbox SET delivery_status = ?1,
                     delivery_error = COALESCE(?2, delivery_error), updated_at = ?3
                 WHERE provider_message_id = ?4 AND ",
                status_rank!("COALESCE(delivery_status, '')"),
                " < ",
                status_rank!("?1")
            ))
            .bind(&report.status)
            .bind(&delivery_error)
            .bind(stamp(now))
            .bind(&report.id)
            .execute(&state.db)
            .await?;
            if code == Some(STOPPED_MARKETING)
                && let Some(Ok(mobile)) = report
                    .recipient_id
                    .as_deref()
                    .map(|digits| Mobile::parse(&format!("+{digits}"), region))
            {
                exclusions::exclude(
                    &state.db,
                    &mobile,
                    Scope::Marketing,
                    Some("WhatsApp error 131050: the patient stopped marketing messages"),
                    "whatsapp",
                    now,
                )
                .await?;
            }
        }
        for message in value.messages {
            let Ok(sender) = Mobile::parse(&format!("+{}", message.from), region) else {
                tracing::warn!(
                    from = message.from,
                    "inbound message from an unreadable number"
                );
                continue;
            };
            let text = message
                .text
                .or(message.button)
                .map(|text| text.body)
                .unwrap_or_default();
            let at = reported_at(message.timestamp.as_deref(), now);
            // language=SQL
            sqlx::query(
                "INSERT INTO inbound_messages (provider_message_id, sender, body, sent_at, received_at)
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(&message.id)
            .bind(sender.e164())
            .bind(&text)
            .bind(stamp(at))
            .bind(stamp(now))
            .execute(&state.db)
            .await?;
            if is_opt_out(&text, &state.config.messaging.opt_out_words) {
                let added = exclusions::exclude(
                    &state.db,
                    &sender,
                    Scope::All,
                    Some(&format!("replied {:?}", text.trim())),
                    "whatsapp",
                    now,
                )
                .await?;
                if added {
                    tracing::info!(to = %sender, "patient opted out by reply; number excluded");
                }
            }
        }
    }
    Ok(())
}

/// Tells whether an inbound message is one of the opt-out words (the whole message, ignoring
/// case, spaces and punctuation around it).
pub fn is_opt_out(text: &str, words: &[String]) -> bool {
    let cleaned = text
        .trim()
        .trim_matches(|c: char| c.is_ascii_punctuation() || c.is_whitespace() || c == '.');
    words
        .iter()
        .any(|word| !word.trim().is_empty() && cleaned.to_lowercase() == word.trim().to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_the_hmac_sha256_of_the_body_with_the_app_secret() {
        let body = br#"{"entry":[]}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"app-secret").expect("any key");
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(signature_is_valid("app-secret", body, Some(&good)));
        assert!(!signature_is_valid("other-secret", body, Some(&good)));
        assert!(!signature_is_valid("app-secret", b"{}", Some(&good)));
        assert!(!signature_is_valid("app-secret", body, None));
        assert!(!signature_is_valid("app-secret", body, Some("sha256=zz")));
    }

    #[test]
    fn opt_out_words_match_the_whole_message_in_either_language() {
        let words: Vec<String> = ["STOP", "إيقاف", "الغاء"].map(String::from).to_vec();
        assert!(is_opt_out(" stop ", &words));
        assert!(is_opt_out("STOP.", &words));
        assert!(is_opt_out("إيقاف", &words));
        assert!(is_opt_out("الغاء!", &words));
        assert!(!is_opt_out("please don't stop reminding me", &words));
        assert!(!is_opt_out("", &words));
    }
}
