//! The job store: where the delivery queue keeps one [`Deliver`] job per message at its send
//! time. SQLite (apalis-sqlite, a file apart from the app database) for one process;
//! PostgreSQL (apalis-postgres, schema `apalis`) when processes share it, so that a timer set by
//! a process that died is picked up by a live one.

use crate::messaging::outbox::{Deliver, OutboxError, Timers};
use crate::platform::store::{Backend, redact};
use apalis::prelude::*;
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// Opening the job store failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the job store {url}")]
pub struct JobStoreError {
    url: String,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// The job store's pool, of one backend or the other.
#[derive(Debug, Clone)]
pub enum JobStore {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Opens (creating when missing) the job store at `url` and applies apalis's migrations.
pub async fn open_store(url: &str) -> Result<JobStore, JobStoreError> {
    let error = |source: Box<dyn std::error::Error + Send + Sync>| JobStoreError {
        url: redact(url),
        source,
    };
    if Backend::of_url(url) == Backend::Postgres {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| error(e.into()))?;
        PostgresStorage::setup(&pool)
            .await
            .map_err(|e| error(e.into()))?;
        return Ok(JobStore::Postgres(pool));
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|e| error(e.into()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .busy_timeout(Duration::from_secs(5));
    if let Some(folder) = options.get_filename().parent()
        && !folder.as_os_str().is_empty()
    {
        std::fs::create_dir_all(folder).map_err(|e| error(e.into()))?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(4)
        .connect_with(options)
        .await
        .map_err(|e| error(e.into()))?;
    SqliteStorage::setup(&pool)
        .await
        .map_err(|e| error(e.into()))?;
    Ok(JobStore::Sqlite(pool))
}

/// The queue's name in the store: apalis's default for the job type, as before there was a
/// choice of store, so that jobs queued by an older build are still found.
pub(super) fn queue() -> &'static str {
    std::any::type_name::<Deliver>()
}

/// The delivery queue on SQLite. A worker that stops beating for `heartbeat` three times is
/// dead: a live worker takes its jobs back (apalis's orphan recovery).
pub(super) fn sqlite_queue(pool: &SqlitePool, heartbeat: Duration) -> SqliteStorage<Deliver> {
    SqliteStorage::new(pool).with_config(
        apalis_sqlite::Config::default()
            .queue(queue())
            .heartbeat_interval(heartbeat)
            .missed_heartbeats(crate::platform::instance::MISSED_BEATS as usize),
    )
}

/// The delivery queue on PostgreSQL, with the same orphan timeout.
pub(super) fn postgres_queue(pool: &PgPool, heartbeat: Duration) -> PostgresStorage<Deliver> {
    PostgresStorage::new(pool).with_config(
        apalis_postgres::Config::default()
            .queue(queue())
            .heartbeat_interval(heartbeat)
            .missed_heartbeats(crate::platform::instance::MISSED_BEATS as usize),
    )
}

/// Schedules [`Deliver`] jobs in the job store.
pub enum StoreTimers {
    Sqlite(SqliteStorage<Deliver>),
    Postgres(PostgresStorage<Deliver>),
}

impl StoreTimers {
    /// Returns timers writing to the job store `store`.
    pub fn new(store: &JobStore) -> Self {
        let beat = Duration::from_secs(30);
        match store {
            JobStore::Sqlite(pool) => Self::Sqlite(sqlite_queue(pool, beat)),
            JobStore::Postgres(pool) => Self::Postgres(postgres_queue(pool, beat)),
        }
    }
}

impl Timers for StoreTimers {
    fn schedule(&self, job: Deliver, at: DateTime<Utc>) -> BoxFuture<'_, Result<(), OutboxError>> {
        let seconds = u64::try_from(at.timestamp()).unwrap_or(0);
        let task = TaskBuilder::new(job).run_at_timestamp(seconds).build();
        // The same push on either storage (two types, one shape).
        macro_rules! push {
            ($storage:expr) => {{
                let mut storage = $storage.clone();
                Box::pin(async move {
                    storage
                        .push_task(task)
                        .await
                        .map_err(|error| OutboxError::Jobs(Box::new(error)))
                })
            }};
        }
        match self {
            Self::Sqlite(storage) => push!(storage),
            Self::Postgres(storage) => push!(storage),
        }
    }
}
