//! How sign-in guessing is slowed, without letting anyone lock a username out:
//!
//! - per (username, address): 5 failures within 15 minutes block that pair for the rest of the
//!   15 minutes;
//! - per address: 20 failures within 15 minutes block the address;
//! - per username, across all addresses: no block, but a growing delay before each password
//!   check (1 s after one recent failure, then 2 s, 4 s, ... up to a cap, 30 s by default).
//!
//! An attempt is reserved before its password is checked, in one step under a lock: it counts
//! as a failure from that moment, and a success takes it back. So concurrent attempts cannot
//! all pass the check before any failure is recorded.
//!
//! The counts live in the app database (`sign_in_failures`), so every process sharing it
//! limits as one: N processes do not allow N times the attempts. The step is one write
//! transaction holding the limiter's lock (PostgreSQL: an advisory lock; SQLite: its write
//! lock). Each reserved attempt is a row in each of the three lists it counts in.
//!
//! This module owns the `sign_in_failures` table.

use crate::platform::store::{Db, locks};
use crate::platform::time::{parse_stamp, stamp};
use chrono::{DateTime, Duration as Span, Utc};
use rand::Rng;
use std::net::IpAddr;
use std::time::Duration;

/// Failed attempts allowed per (username, address) within the window.
pub const MAX_FAILURES_PER_PAIR: usize = 5;
/// Failed attempts allowed per address within the window.
pub const MAX_FAILURES_PER_IP: usize = 20;
/// How long failures are remembered, in minutes.
pub const LIMIT_WINDOW_MINUTES: i64 = 15;

/// Failed sign-ins, forgotten after the window.
#[derive(Debug, Clone)]
pub struct AttemptLimiter {
    db: Db,
    /// The longest delay before a password check (0: none).
    slowdown_cap: Duration,
}

/// An attempt that may go ahead: it has already been counted as a failure. Its password is
/// checked after [`Attempt::delay`]; [`Attempt::succeeded`] takes the failure back.
#[derive(Debug)]
pub struct Attempt {
    db: Db,
    id: String,
    username: String,
    pair: String,
    /// How long to wait before checking the password.
    pub delay: Duration,
}

/// Returns the delay before a password check for a username with `recent` failures: none for
/// the first, then 1 s, 2 s, 4 s... up to `cap`.
pub fn slowdown(recent: usize, cap: Duration) -> Duration {
    if recent == 0 {
        return Duration::ZERO;
    }
    let exponent = u32::try_from(recent - 1).unwrap_or(u32::MAX).min(16);
    Duration::from_secs(1u64 << exponent).min(cap)
}

fn window() -> Span {
    Span::minutes(LIMIT_WINDOW_MINUTES)
}

fn key(username: &str) -> String {
    username.trim().to_lowercase()
}

/// The minutes until a list of `count` failures, the oldest at `oldest`, falls below `limit`;
/// `None` when it is below already.
fn blocked_for(count: i64, oldest: Option<&str>, limit: usize, now: DateTime<Utc>) -> Option<i64> {
    if count < limit as i64 {
        return None;
    }
    let oldest = oldest.and_then(parse_stamp).unwrap_or(now);
    Some(((oldest + window() - now).num_seconds().max(0) + 59) / 60)
}

/// What refused an attempt or went wrong reserving it.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// Blocked for this many more minutes.
    #[error("too many failed attempts; blocked for {0} more minutes")]
    Blocked(i64),
    #[error("the sign-in limiter could not be read or written")]
    Database(#[from] sqlx::Error),
}

impl AttemptLimiter {
    /// A limiter over the app database `db` whose per-username delay never exceeds
    /// `slowdown_cap`.
    pub fn new(db: Db, slowdown_cap: Duration) -> Self {
        Self { db, slowdown_cap }
    }

