//! Cron runs claimed in the app database, so that a job's tick runs once across every process
//! sharing it: the first instance to insert the `(job, tick)` row runs it; the others find the
//! row and skip. A tick is refused while an earlier run of the same job is unfinished and its
//! instance alive, so a run that outlasts its period is never overlapped (by this process or
//! another); a run whose instance died no longer holds the job back.
//!
//! This module owns the `cron_runs` table.

use crate::platform::instance::Instance;
use crate::platform::store::{Db, locks};
use crate::platform::time::stamp;
use chrono::{DateTime, Duration as Span, Utc};

/// What claiming a tick said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// This instance runs it.
    Run,
    /// Another instance claimed this tick first.
    Taken,
    /// An earlier run of the job, claimed by a live instance (this one or another) at `since`,
    /// is still going.
    StillRunning { since: String },
}

/// Claims `job`'s tick at `tick` for `instance`.
pub async fn claim(
    db: &Db,
    instance: &Instance,
    job: &str,
    tick: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Claimed, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    tx.lock(locks::CRON, job).await?;
    // language=SQL
    let running: Option<String> = crate::conn!(
        tx,
        fetch_optional,
        sqlx::query_scalar(
            "SELECT r.started_at FROM cron_runs r JOIN instances i ON i.id = r.instance
             WHERE r.job = $1 AND r.finished_at IS NULL AND r.tick < $2 AND i.heartbeat_at >= $3
             ORDER BY r.tick LIMIT 1"
        )
        .bind(job)
        .bind(stamp(tick))
        .bind(instance.stale_before())
    )?;
    if let Some(since) = running {
        return Ok(Claimed::StillRunning { since });
    }
    // language=SQL
    let inserted = crate::conn!(
        tx,
        execute,
        sqlx::query(
            "INSERT INTO cron_runs (job, tick, instance, started_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (job, tick) DO NOTHING"
        )
        .bind(job)
        .bind(stamp(tick))
        .bind(instance.id())
        .bind(stamp(now))
    )?;
    tx.commit().await?;
    Ok(if inserted == 1 {
        Claimed::Run
    } else {
        Claimed::Taken
    })
}

/// Records that the run of `job` at `tick` ended, with `outcome` (`ok` or the error).
pub async fn finish(
    db: &Db,
    job: &str,
    tick: DateTime<Utc>,
    outcome: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        execute,
        sqlx::query(
            "UPDATE cron_runs SET finished_at = $1, outcome = $2 WHERE job = $3 AND tick = $4"
        )
        .bind(stamp(now))
        .bind(outcome)
        .bind(job)
        .bind(stamp(tick))
    )?;
    Ok(())
}

/// One recorded run, newest first in [`recent`].
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Run {
    pub job: String,
    pub tick: String,
    pub instance: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub outcome: Option<String>,
}

/// The newest `limit` runs of `job`.
pub async fn recent(db: &Db, job: &str, limit: i64) -> Result<Vec<Run>, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        fetch_all,
        sqlx::query_as::<_, Run>(
            "SELECT job, tick, instance, started_at, finished_at, outcome FROM cron_runs
             WHERE job = $1 ORDER BY tick DESC LIMIT $2"
        )
        .bind(job)
        .bind(limit)
    )
}

/// Each job's newest finished run, for metrics.
pub async fn last_finished(db: &Db) -> Result<Vec<Run>, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        fetch_all,
        sqlx::query_as::<_, Run>(
            "SELECT job, tick, instance, started_at, finished_at, outcome FROM cron_runs AS r
             WHERE finished_at IS NOT NULL AND tick = (
                 SELECT MAX(tick) FROM cron_runs
                 WHERE job = r.job AND finished_at IS NOT NULL)"
        )
    )
}

/// Forgets runs that ended more than `keep` ago.
pub async fn prune(db: &Db, now: DateTime<Utc>, keep: Span) -> Result<u64, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        execute,
        sqlx::query("DELETE FROM cron_runs WHERE finished_at IS NOT NULL AND finished_at < $1")
            .bind(stamp(now - keep))
    )
}
