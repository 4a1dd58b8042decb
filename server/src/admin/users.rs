//! Admin users: usernames, argon2id password hashes, creating users and changing passwords.

use super::roles::Role;
use crate::platform::time::stamp;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Utc};
use rand::RngCore;

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
    db: &crate::platform::store::Db,
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
    let id: Option<i64> = crate::db!(
        db,
        fetch_optional,
        sqlx::query_scalar(
            "INSERT INTO admin_users (username, password_hash, role, created_at)
         VALUES ($1, $2, $3, $4) ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(username)
        .bind(hash)
        .bind(role.as_str())
        .bind(stamp(now))
    )?;
    id.ok_or_else(|| UserError::Exists(username.to_owned()))
}

/// Replaces a user's password and ends their sessions.
pub async fn set_password(
    db: &crate::platform::store::Db,
    username: &str,
    password: &str,
) -> Result<(), UserError> {
    if password.chars().count() < 10 {
        return Err(UserError::WeakPassword);
    }
    let hash = hash_password(password)?;
    // language=SQL
    let id: Option<i64> = crate::db!(
        db,
        fetch_optional,
        sqlx::query_scalar(
            "UPDATE admin_users SET password_hash = $1 WHERE username = $2 RETURNING id",
        )
        .bind(hash)
        .bind(username.trim())
    )?;
    let id = id.ok_or_else(|| UserError::Unknown(username.trim().to_owned()))?;
    // language=SQL
    crate::db!(
        db,
        execute,
        sqlx::query("DELETE FROM admin_sessions WHERE user_id = $1").bind(id)
    )?;
    Ok(())
}

/// A hash nobody's password matches, verified when the username is unknown so that both
/// answers take as long. Made once, with the same parameters as real hashes.
pub(super) static DECOY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    hash_password("decoy: no user has this password").unwrap_or_else(|_| FALLBACK_DECOY.to_owned())
});

const FALLBACK_DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Zb3jjD7Qm3wFv0m8JJk3H0m5HhDqvR4tT0m1yTt9yFQ";

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
}
