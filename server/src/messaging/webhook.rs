//! What the WhatsApp Cloud API webhook delivers, once its signature is checked: delivery
//! statuses and inbound messages. Statuses are recorded once each (this module owns the
//! `delivery_events` table) and never move a message backwards (a late "delivered" after "read"
//! changes nothing); an inbound opt-out word puts the sender on the do-not-contact list at
//! once. The HTTP half (Meta's handshake, the signature header) is `web::api::webhook`.

use crate::messaging::exclusions::{self, Scope};
use crate::messaging::provider::STOPPED_MARKETING;
use crate::messaging::{inbound, outbox};
use crate::platform::phone::{Mobile, Region};
use crate::platform::time::stamp;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;
use sqlx::SqlitePool;

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

fn reported_at(timestamp: Option<&str>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    timestamp
        .and_then(|seconds| seconds.parse::<i64>().ok())
        .and_then(|seconds| DateTime::from_timestamp(seconds, 0))
        .unwrap_or(fallback)
}

/// What recording a delivery needs.
pub struct Recorder<'a> {
    pub db: &'a SqlitePool,
    /// The country assumed for numbers without a country code.
    pub region: Region,
    /// The words that, alone in a message, mean "never write to me".
    pub opt_out_words: &'a [String],
    /// The real instant the delivery arrived.
    pub now: DateTime<Utc>,
}

/// Records a delivery: each status once (never moving a message backwards), each inbound
/// message once, and the opt-outs they carry.
pub async fn record(to: &Recorder<'_>, notification: Notification) -> Result<(), sqlx::Error> {
    let (db, now, region) = (to.db, to.now, to.region);
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
            .execute(db)
            .await?;
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
            inbound::store(db, &message.id, &sender, &text, at, now).await?;
            if is_opt_out(&text, to.opt_out_words) {
                let added = exclusions::exclude(
                    db,
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
