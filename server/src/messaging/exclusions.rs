//! The do-not-contact list: numbers Nabd never messages. An exclusion covers every message
//! (`all`) or only marketing (`marketing`: campaign and broadcast). The outbox checks it at the
//! moment of sending, so a number added after a message was queued is still never messaged.

use crate::messaging::kind::Kind;
use crate::platform::phone::{Mobile, latin_digits};
use crate::platform::time::stamp;
use app::admin::exclusions::{Exclusion, ExclusionPage};
use chrono::{DateTime, Utc};

use std::collections::HashSet;

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

/// Expands to the SQL condition "the recipient (the column `$recipient`) is excluded from a
/// message of its kind (the column `$kind`)", for the outbox's atomic claim: a literal, so that
/// it joins static SQL with `concat!`. The marketing kinds are [`Kind::is_marketing`]'s (a test
/// holds the two together).
#[macro_export]
macro_rules! excluded_sql {
    ($recipient:literal, $kind:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM do_not_contact d WHERE d.mobile = ",
            $recipient,
            " AND d.restored_at IS NULL AND (d.scope = 'all' OR (d.scope = 'marketing' AND ",
            $kind,
            " IN ('campaign', 'broadcast'))))"
        )
    };
}

/// Puts `mobile` on the list; a number already excluded with that scope stays as it is.
/// Returns whether a new entry was made.
pub async fn exclude(
    db: &crate::platform::store::Db,
    mobile: &Mobile,
    scope: Scope,
    reason: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin().await?;
    let added = exclude_in(&mut tx, mobile, scope, reason, source, now).await?;
    tx.commit().await?;
    Ok(added)
}

/// [`exclude`], inside the caller's transaction.
pub async fn exclude_in(
    tx: &mut crate::platform::store::Tx,
    mobile: &Mobile,
    scope: Scope,
    reason: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    // language=SQL
    let done = crate::conn!(
        tx,
        execute,
        sqlx::query(
            "INSERT INTO do_not_contact (mobile, scope, reason, source, added_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(mobile.e164())
        .bind(scope.as_str())
        .bind(reason)
        .bind(source)
        .bind(stamp(now))
    )?;
    Ok(done == 1)
}

/// Tells whether a message of `kind` to `mobile` is forbidden by the list.
pub async fn is_excluded(
    db: &crate::platform::store::Db,
    mobile: &Mobile,
    kind: Kind,
) -> Result<bool, sqlx::Error> {
    // language=SQL
    let found: Option<i64> =
        crate::db!(db, fetch_optional, sqlx::query_scalar(
        "SELECT CAST(1 AS BIGINT) FROM do_not_contact WHERE mobile = $1 AND restored_at IS NULL
         AND (scope = 'all' OR (scope = 'marketing' AND $2)) LIMIT 1",
    )
    .bind(mobile.e164())
    .bind(kind.is_marketing()))?;
    Ok(found.is_some())
}

/// Every actively excluded number, whatever its scope (for a batch that is all marketing: the
/// campaign's selection, a broadcast's review).
pub async fn active_numbers(
    db: &crate::platform::store::Db,
) -> Result<HashSet<String>, sqlx::Error> {
    // language=SQL
    let rows: Vec<String> = crate::db!(
        db,
        fetch_all,
        sqlx::query_scalar("SELECT DISTINCT mobile FROM do_not_contact WHERE restored_at IS NULL")
    )?;
    Ok(rows.into_iter().collect())
}

/// How many entries one page of the list shows.
pub const PER_PAGE: i64 = 50;

/// One page ([`PER_PAGE`]) of the active exclusions, newest first; `search` keeps numbers
/// containing its digits.
pub async fn page(
    db: &crate::platform::store::Db,
    search: Option<&str>,
    page: u32,
) -> Result<ExclusionPage, sqlx::Error> {
    let search = search
        .map(|s| {
            latin_digits(s)
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .filter(|digits| !digits.is_empty())
        .map(|digits| format!("%{digits}%"));
    let offset = i64::from(page.max(1) - 1) * PER_PAGE;
    // language=SQL
    let rows: Vec<(i64, String, String, Option<String>, String, String)> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT id, mobile, scope, reason, source, added_at FROM do_not_contact
         WHERE restored_at IS NULL AND ($1 IS NULL OR mobile LIKE $1)
         ORDER BY added_at DESC, id DESC LIMIT $2 OFFSET $3",
        )
        .bind(&search)
        .bind(PER_PAGE)
        .bind(offset)
    )?;
    // language=SQL
    let total: i64 = crate::db!(db, fetch_one, sqlx::query_scalar(
        "SELECT COUNT(*) FROM do_not_contact WHERE restored_at IS NULL AND ($1 IS NULL OR mobile LIKE $1)",
    )
    .bind(&search))?;
    let items = rows
        .into_iter()
        .map(|(id, mobile, scope, reason, source, added_at)| Exclusion {
            id,
            mobile,
            scope,
            reason,
            source,
            added_at,
        })
        .collect();
    Ok(ExclusionPage { total, items })
}

/// Ends exclusion `id` (the number may be messaged again); returns its number, or `None` when
/// there is no such active entry.
pub async fn restore(
    db: &crate::platform::store::Db,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    // language=SQL
    crate::db!(db, fetch_optional, sqlx::query_scalar(
        "UPDATE do_not_contact SET restored_at = $1 WHERE id = $2 AND restored_at IS NULL RETURNING mobile",
    )
    .bind(stamp(now))
    .bind(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_marketing_kinds_are_the_kinds_that_are_marketing() {
        let sql = crate::excluded_sql!("r", "k");
        for kind in Kind::ALL {
            assert_eq!(
                sql.contains(&format!("'{}'", kind.as_str())),
                kind.is_marketing(),
                "{kind}"
            );
        }
    }
}
