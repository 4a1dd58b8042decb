//! What patients send back: this module owns the `inbound_messages` table (each message
//! stored once, by its provider id) and answers the questions asked of it.

use crate::platform::phone::Mobile;
use crate::platform::time::stamp;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

/// Stores an inbound message once: a second delivery of the same provider id changes nothing.
pub async fn store(
    db: &SqlitePool,
    provider_message_id: &str,
    sender: &Mobile,
    body: &str,
    sent_at: DateTime<Utc>,
    received_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // language=SQL
    sqlx::query(
        "INSERT INTO inbound_messages (provider_message_id, sender, body, sent_at, received_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(provider_message_id)
    .bind(sender.e164())
    .bind(body)
    .bind(stamp(sent_at))
    .bind(stamp(received_at))
    .execute(db)
    .await?;
    Ok(())
}

/// Tells whether `sender` wrote to the clinic after `since` (the Cloud API's customer-service
/// window is the 24 hours after a patient's last message).
pub async fn heard_from_since(
    db: &SqlitePool,
    sender: &Mobile,
    since: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // language=SQL
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM inbound_messages WHERE sender = ? AND sent_at > ? LIMIT 1",
    )
    .bind(sender.e164())
    .bind(stamp(since))
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}
