//! What the WhatsApp Cloud API webhook delivers, once its signature is checked: delivery
//! statuses and patients' messages. Statuses are recorded once each (this module owns the
//! `delivery_events` table) and never move a message backwards (a late "delivered" after "read"
//! changes nothing); messages of every type (text, buttons, interactive replies, media,
//! locations, reactions) go to [`conversations`]. The HTTP half (Meta's handshake, the
//! signature header) is `web::api::webhook`; the whatsapp-web bridge's endpoint is beside it.

use crate::messaging::Messaging;
use crate::messaging::conversations::{self, Incoming, Source, Stored};
use crate::messaging::exclusions::{self, Scope};
use crate::messaging::outbox::{self, OutboxError};
use crate::messaging::provider::STOPPED_MARKETING;
use crate::platform::phone::Mobile;
use crate::platform::time::stamp;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

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

/// Compares two secrets in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One webhook delivery.
#[derive(Debug, Deserialize)]
pub struct Notification {
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

/// A patient's message as the Cloud API delivers it; the parts Nabd reads depend on its `type`.
#[derive(Debug, Deserialize)]
struct Inbound {
    id: String,
    from: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, rename = "type")]
    message_type: Option<String>,
    #[serde(default)]
    context: Option<Context>,
    #[serde(flatten)]
    parts: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
struct Context {
    #[serde(default)]
    id: Option<String>,
}

impl Inbound {
    /// Turns the delivery into what conversations store: the text (a button's or list item's
    /// title, a caption, a reaction's emoji), a button's payload, and the quoted message.
    fn into_incoming(self, now: DateTime<Utc>) -> Incoming {
        let message_type = self.message_type.unwrap_or_else(|| {
            // Older deliveries may omit `type`: the part present says it.
            ["text", "button", "interactive", "image"]
                .into_iter()
                .find(|key| self.parts.contains_key(*key))
                .unwrap_or("unknown")
                .to_owned()
        });
        let part = self.parts.get(&message_type);
        let field = |value: Option<&serde_json::Value>, key: &str| {
            value
                .and_then(|v| v.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let mut context_id = self.context.and_then(|c| c.id);
        let (text, payload) = match message_type.as_str() {
            "text" => (field(part, "body"), None),
            "button" => (field(part, "text"), field(part, "payload")),
            "interactive" => {
                let reply =
                    part.and_then(|p| p.get("button_reply").or_else(|| p.get("list_reply")));
                (field(reply, "title"), field(reply, "id"))
            }
            "reaction" => {
                context_id = context_id.or_else(|| field(part, "message_id"));
                (field(part, "emoji"), None)
            }
            "location" => (field(part, "name").or_else(|| field(part, "address")), None),
            _ => (field(part, "caption"), None),
        };
        Incoming {
            source: Source::CloudApi,
            id: self.id,
            from: self.from,
            message_type,
            text: text.unwrap_or_default(),
            payload,
            context_id,
            sent_at: reported_at(self.timestamp.as_deref(), now),
        }
    }
}

fn reported_at(timestamp: Option<&str>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    timestamp
        .and_then(|seconds| seconds.parse::<i64>().ok())
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .unwrap_or(fallback)
}

/// One patient's message as the whatsapp-web bridge posts it to `/webhooks/whatsapp-web`.
#[derive(Debug, Deserialize)]
pub struct BridgeMessage {
    id: String,
    from: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default, rename = "type")]
    message_type: Option<String>,
    #[serde(default)]
    quoted_id: Option<String>,
}

impl BridgeMessage {
    /// Turns the bridge's message into what conversations store. whatsapp-web.js calls a text
    /// message `chat`; it is stored as `text`, like the Cloud API's.
    pub fn into_incoming(self, now: DateTime<Utc>) -> Incoming {
        let message_type = match self.message_type.as_deref() {
            None | Some("chat") | Some("") => "text".to_owned(),
            Some(other) => other.chars().take(32).collect(),
        };
        Incoming {
            source: Source::WhatsappWeb,
            id: self.id,
            from: self.from,
            message_type,
            text: self.body,
            payload: None,
            context_id: self.quoted_id.filter(|id| !id.is_empty()),
            sent_at: self
                .timestamp
                .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
                .unwrap_or(now),
        }
    }
}

/// Records a delivery: each status once (never moving a message backwards), and each
/// patient's message once, into its conversation ([`conversations::receive`], which also
/// applies the opt-outs they carry).
pub async fn record(
    messaging: &Messaging,
    notification: Notification,
    now: DateTime<Utc>,
) -> Result<Stored, OutboxError> {
    let db = messaging.outbox.db();
    let region = messaging.region;
    let mut incoming = Vec::new();
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
            crate::db!(db, execute, sqlx::query(
                "INSERT INTO delivery_events
                     (provider_message_id, status, error_code, error_title, reported_at, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
            )
            .bind(&report.id)
            .bind(&report.status)
            .bind(code)
            .bind(&title)
            .bind(stamp(at))
            .bind(stamp(now)))?;
            let delivery_error =
                code.map(|code| format!("{code}: {}", title.clone().unwrap_or_default()));
            outbox::record_delivery_status(
                db,
                &report.id,
                &report.status,
                delivery_error.as_deref(),
                now,
            )
            .await?;
            if code == Some(STOPPED_MARKETING)
                && let Some(Ok(mobile)) = report
                    .recipient_id
                    .as_deref()
                    .map(|digits| Mobile::parse(&format!("+{digits}"), region))
            {
                exclusions::exclude(
                    db,
                    &mobile,
                    Scope::Marketing,
                    Some("WhatsApp error 131050: the patient stopped marketing messages"),
                    "whatsapp",
                    now,
                )
                .await?;
            }
        }
        incoming.extend(value.messages.into_iter().map(|m| m.into_incoming(now)));
    }
    conversations::receive(messaging, incoming, now).await
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
}
