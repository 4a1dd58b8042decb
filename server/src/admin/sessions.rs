//! Admin sessions, kept in the app database so they survive a restart: only a hash of each
//! token is stored, each has a CSRF token and an idle timeout, and signing in opens a fresh one.

use super::limiter::AttemptLimiter;
use super::roles::Role;
use super::users::{DECOY_HASH, verify_password};
use crate::platform::time::{parse_stamp, stamp};
use chrono::{DateTime, Duration as Span, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use std::net::IpAddr;

/// A signed-in user, as every admin handler sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The session's CSRF token, which every state-changing request must carry.
    pub csrf: String,
}

/// Why a sign-in was refused. Neither says whether the username exists.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong username or password")]
    Invalid,
    #[error("too many attempts; try again in {minutes} minutes")]
    TooMany { minutes: i64 },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new session: the cookie's token (shown once, stored only hashed) and the user.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub user: SessionUser,
}

/// Checks the credentials and opens a new session (a fresh token: any session the browser
/// had is replaced by the caller). The attempt is reserved with the limiter first (it counts
/// as a failure until it succeeds) and waits the username's delay before the password check.
pub async fn sign_in(
    db: &crate::platform::store::Db,
    limiter: &AttemptLimiter,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<NewSession, SignInError> {
    let attempt = limiter
        .reserve(ip, username, now)
        .await
        .map_err(|error| match error {
            super::limiter::ReserveError::Blocked(minutes) => SignInError::TooMany { minutes },
            super::limiter::ReserveError::Database(error) => SignInError::from(error),
        })?;
    if !attempt.delay.is_zero() {
        tokio::time::sleep(attempt.delay).await;
    }
    // language=SQL
    let user: Option<(i64, String, String, String)> = crate::db!(
        db,
        fetch_optional,
        sqlx::query_as(
            "SELECT id, username, password_hash, role FROM admin_users WHERE username = $1",
        )
        .bind(username.trim())
    )?;
    let matches = match &user {
        Some((_, _, hash, _)) => verify_password(hash, password),
        None => {
            let _ = verify_password(&DECOY_HASH, password);
            false
        }
    };
    let Some((user_id, username, _, role)) = user.filter(|_| matches) else {
        // The reservation stays: it was a failure.
        return Err(SignInError::Invalid);
    };
    attempt.succeeded().await?;
    let token = random_token();
    let csrf = random_token();
    // language=SQL
    crate::db!(
        db,
        execute,
        sqlx::query(
            "INSERT INTO admin_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at)
         VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(user_id)
        .bind(&csrf)
        .bind(stamp(now))
        .bind(stamp(now))
    )?;
    Ok(NewSession {
        token,
        user: SessionUser {
            user_id,
            username,
            role: role.parse().unwrap_or(Role::Viewer),
            csrf,
        },
    })
}

/// How long a session lives: it ends when unused for `idle`, and `max` after it was opened
/// however busy it is (a clinic day, so a forgotten browser at the desk does not stay signed in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    pub idle: Span,
    pub max: Span,
}

/// Whether a request counts as the admin using the session (it pushes back the idle timeout)
/// or is a page refreshing itself, which must not keep a forgotten browser signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Use,
    Poll,
}

