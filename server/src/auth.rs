//! Admin sign-in: users with argon2id password hashes and a role, sessions kept in the app
//! database (they survive a restart; only a hash of the token is stored), an idle timeout,
//! a per-session CSRF token, sign-in attempts limited per IP and per username, and the audit
//! log of admin actions.

use crate::time::{parse_stamp, stamp};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration as Span, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Reports only.
    Viewer,
}

impl Role {
    /// Returns the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Viewer => "viewer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "admin" => Ok(Self::Admin),
            "viewer" => Ok(Self::Viewer),
            other => Err(format!("unknown role {other:?} (admin or viewer)")),
        }
    }
}

/// A signed-in user, as every admin handler sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub user_id: i64,
    pub username: String,
    pub role: Role,
    /// The session's CSRF token, which every state-changing request must carry.
    pub csrf: String,
}

/// Why a user could not be created or changed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("a username is 3 to 64 letters, digits, '.', '-' or '_'")]
    BadUsername,
    #[error("a password has at least 10 characters")]
    WeakPassword,
    #[error("the user {0} already exists")]
    Exists(String),
    #[error("there is no user {0}")]
    Unknown(String),
    #[error("the password could not be hashed")]
    Hash,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
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

fn valid_username(username: &str) -> bool {
    (3..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Hashes `password` with argon2id and a fresh salt.
pub fn hash_password(password: &str) -> Result<String, UserError> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|_| UserError::Hash)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|_| UserError::Hash)
}

/// Tells whether `password` matches the stored `hash`.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Creates a user.
pub async fn create_user(
    db: &SqlitePool,
    username: &str,
    password: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<i64, UserError> {
    let username = username.trim();
    if !valid_username(username) {
        return Err(UserError::BadUsername);
    }
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    let hash = hash_password(password)?;
    // language=SQL
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO admin_users (username, password_hash, role, created_at)
         VALUES (?, ?, ?, ?) ON CONFLICT (username) DO NOTHING RETURNING id",
    )
    .bind(username)
    .bind(hash)
    .bind(role.as_str())
    .bind(stamp(now))
    .fetch_optional(db)
    .await?;
    id.ok_or_else(|| UserError::Exists(username.to_owned()))
}

/// Replaces a user's password and ends their sessions.
pub async fn set_password(
    db: &SqlitePool,
    username: &str,
    password: &str,
) -> Result<(), UserError> {
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    let hash = hash_password(password)?;
    // language=SQL
    let id: Option<i64> = sqlx::query_scalar(
        "UPDATE admin_users SET password_hash = ? WHERE username = ? RETURNING id",
    )
    .bind(hash)
    .bind(username.trim())
    .fetch_optional(db)
    .await?;
    let id = id.ok_or_else(|| UserError::Unknown(username.trim().to_owned()))?;
    // language=SQL
    sqlx::query("DELETE FROM admin_sessions WHERE user_id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}

fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Failed sign-ins per IP and per username, forgotten after the window.
#[derive(Debug, Default)]
pub struct AttemptLimiter {
    failures: Mutex<HashMap<String, Vec<DateTime<Utc>>>>,
}

/// Failed attempts allowed per IP within the window.
pub const MAX_FAILURES_PER_IP: usize = 20;
/// Failed attempts allowed per username within the window.
pub const MAX_FAILURES_PER_USERNAME: usize = 5;
/// How long failures are remembered, in minutes.
pub const LIMIT_WINDOW_MINUTES: i64 = 15;

impl AttemptLimiter {
    fn keys(ip: Option<IpAddr>, username: &str) -> [(String, usize); 2] {
        [
            (
                format!("ip:{}", ip.map(|ip| ip.to_string()).unwrap_or_default()),
                MAX_FAILURES_PER_IP,
            ),
            (
                format!("user:{}", username.trim().to_lowercase()),
                MAX_FAILURES_PER_USERNAME,
            ),
        ]
    }

    /// Returns the minutes left before `ip` or `username` may try again, if either is over
    /// its limit.
    pub fn blocked(&self, ip: Option<IpAddr>, username: &str, now: DateTime<Utc>) -> Option<i64> {
        let window = Span::minutes(LIMIT_WINDOW_MINUTES);
        let mut failures = self.failures.lock().ok()?;
        Self::keys(ip, username)
            .into_iter()
            .filter_map(|(key, limit)| {
                let list = failures.get_mut(&key)?;
                list.retain(|at| *at + window > now);
                (list.len() >= limit).then(|| {
                    let oldest = list.iter().min().copied().unwrap_or(now);
                    ((oldest + window - now).num_seconds() + 59) / 60
                })
            })
            .max()
    }

    /// Records a failed attempt.
    pub fn failed(&self, ip: Option<IpAddr>, username: &str, now: DateTime<Utc>) {
        if let Ok(mut failures) = self.failures.lock() {
            for (key, _) in Self::keys(ip, username) {
                failures.entry(key).or_default().push(now);
            }
        }
    }

    /// Forgets the username's failures after a successful sign-in.
    pub fn succeeded(&self, username: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(&format!("user:{}", username.trim().to_lowercase()));
        }
    }
}

/// A new session: the cookie's token (shown once, stored only hashed) and the user.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub user: SessionUser,
}

