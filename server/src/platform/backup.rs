//! Backups of the app database and restores from them (`nabd backup`, `nabd restore`, and the
//! daily backup `nabd serve` takes when `NABD_BACKUP_DIR` is set).
//!
//! A backup is SQLite's `VACUUM INTO`: one consistent file, taken while Nabd keeps running
//! (readers and writers carry on; the copy is the database as of one transaction). A PostgreSQL
//! app database is backed up with `pg_dump`, the tool its administrators already trust.
//!
//! A restore must not send anything twice. A message that was `queued` or `sending` when the
//! backup was taken may have gone out after it, so the restore marks it `uncertain`, for an
//! admin to decide in the message log (`--resume` keeps the queued ones queued, for a restore
//! the admin knows is safe, such as one taken with Nabd stopped). A restore refuses while a
//! Nabd process is live on the target, and refuses a target whose latest activity (outbox or
//! audit log) is newer than the backup's unless forced: that activity would be lost.

use crate::platform::instance;
use crate::platform::store::{self, Db, MIGRATOR};
use crate::platform::time::{parse_stamp, stamp};
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "the app database is PostgreSQL: back it up with pg_dump (for example \
         `pg_dump --format=custom --file=nabd.dump \"$NABD_DATABASE_URL\"`); nabd backup copies \
         SQLite databases"
    )]
    Postgres,
    #[error("{0} already exists; a backup never overwrites a file")]
    Exists(String),
    #[error("cannot write the backup {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the app database could not be copied: {0}")]
    Database(#[from] sqlx::Error),
}

/// A backup that was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    pub path: PathBuf,
    pub bytes: u64,
    /// The newest outbox change or audit entry it holds (stored form), if any.
    pub latest_activity: Option<String>,
}

/// Writes a consistent copy of the SQLite app database `db` to `out`, which must not exist.
/// The copy is written beside `out` under a temporary name and renamed when complete, so a
/// file named like a backup is always a whole one.
pub async fn backup(db: &Db, out: &Path) -> Result<Made, BackupError> {
    let Db::Sqlite(pool) = db else {
        return Err(BackupError::Postgres);
    };
    if out.exists() {
        return Err(BackupError::Exists(out.display().to_string()));
    }
    let io = |source| BackupError::Io {
        path: out.display().to_string(),
        source,
    };
    if let Some(folder) = out.parent().filter(|folder| !folder.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(io)?;
    }
    let partial = partial_name(out);
    // A partial file from an interrupted run is nobody's backup.
    let _ = std::fs::remove_file(&partial);
    // language=SQL
    let copied = sqlx::query("VACUUM INTO $1")
        .bind(partial.display().to_string())
        .execute(pool)
        .await;
    if let Err(error) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(error.into());
    }
    std::fs::rename(&partial, out).map_err(io)?;
    let bytes = std::fs::metadata(out).map_err(io)?.len();
    Ok(Made {
        path: out.to_owned(),
        bytes,
        latest_activity: latest_activity(db).await?,
    })
}

fn partial_name(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "backup".to_owned());
    out.with_file_name(format!(".{name}.partial"))
}

/// The name of a scheduled backup taken at the clinic-local time `local`.
pub fn scheduled_name(local: chrono::NaiveDateTime) -> String {
    format!("nabd-{}.db", local.format("%Y%m%d-%H%M%S"))
}

