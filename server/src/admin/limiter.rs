//! Failed sign-ins counted per IP and per username, so that guessing is slowed.

use chrono::{DateTime, Duration as Span, Utc};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

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

#[cfg(test)]
mod tests {
    use super::*;

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
