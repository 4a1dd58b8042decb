//! The do-not-contact list: numbers Nabd never messages. An exclusion covers every message
//! (`all`) or only marketing (`marketing`: campaign and broadcast). The outbox checks it at the
//! moment of sending, so a number added after a message was queued is still never messaged.

use crate::messaging::Kind;
use crate::phone::Mobile;
use crate::time::stamp;
use chrono::{DateTime, Utc};
use sqlx::SqlitePool;

/// What an exclusion covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Marketing,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Marketing => "marketing",
        }
    }
}

/// Expands to the SQL condition "the outbox row's recipient is excluded from a message of its
/// kind", for the outbox's atomic claim (a literal, so that it joins static SQL with `concat!`).
#[macro_export]
macro_rules! excluded_sql {
    () => {
        "EXISTS (SELECT 1 FROM do_not_contact d \
         WHERE d.mobile = outbox.recipient AND d.restored_at IS NULL \
         AND (d.scope = 'all' OR (d.scope = 'marketing' AND outbox.kind IN ('campaign', 'broadcast'))))"
    };
}

/// Puts `mobile` on the list; a number already excluded with that scope stays as it is.
/// Returns whether a new entry was made.
pub async fn exclude(
    db: &SqlitePool,
    mobile: &Mobile,
    scope: Scope,
    reason: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // language=SQL
    let done = sqlx::query(
        "INSERT INTO do_not_contact (mobile, scope, reason, source, added_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(mobile.e164())
    .bind(scope.as_str())
    .bind(reason)
    .bind(source)
    .bind(stamp(now))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Tells whether a message of `kind` to `mobile` is forbidden by the list.
pub async fn is_excluded(
    db: &SqlitePool,
    mobile: &Mobile,
    kind: Kind,
) -> Result<bool, sqlx::Error> {
    // language=SQL
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM do_not_contact WHERE mobile = ? AND restored_at IS NULL
         AND (scope = 'all' OR (scope = 'marketing' AND ?)) LIMIT 1",
    )
    .bind(mobile.e164())
    .bind(kind.is_marketing())
    .fetch_optional(db)
    .await?;
    Ok(found.is_some())
}