/// Tells whether `name` is one of the scheduled backups' names (the only files pruned).
fn is_scheduled_name(name: &str) -> bool {
    let Some(stamp) = name
        .strip_prefix("nabd-")
        .and_then(|rest| rest.strip_suffix(".db"))
    else {
        return false;
    };
    stamp.len() == 15
        && stamp.char_indices().all(|(index, c)| {
            if index == 8 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}

/// Takes the scheduled backup into `dir` and deletes the oldest scheduled backups there beyond
/// `keep`; other files in the folder are never touched. Returns the new backup and how many
/// old ones were deleted.
pub async fn scheduled(
    db: &Db,
    dir: &Path,
    keep: u32,
    local: chrono::NaiveDateTime,
) -> Result<(Made, usize), BackupError> {
    let made = backup(db, &dir.join(scheduled_name(local))).await?;
    let io = |source| BackupError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| is_scheduled_name(name))
        .collect();
    // The names sort by the time they were taken.
    names.sort();
    let excess = names.len().saturating_sub(keep as usize);
    let mut deleted = 0;
    for name in names.iter().take(excess) {
        match std::fs::remove_file(dir.join(name)) {
            Ok(()) => deleted += 1,
            Err(error) => tracing::warn!(%error, file = name, "an old backup was not deleted"),
        }
    }
    Ok((made, deleted))
}

/// The newest outbox change or audit entry of `db` (stored form), if any.
pub async fn latest_activity(db: &Db) -> Result<Option<String>, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        fetch_one,
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT MAX(at) FROM (
                 SELECT MAX(updated_at) AS at FROM outbox
                 UNION ALL SELECT MAX(at) AS at FROM audit_log
             ) AS activity"
        )
    )
}

/// Why a restore did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    #[error(
        "the app database is PostgreSQL: restore it with pg_restore, then run \
         `nabd restore --in-place` so that nothing queued in the dump is sent twice"
    )]
    Postgres,
    #[error("{path} is not a Nabd backup ({reason})")]
    NotABackup { path: String, reason: String },
    #[error(
        "the backup was made by a newer Nabd (its database is at migration {backup}, this \
         program knows up to {known}); restore it with that version"
    )]
    Newer { backup: i64, known: i64 },
    #[error(
        "a Nabd process is running on the target database (instance {id} on {host}, last \
         heartbeat {heartbeat_at}); stop it first"
    )]
    TargetLive {
        id: String,
        host: String,
        heartbeat_at: String,
    },
    #[error(
        "the target database has activity newer than the backup's (target {target}, backup \
         {backup}); restoring loses it. Pass --force to restore anyway"
    )]
    TargetNewer { target: String, backup: String },
    #[error(transparent)]
    Open(#[from] store::StoreError),
    #[error("cannot replace {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the database could not be read or written: {0}")]
    Database(#[from] sqlx::Error),
}

/// How a restore goes.
#[derive(Debug, Clone, Copy)]
pub struct RestoreOptions {
    /// Restore over a target with newer activity.
    pub force: bool,
    /// Keep the backup's queued messages queued (sending ones still become uncertain).
    pub resume: bool,
    /// The heartbeat interval of the processes that use the target (`NABD_HEARTBEAT_SECS`).
    pub heartbeat: Duration,
    pub now: DateTime<Utc>,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Messages queued or sending in the backup, now `uncertain` for an admin to decide.
    pub uncertain: u64,
    /// Messages left queued (`--resume`).
    pub kept_queued: u64,
    /// The backup's newest activity (stored form), if any.
    pub backup_activity: Option<String>,
}

/// Restores the backup `from` over the SQLite app database at `target_url` (created when
/// missing), after checking that no Nabd runs on it and that it holds nothing newer. The
/// restored database's unfinished messages are marked (see the module's notes) before it
/// takes the target's place, so no process can ever see it unmarked.
pub async fn restore(
    from: &Path,
    target_url: &str,
    options: RestoreOptions,
) -> Result<Restored, RestoreError> {
    if store::Backend::of_url(target_url) == store::Backend::Postgres {
        return Err(RestoreError::Postgres);
    }
    let target = SqliteConnectOptions::from_str(target_url)
        .map_err(|source| store::StoreError::Open {
            url: store::redact(target_url),
            source,
        })?
        .get_filename()
        .to_owned();
    let backup_activity = inspect_backup(from).await?;
    if target.exists() {
        let current = store::connect(target_url).await?;
        let checked = check_target(&current, &backup_activity, options).await;
        current.close().await;
        checked?;
    }
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| RestoreError::Io { path, source }
    };
    let staging = partial_name(&target).with_extension("restoring");
    if let Some(folder) = target
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        std::fs::create_dir_all(folder).map_err(io(folder))?;
    }
    std::fs::copy(from, &staging).map_err(io(&staging))?;
    let marked = async {
        let db = Db::Sqlite(
            SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(
                    SqliteConnectOptions::new()
                        .filename(&staging)
                        .journal_mode(SqliteJournalMode::Delete),
                )
                .await?,
        );
        let marked = mark_restored(&db, options.resume, options.now, &backup_activity).await;
        db.close().await;
        marked
    }
    .await;
    let (uncertain, kept_queued) = match marked {
        Ok(marked) => marked,
        Err(error) => {
            let _ = std::fs::remove_file(&staging);
            return Err(error.into());
        }
    };
    // The old database's write-ahead log belongs to the old file: it must not be replayed
    // into the restored one.
    for suffix in ["-wal", "-shm"] {
        let mut side = target.clone().into_os_string();
        side.push(suffix);
        let side = PathBuf::from(side);
        if side.exists() {
            std::fs::remove_file(&side).map_err(io(&side))?;
        }
    }
    std::fs::rename(&staging, &target).map_err(io(&target))?;
    Ok(Restored {
        uncertain,
        kept_queued,
        backup_activity,
    })
}