    /// Reserves an attempt by `username` from `ip`: [`ReserveError::Blocked`] when the pair or
    /// the address is blocked, else the attempt, counted as a failure until it succeeds.
    pub async fn reserve(
        &self,
        ip: Option<IpAddr>,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<Attempt, ReserveError> {
        let username = key(username);
        let address = ip.map(|ip| ip.to_string()).unwrap_or_default();
        let pair = format!("{username}\n{address}");
        let since = stamp(now - window());
        let mut tx = self.db.begin_write().await?;
        tx.lock(locks::SIGN_IN, "sign-in").await?;
        // language=SQL
        crate::conn!(
            tx,
            execute,
            sqlx::query("DELETE FROM sign_in_failures WHERE at <= $1").bind(&since)
        )?;
        macro_rules! count {
            ($list:literal, $key:expr) => {
                // language=SQL
                crate::conn!(
                    tx,
                    fetch_one,
                    sqlx::query_as::<_, (i64, Option<String>)>(
                        "SELECT COUNT(*), MIN(at) FROM sign_in_failures
                         WHERE list = $1 AND key = $2 AND at > $3"
                    )
                    .bind($list)
                    .bind($key)
                    .bind(&since)
                )?
            };
        }
        let (pair_count, pair_oldest) = count!("pair", &pair);
        let (address_count, address_oldest) = count!("address", &address);
        let blocked = blocked_for(
            pair_count,
            pair_oldest.as_deref(),
            MAX_FAILURES_PER_PAIR,
            now,
        )
        .max(blocked_for(
            address_count,
            address_oldest.as_deref(),
            MAX_FAILURES_PER_IP,
            now,
        ));
        if let Some(minutes) = blocked {
            tx.commit().await?;
            return Err(ReserveError::Blocked(minutes));
        }
        let (recent, _) = count!("username", &username);
        let id = format!("{:016x}", rand::rng().random::<u64>());
        for (list, key) in [
            ("pair", &pair),
            ("address", &address),
            ("username", &username),
        ] {
            // language=SQL
            crate::conn!(
                tx,
                execute,
                sqlx::query(
                    "INSERT INTO sign_in_failures (list, key, attempt, at) VALUES ($1, $2, $3, $4)"
                )
                .bind(list)
                .bind(key)
                .bind(&id)
                .bind(stamp(now))
            )?;
        }
        tx.commit().await?;
        Ok(Attempt {
            db: self.db.clone(),
            id,
            username,
            pair,
            delay: slowdown(usize::try_from(recent).unwrap_or(0), self.slowdown_cap),
        })
    }
}

impl Attempt {
    /// The password was right: this attempt is no failure, and the pair's and the username's
    /// failures are forgotten (the address keeps its count: one success does not clear a
    /// guessing address).
    pub async fn succeeded(self) -> Result<(), sqlx::Error> {
        // language=SQL
        crate::db!(
            &self.db,
            execute,
            sqlx::query(
                "DELETE FROM sign_in_failures
                 WHERE (list = 'pair' AND key = $1) OR (list = 'username' AND key = $2)
                    OR (list = 'address' AND attempt = $3)"
            )
            .bind(&self.pair)
            .bind(&self.username)
            .bind(&self.id)
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    async fn limiter(cap: Duration) -> (tempfile::TempDir, AttemptLimiter) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db =
            crate::platform::store::open(&format!("sqlite://{}/nabd.db", dir.path().display()))
                .await
                .expect("app db");
        (dir, AttemptLimiter::new(db, cap))
    }

    fn minutes(result: Result<Attempt, ReserveError>) -> Option<i64> {
        match result {
            Err(ReserveError::Blocked(minutes)) => Some(minutes),
            _ => None,
        }
    }

    #[tokio::test]
    async fn five_failures_block_the_pair_not_the_username_from_elsewhere() {
        let (_dir, limiter) = limiter(Duration::ZERO).await;
        let now = Utc::now();
        for _ in 0..MAX_FAILURES_PER_PAIR {
            assert!(limiter.reserve(ip("10.0.0.1"), "admin", now).await.is_ok());
        }
        assert_eq!(
            minutes(limiter.reserve(ip("10.0.0.1"), "Admin ", now).await),
            Some(LIMIT_WINDOW_MINUTES)
        );
        // The real admin at the desk, from another address, may still sign in.
        assert!(limiter.reserve(ip("10.0.0.2"), "admin", now).await.is_ok());
        let later = now + window() + Span::seconds(1);
        assert!(
            limiter
                .reserve(ip("10.0.0.1"), "admin", later)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn twenty_failures_block_the_address_whatever_the_usernames() {
        let (_dir, limiter) = limiter(Duration::ZERO).await;
        let now = Utc::now();
        for n in 0..MAX_FAILURES_PER_IP {
            let user = format!("user{n}");
            assert!(limiter.reserve(ip("10.0.0.9"), &user, now).await.is_ok());
        }
        assert!(minutes(limiter.reserve(ip("10.0.0.9"), "someone", now).await).is_some());
        assert!(
            limiter
                .reserve(ip("10.0.0.8"), "someone", now)
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn a_success_takes_its_reservation_back_and_clears_the_pair() {
        let (_dir, limiter) = limiter(Duration::ZERO).await;
        let now = Utc::now();
        for _ in 0..MAX_FAILURES_PER_PAIR - 1 {
            let _ = limiter.reserve(ip("10.0.0.1"), "admin", now).await;
        }
        limiter
            .reserve(ip("10.0.0.1"), "admin", now)
            .await
            .expect("the fifth attempt")
            .succeeded()
            .await
            .expect("recorded");
        for _ in 0..MAX_FAILURES_PER_PAIR {
            assert!(limiter.reserve(ip("10.0.0.1"), "admin", now).await.is_ok());
        }
    }

    #[tokio::test]
    async fn the_username_slows_down_one_two_four_seconds_up_to_the_cap() {
        let cap = Duration::from_secs(30);
        let delays: Vec<u64> = (0..8).map(|n| slowdown(n, cap).as_secs()).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(slowdown(1000, cap), cap);
        let (_dir, limiter) = limiter(cap).await;
        let now = Utc::now();
        let mut delays = Vec::new();
        for address in ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"] {
            let attempt = limiter
                .reserve(ip(address), "admin", now)
                .await
                .expect("no block across addresses");
            delays.push(attempt.delay.as_secs());
        }
        assert_eq!(delays, [0, 1, 2, 4]);
    }
}