/// Returns the user of session `token` if it is alive (used within `lifetime.idle` and opened
/// less than `lifetime.max` ago), and, for [`Activity::Use`], marks it used; a dead session is
/// deleted.
pub async fn session(
    db: &crate::platform::store::Db,
    token: &str,
    lifetime: Lifetime,
    now: DateTime<Utc>,
    activity: Activity,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let hash = token_hash(token);
    // language=SQL
    let row: Option<(i64, String, String, String, String, String)> = crate::db!(
        db,
        fetch_optional,
        sqlx::query_as(
            "SELECT u.id, u.username, u.role, s.csrf_token, s.last_seen_at, s.created_at
         FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id
         WHERE s.token_hash = $1",
        )
        .bind(&hash)
    )?;
    let Some((user_id, username, role, csrf, last_seen, created)) = row else {
        return Ok(None);
    };
    let idle = parse_stamp(&last_seen).is_none_or(|at| at + lifetime.idle < now);
    let too_old = parse_stamp(&created).is_none_or(|at| at + lifetime.max <= now);
    if idle || too_old {
        // language=SQL
        crate::db!(
            db,
            execute,
            sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1").bind(&hash)
        )?;
        return Ok(None);
    }
    if activity == Activity::Use {
        // language=SQL
        crate::db!(
            db,
            execute,
            sqlx::query("UPDATE admin_sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(stamp(now))
                .bind(&hash)
        )?;
    }
    Ok(Some(SessionUser {
        user_id,
        username,
        role: role.parse().unwrap_or(Role::Viewer),
        csrf,
    }))
}

/// Ends session `token`.
pub async fn sign_out(db: &crate::platform::store::Db, token: &str) -> Result<(), sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        execute,
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = $1").bind(token_hash(token))
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::users::create_user;

    /// A fresh app database with one admin, and the instant they sign in.
    async fn with_admin() -> (tempfile::TempDir, crate::platform::store::Db, DateTime<Utc>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db =
            crate::platform::store::open(&format!("sqlite://{}/nabd.db", dir.path().display()))
                .await
                .expect("app db");
        let opened = DateTime::from_timestamp(1_767_600_000, 0).expect("valid");
        create_user(&db, "desk", "correct horse battery", Role::Admin, opened)
            .await
            .expect("user");
        (dir, db, opened)
    }

    #[tokio::test]
    async fn a_busy_session_still_ends_at_its_absolute_lifetime() {
        let (_dir, db, opened) = with_admin().await;
        let limiter = AttemptLimiter::new(db.clone(), std::time::Duration::ZERO);
        let session = sign_in(&db, &limiter, "desk", "correct horse battery", None, opened)
            .await
            .expect("signed in");
        let lifetime = Lifetime {
            idle: Span::minutes(30),
            max: Span::hours(14),
        };
        // Used every 20 minutes all day: alive until the 14th hour.
        let mut at = opened;
        while at + Span::minutes(20) < opened + Span::hours(14) {
            at += Span::minutes(20);
            assert!(
                session_alive(&db, &session.token, lifetime, at).await,
                "{at}"
            );
        }
        assert!(!session_alive(&db, &session.token, lifetime, opened + Span::hours(14)).await);
        assert!(
            !session_alive(&db, &session.token, lifetime, at).await,
            "and it was deleted"
        );
    }

    async fn session_alive(
        db: &crate::platform::store::Db,
        token: &str,
        lifetime: Lifetime,
        at: DateTime<Utc>,
    ) -> bool {
        session(db, token, lifetime, at, Activity::Use)
            .await
            .expect("read")
            .is_some()
    }

    #[tokio::test]
    async fn a_page_polling_does_not_keep_an_idle_session_alive() {
        let (_dir, db, opened) = with_admin().await;
        let opened_session = sign_in(
            &db,
            &AttemptLimiter::new(db.clone(), std::time::Duration::ZERO),
            "desk",
            "correct horse battery",
            None,
            opened,
        )
        .await
        .expect("signed in");
        let token = opened_session.token;
        let lifetime = Lifetime {
            idle: Span::minutes(30),
            max: Span::hours(14),
        };
        // The inbox polls every few seconds for 29 minutes: the session answers each poll...
        for minute in 1..30 {
            let polled = session(
                &db,
                &token,
                lifetime,
                opened + Span::minutes(minute),
                Activity::Poll,
            )
            .await
            .expect("read");
            assert!(polled.is_some(), "minute {minute}");
        }
        // ...but nobody used it, so 31 minutes after the last real use it is over.
        assert!(!session_alive(&db, &token, lifetime, opened + Span::minutes(31)).await);
    }
}
