//! This process among the others sharing the app database. Each `nabd serve` (and each command
//! that sends) takes a random instance id at start and writes a heartbeat row every
//! `NABD_HEARTBEAT_SECS`; an instance whose heartbeat is [`MISSED_BEATS`] beats old is dead.
//! Whatever a dead instance held (a message it was handing over, a cron run it had claimed)
//! is then treated as abandoned. SQLite runs the same mechanism with one instance.
//!
//! This module owns the `instances` table.

use crate::platform::clock::Clock;
use crate::platform::store::Db;
use crate::platform::time::stamp;
use chrono::{DateTime, Duration as Span, Utc};
use rand::Rng;
use std::time::Duration;

/// Missed heartbeats after which an instance counts as dead.
pub const MISSED_BEATS: u32 = 3;

/// This process's identity in the app database.
#[derive(Debug, Clone)]
pub struct Instance {
    id: String,
    db: Db,
    clock: Clock,
    heartbeat: Duration,
}

/// An instance whose heartbeat is fresh, as `/readyz` lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct LiveInstance {
    pub id: String,
    pub host: String,
    pub pid: i64,
    pub version: String,
    pub started_at: String,
    pub heartbeat_at: String,
}

/// A fresh random instance id: 16 hex digits.
fn new_id() -> String {
    format!("{:016x}", rand::rng().random::<u64>())
}

impl Instance {
    /// Registers this process: a new id and its first heartbeat.
    pub async fn start(db: &Db, clock: Clock, heartbeat: Duration) -> Result<Self, sqlx::Error> {
        let instance = Self {
            id: new_id(),
            db: db.clone(),
            clock,
            heartbeat,
        };
        let now = stamp(clock.real_now());
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_owned())
            })
            .unwrap_or_default();
        // language=SQL
        crate::db!(
            db,
            execute,
            sqlx::query(
                "INSERT INTO instances (id, host, pid, version, started_at, heartbeat_at)
                 VALUES ($1, $2, $3, $4, $5, $5)"
            )
            .bind(&instance.id)
            .bind(host)
            .bind(i64::from(std::process::id()))
            .bind(env!("CARGO_PKG_VERSION"))
            .bind(&now)
        )?;
        // Instances dead for a week are forgotten; whatever they held counts as abandoned all
        // the same (an owner that is not live is dead).
        // language=SQL
        crate::db!(
            db,
            execute,
            sqlx::query("DELETE FROM instances WHERE heartbeat_at < $1")
                .bind(stamp(clock.real_now() - Span::days(7)))
        )?;
        tracing::info!(instance = %instance.id, backend = db.backend().name(), "instance started");
        Ok(instance)
    }

    /// This process's instance id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The heartbeat interval.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }

    /// Writes a heartbeat now.
    pub async fn beat(&self) -> Result<(), sqlx::Error> {
        // language=SQL
        crate::db!(
            &self.db,
            execute,
            sqlx::query("UPDATE instances SET heartbeat_at = $1 WHERE id = $2")
                .bind(stamp(self.clock.real_now()))
                .bind(&self.id)
        )?;
        Ok(())
    }

    /// The stored instant before which a heartbeat is stale (its instance dead).
    pub fn stale_before(&self) -> String {
        stale_before(self.clock.real_now(), self.heartbeat)
    }

    /// Beats every heartbeat interval until `stop` is cancelled, then marks this instance
    /// stopped (so that peers need not wait three beats to take over).
    pub async fn keep_beating(&self, stop: tokio_util::sync::CancellationToken) {
        let mut every = tokio::time::interval(self.heartbeat);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {
                    if let Err(error) = self.beat().await {
                        tracing::warn!(%error, instance = %self.id, "heartbeat not written");
                    }
                }
                () = stop.cancelled() => break,
            }
        }
    }

    /// Marks this instance stopped: its heartbeat is made stale at once.
    pub async fn stop(&self) -> Result<(), sqlx::Error> {
        // language=SQL
        crate::db!(
            &self.db,
            execute,
            sqlx::query("UPDATE instances SET heartbeat_at = $1 WHERE id = $2")
                .bind(stamp(DateTime::<Utc>::UNIX_EPOCH))
                .bind(&self.id)
        )?;
        Ok(())
    }
}

/// The stored instant before which a heartbeat taken every `heartbeat` is stale at `now`.
pub fn stale_before(now: DateTime<Utc>, heartbeat: Duration) -> String {
    let beat = Span::from_std(heartbeat).unwrap_or_else(|_| Span::seconds(5));
    stamp(now - beat * MISSED_BEATS as i32)
}

/// The instances whose heartbeat is fresh at `now`, oldest first.
pub async fn live(
    db: &Db,
    now: DateTime<Utc>,
    heartbeat: Duration,
) -> Result<Vec<LiveInstance>, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        fetch_all,
        sqlx::query_as::<_, LiveInstance>(
            "SELECT id, host, pid, version, started_at, heartbeat_at FROM instances
             WHERE heartbeat_at >= $1 ORDER BY started_at, id"
        )
        .bind(stale_before(now, heartbeat))
    )
}