/// Marks the unfinished messages of a database that was just restored by other means
/// (`pg_restore`, a copied file) as [`restore`] does, after the same check that no Nabd runs
/// on it. Returns (marked uncertain, kept queued).
pub async fn restore_in_place(db: &Db, options: RestoreOptions) -> Result<Restored, RestoreError> {
    refuse_live(db, options).await?;
    let backup_activity = latest_activity(db).await?;
    let (uncertain, kept_queued) =
        mark_restored(db, options.resume, options.now, &backup_activity).await?;
    Ok(Restored {
        uncertain,
        kept_queued,
        backup_activity,
    })
}

/// Refuses when a Nabd process's heartbeat is fresh on `db`.
async fn refuse_live(db: &Db, options: RestoreOptions) -> Result<(), RestoreError> {
    match instance::live(db, options.now, options.heartbeat)
        .await?
        .into_iter()
        .next()
    {
        Some(live) => Err(RestoreError::TargetLive {
            id: live.id,
            host: live.host,
            heartbeat_at: live.heartbeat_at,
        }),
        None => Ok(()),
    }
}

/// Checks that `from` is a Nabd app database this program can run, and returns its newest
/// activity.
async fn inspect_backup(from: &Path) -> Result<Option<String>, RestoreError> {
    let not_a_backup = |reason: String| RestoreError::NotABackup {
        path: from.display().to_string(),
        reason,
    };
    if !from.is_file() {
        return Err(not_a_backup("no such file".to_owned()));
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(from)
                .read_only(true)
                .create_if_missing(false),
        )
        .await
        .map_err(|error| not_a_backup(error.to_string()))?;
    let inspected = async {
        // language=SQL
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'
               AND name IN ('_sqlx_migrations', 'outbox', 'audit_log')",
        )
        .fetch_one(&pool)
        .await
        .map_err(|error| not_a_backup(error.to_string()))?;
        if tables != 3 {
            return Err(not_a_backup(
                "it has no outbox, audit log or migrations table".to_owned(),
            ));
        }
        // language=SQL
        let version: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&pool)
            .await?;
        let known = MIGRATOR
            .iter()
            .map(|migration| migration.version)
            .max()
            .unwrap_or_default();
        if let Some(version) = version.filter(|version| *version > known) {
            return Err(RestoreError::Newer {
                backup: version,
                known,
            });
        }
        Ok(latest_activity(&Db::Sqlite(pool.clone())).await?)
    }
    .await;
    pool.close().await;
    inspected
}

