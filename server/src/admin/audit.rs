//! The audit log of admin actions.

use super::sessions::SessionUser;
use crate::platform::time::stamp;
use chrono::{DateTime, Utc};

/// Records an admin action in the audit log.
pub async fn audit(
    db: &crate::platform::store::Db,
    user: Option<&SessionUser>,
    action: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // language=SQL
    crate::db!(db, execute, sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(stamp(now))
    .bind(user.map(|u| u.user_id))
    .bind(user.map_or("system", |u| u.username.as_str()))
    .bind(action)
    .bind(detail))?;
    Ok(())
}