/// A hash nobody's password matches, verified when the username is unknown so that both
/// answers take as long. Made once, with the same parameters as real hashes.
static DECOY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    hash_password("decoy: no user has this password").unwrap_or_else(|_| FALLBACK_DECOY.to_owned())
});

const FALLBACK_DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zb3jjD7Qm3wFv0m8JJk3H0m5HhDqvR4tT0m1yTt9yFQ";

/// Checks the credentials and opens a new session (a fresh token: any session the browser
/// had is replaced by the caller). Failures count against the IP and the username.
pub async fn sign_in(
    db: &SqlitePool,
    limiter: &AttemptLimiter,
    username: &str,
    password: &str,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<NewSession, SignInError> {
    if let Some(minutes) = limiter.blocked(ip, username, now) {
        return Err(SignInError::TooMany { minutes });
    }
    // language=SQL
    let user: Option<(i64, String, String, String)> = sqlx::query_as(
        "SELECT id, username, password_hash, role FROM admin_users WHERE username = ?",
    )
    .bind(username.trim())
    .fetch_optional(db)
    .await?;
    let matches = match &user {
        Some((_, _, hash, _)) => verify_password(hash, password),
        None => {
            let _ = verify_password(&DECOY_HASH, password);
            false
        }
    };
    let Some((user_id, username, _, role)) = user.filter(|_| matches) else {
        limiter.failed(ip, username, now);
        return Err(SignInError::Invalid);
    };
    limiter.succeeded(&username);
    let token = random_token();
    let csrf = random_token();
    // language=SQL
    sqlx::query(
        "INSERT INTO admin_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at)
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(&csrf)
    .bind(stamp(now))
    .bind(stamp(now))
    .execute(db)
    .await?;
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

/// Returns the user of session `token` if it has been used within `idle`, and marks it used.
pub async fn session(
    db: &SqlitePool,
    token: &str,
    idle: Span,
    now: DateTime<Utc>,
) -> Result<Option<SessionUser>, sqlx::Error> {
    let hash = token_hash(token);
    // language=SQL
    let row: Option<(i64, String, String, String, String)> = sqlx::query_as(
        "SELECT u.id, u.username, u.role, s.csrf_token, s.last_seen_at
         FROM admin_sessions s JOIN admin_users u ON u.id = s.user_id
         WHERE s.token_hash = ?",
    )
    .bind(&hash)
    .fetch_optional(db)
    .await?;
    let Some((user_id, username, role, csrf, last_seen)) = row else {
        return Ok(None);
    };
    if parse_stamp(&last_seen).is_none_or(|at| at + idle < now) {
        // language=SQL
        sqlx::query("DELETE FROM admin_sessions WHERE token_hash = ?")
            .bind(&hash)
            .execute(db)
            .await?;
        return Ok(None);
    }
    // language=SQL
    sqlx::query("UPDATE admin_sessions SET last_seen_at = ? WHERE token_hash = ?")
        .bind(stamp(now))
        .bind(&hash)
        .execute(db)
        .await?;
    Ok(Some(SessionUser {
        user_id,
        username,
        role: role.parse().unwrap_or(Role::Viewer),
        csrf,
    }))
}

/// Ends session `token`.
pub async fn sign_out(db: &SqlitePool, token: &str) -> Result<(), sqlx::Error> {
    // language=SQL
    sqlx::query("DELETE FROM admin_sessions WHERE token_hash = ?")
        .bind(token_hash(token))
        .execute(db)
        .await?;
    Ok(())
}

/// Records an admin action in the audit log.
pub async fn audit(
    db: &SqlitePool,
    user: Option<&SessionUser>,
    action: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // language=SQL
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, detail) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(stamp(now))
    .bind(user.map(|u| u.user_id))
    .bind(user.map_or("system", |u| u.username.as_str()))
    .bind(action)
    .bind(detail)
    .execute(db)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_argon2id_hash() {
        let hash = hash_password("correct horse battery").expect("hashes");
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse battery!"));
        assert!(!verify_password("not a hash", "x"));
        assert_ne!(
            hash,
            hash_password("correct horse battery").expect("hashes")
        );
    }

    #[test]
    fn usernames_are_plain_and_bounded() {
        assert!(valid_username("reception.1"));
        assert!(!valid_username("ab"));
        assert!(!valid_username("robert'); DROP"));
    }

    #[test]
    fn the_limiter_blocks_a_username_after_five_failures_and_forgets_after_the_window() {
        let limiter = AttemptLimiter::default();
        let now = Utc::now();
        let ip: Option<IpAddr> = "10.0.0.1".parse().ok();
        for _ in 0..MAX_FAILURES_PER_USERNAME {
            assert_eq!(limiter.blocked(ip, "admin", now), None);
            limiter.failed(ip, "admin", now);
        }
        assert_eq!(
            limiter.blocked(ip, "Admin ", now),
            Some(LIMIT_WINDOW_MINUTES)
        );
        assert_eq!(limiter.blocked("10.0.0.2".parse().ok(), "other", now), None);
        let later = now + Span::minutes(LIMIT_WINDOW_MINUTES) + Span::seconds(1);
        assert_eq!(limiter.blocked(ip, "admin", later), None);
    }
}