async fn check_target(
    db: &Db,
    backup_activity: &Option<String>,
    options: RestoreOptions,
) -> Result<(), RestoreError> {
    let Db::Sqlite(pool) = db else {
        return Err(RestoreError::Postgres);
    };
    // language=SQL
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table'
           AND name IN ('instances', 'outbox', 'audit_log')",
    )
    .fetch_all(pool)
    .await?;
    let has = |table: &str| tables.iter().any(|name| name == table);
    if has("instances") {
        refuse_live(db, options).await?;
    }
    // A file without Nabd's tables holds no activity to lose.
    if options.force || !(has("outbox") && has("audit_log")) {
        return Ok(());
    }
    let target = latest_activity(db).await?;
    let newer = match (&target, backup_activity) {
        (Some(target), Some(backup)) => match (parse_stamp(target), parse_stamp(backup)) {
            (Some(target), Some(backup)) => target > backup,
            _ => target > backup,
        },
        (Some(_), None) => true,
        (None, _) => false,
    };
    if newer {
        return Err(RestoreError::TargetNewer {
            target: target.unwrap_or_default(),
            backup: backup_activity.clone().unwrap_or_else(|| "none".to_owned()),
        });
    }
    Ok(())
}

/// Marks a restored database's unfinished messages `uncertain` (with `resume`, only those
/// that were `sending`) and records the restore in the audit log.
async fn mark_restored(
    db: &Db,
    resume: bool,
    now: DateTime<Utc>,
    backup_activity: &Option<String>,
) -> Result<(u64, u64), sqlx::Error> {
    let as_of = backup_activity.as_deref().unwrap_or("an unknown time");
    let why = format!(
        "restored from a backup (activity up to {as_of}): it may have gone out after the \
         backup was taken"
    );
    let mut tx = db.begin_write().await?;
    let uncertain = if resume {
        // language=SQL
        crate::conn!(
            tx,
            execute,
            sqlx::query(
                "UPDATE outbox SET state = 'uncertain', error = $1, updated_at = $2
                 WHERE state = 'sending'"
            )
            .bind(&why)
            .bind(stamp(now))
        )?
    } else {
        // language=SQL
        crate::conn!(
            tx,
            execute,
            sqlx::query(
                "UPDATE outbox SET state = 'uncertain', error = $1, updated_at = $2
                 WHERE state IN ('queued', 'sending')"
            )
            .bind(&why)
            .bind(stamp(now))
        )?
    };
    // language=SQL
    let kept_queued: i64 = crate::conn!(
        tx,
        fetch_one,
        sqlx::query_scalar::<_, i64>(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox WHERE state = 'queued'"
        )
    )?;
    let detail = format!(
        "backup activity up to {as_of}; {uncertain} unfinished messages marked uncertain, \
         {kept_queued} kept queued"
    );
    // language=SQL
    crate::conn!(
        tx,
        execute,
        sqlx::query(
            "INSERT INTO audit_log (at, user_id, username, action, detail)
             VALUES ($1, NULL, 'system', 'restore', $2)"
        )
        .bind(stamp(now))
        .bind(&detail)
    )?;
    tx.commit().await?;
    Ok((uncertain, kept_queued as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scheduled_backup_names_are_pruned() {
        let taken = chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|day| day.and_hms_opt(2, 30, 0))
            .expect("valid");
        let name = scheduled_name(taken);
        assert_eq!(name, "nabd-20260105-023000.db");
        assert!(is_scheduled_name(&name));
        assert!(!is_scheduled_name("nabd.db"));
        assert!(!is_scheduled_name("nabd-before-upgrade.db"));
        assert!(!is_scheduled_name("nabd-20260105-023000.db.partial"));
        assert!(!is_scheduled_name(".nabd-20260105-023000.db.partial"));
    }

    #[test]
    fn a_partial_backup_has_a_hidden_name_beside_the_backup() {
        assert_eq!(
            partial_name(Path::new("/var/lib/nabd/backups/x.db")),
            PathBuf::from("/var/lib/nabd/backups/.x.db.partial")
        );
    }
}
