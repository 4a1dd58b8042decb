//! How sign-in guessing is slowed, without letting anyone lock a username out:
//!
//! - per (username, address): 5 failures within 15 minutes block that pair for the rest of the
//!   15 minutes;
//! - per address: 20 failures within 15 minutes block the address;
//! - per username, across all addresses: no block, but a growing delay before each password
//!   check (1 s after one recent failure, then 2 s, 4 s, ... up to a cap, 30 s by default).
//!
//! An attempt is reserved before its password is checked, in one step under the lock: it
//! counts as a failure from that moment, and a success takes it back. So concurrent attempts
//! cannot all pass the check before any failure is recorded.

use chrono::{DateTime, Duration as Span, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Failed attempts allowed per (username, address) within the window.
pub const MAX_FAILURES_PER_PAIR: usize = 5;
/// Failed attempts allowed per address within the window.
pub const MAX_FAILURES_PER_IP: usize = 20;
/// How long failures are remembered, in minutes.
pub const LIMIT_WINDOW_MINUTES: i64 = 15;

#[derive(Debug, Default)]
struct Failures {
    pairs: HashMap<(String, Option<IpAddr>), Vec<DateTime<Utc>>>,
    addresses: HashMap<Option<IpAddr>, Vec<DateTime<Utc>>>,
    usernames: HashMap<String, Vec<DateTime<Utc>>>,
}

/// Failed sign-ins, forgotten after the window.
#[derive(Debug)]
pub struct AttemptLimiter {
    failures: Arc<Mutex<Failures>>,
    /// The longest delay before a password check (0: none).
    slowdown_cap: Duration,
}

impl Default for AttemptLimiter {
    fn default() -> Self {
        Self::new(Duration::from_secs(30))
    }
}

/// An attempt that may go ahead: it has already been counted as a failure. Its password is
/// checked after [`Attempt::delay`]; [`Attempt::succeeded`] takes the failure back.
#[derive(Debug)]
pub struct Attempt {
    failures: Arc<Mutex<Failures>>,
    username: String,
    ip: Option<IpAddr>,
    at: DateTime<Utc>,
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

/// Drops what is older than the window and returns the minutes until `list` falls below
/// `limit`, if it is at the limit.
fn over(list: &mut Vec<DateTime<Utc>>, limit: usize, now: DateTime<Utc>) -> Option<i64> {
    list.retain(|at| *at + window() > now);
    (list.len() >= limit).then(|| {
        let oldest = list.iter().min().copied().unwrap_or(now);
        ((oldest + window() - now).num_seconds() + 59) / 60
    })
}

fn key(username: &str) -> String {
    username.trim().to_lowercase()
}

impl AttemptLimiter {
    /// A limiter whose per-username delay never exceeds `slowdown_cap`.
    pub fn new(slowdown_cap: Duration) -> Self {
        Self {
            failures: Arc::default(),
            slowdown_cap,
        }
    }

    /// Reserves an attempt by `username` from `ip`: `Err(minutes)` when the pair or the address
    /// is blocked, else the attempt, counted as a failure until it succeeds.
    pub fn reserve(
        &self,
        ip: Option<IpAddr>,
        username: &str,
        now: DateTime<Utc>,
    ) -> Result<Attempt, i64> {
        let username = key(username);
        // A poisoned lock (a panic elsewhere while holding it) still holds sound counts.
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let pair = failures.pairs.entry((username.clone(), ip)).or_default();
        let pair_block = over(pair, MAX_FAILURES_PER_PAIR, now);
        let address = failures.addresses.entry(ip).or_default();
        let address_block = over(address, MAX_FAILURES_PER_IP, now);
        if let Some(minutes) = pair_block.max(address_block) {
            return Err(minutes);
        }
        let recent = {
            let list = failures.usernames.entry(username.clone()).or_default();
            list.retain(|at| *at + window() > now);
            list.len()
        };
        failures
            .pairs
            .entry((username.clone(), ip))
            .or_default()
            .push(now);
        failures.addresses.entry(ip).or_default().push(now);
        failures
            .usernames
            .entry(username.clone())
            .or_default()
            .push(now);
        Ok(Attempt {
            failures: Arc::clone(&self.failures),
            username,
            ip,
            at: now,
            delay: slowdown(recent, self.slowdown_cap),
        })
    }
}

impl Attempt {
    /// The password was right: this attempt is no failure, and the pair's and the username's
    /// failures are forgotten (the address keeps its count: one success does not clear a
    /// guessing address).
    pub fn succeeded(self) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.pairs.remove(&(self.username.clone(), self.ip));
        failures.usernames.remove(&self.username);
        if let Some(list) = failures.addresses.get_mut(&self.ip)
            && let Some(index) = list.iter().position(|at| *at == self.at)
        {
            list.remove(index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> Option<IpAddr> {
        text.parse().ok()
    }

    #[test]
    fn five_failures_block_the_pair_not_the_username_from_elsewhere() {
        let limiter = AttemptLimiter::new(Duration::ZERO);
        let now = Utc::now();
        for _ in 0..MAX_FAILURES_PER_PAIR {
            assert!(limiter.reserve(ip("10.0.0.1"), "admin", now).is_ok());
        }
        assert_eq!(
            limiter.reserve(ip("10.0.0.1"), "Admin ", now).err(),
            Some(LIMIT_WINDOW_MINUTES)
        );
        // The real admin at the desk, from another address, may still sign in.
        assert!(limiter.reserve(ip("10.0.0.2"), "admin", now).is_ok());
        let later = now + window() + Span::seconds(1);
        assert!(limiter.reserve(ip("10.0.0.1"), "admin", later).is_ok());
    }

    #[test]
    fn twenty_failures_block_the_address_whatever_the_usernames() {
        let limiter = AttemptLimiter::new(Duration::ZERO);
        let now = Utc::now();
        for n in 0..MAX_FAILURES_PER_IP {
            assert!(
                limiter
                    .reserve(ip("10.0.0.9"), &format!("user{n}"), now)
                    .is_ok()
            );
        }
        assert!(limiter.reserve(ip("10.0.0.9"), "someone", now).is_err());
        assert!(limiter.reserve(ip("10.0.0.8"), "someone", now).is_ok());
    }

    #[test]
    fn a_success_takes_its_reservation_back_and_clears_the_pair() {
        let limiter = AttemptLimiter::new(Duration::ZERO);
        let now = Utc::now();
        for _ in 0..MAX_FAILURES_PER_PAIR - 1 {
            let _ = limiter.reserve(ip("10.0.0.1"), "admin", now);
        }
        limiter
            .reserve(ip("10.0.0.1"), "admin", now)
            .expect("the fifth attempt")
            .succeeded();
        for _ in 0..MAX_FAILURES_PER_PAIR {
            assert!(limiter.reserve(ip("10.0.0.1"), "admin", now).is_ok());
        }
    }

    #[test]
    fn the_username_slows_down_one_two_four_seconds_up_to_the_cap() {
        let cap = Duration::from_secs(30);
        let delays: Vec<u64> = (0..8).map(|n| slowdown(n, cap).as_secs()).collect();
        assert_eq!(delays, [0, 1, 2, 4, 8, 16, 30, 30]);
        assert_eq!(slowdown(1000, cap), cap);
        let limiter = AttemptLimiter::default();
        let now = Utc::now();
        let delays: Vec<u64> = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]
            .into_iter()
            .map(|address| {
                limiter
                    .reserve(ip(address), "admin", now)
                    .expect("no block across addresses")
                    .delay
                    .as_secs()
            })
            .collect();
        assert_eq!(delays, [0, 1, 2, 4]);
    }
}
