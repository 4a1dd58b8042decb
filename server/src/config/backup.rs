//! The scheduled backup's settings. Flattened into [`crate::config::Config`].

use super::values::{Schedule, parse_cron};
use clap::Args;
use std::path::PathBuf;

/// When and where `nabd serve` backs up its SQLite app database by itself.
#[derive(Debug, Clone, Args)]
pub struct BackupConfig {
    /// Folder for the daily backup of the app database (`nabd-YYYYMMDD-HHMMSS.db`, a consistent
    /// copy taken while Nabd runs). Unset: no scheduled backup (`nabd backup` still works).
    /// SQLite only: back up a PostgreSQL app database with `pg_dump`.
    #[arg(long, env = "NABD_BACKUP_DIR", global = true)]
    pub backup_dir: Option<PathBuf>,

    /// How many scheduled backups are kept in `NABD_BACKUP_DIR`; older ones are deleted after
    /// each new one.
    #[arg(long, env = "NABD_BACKUP_KEEP", global = true, default_value_t = 7,
          value_parser = clap::value_parser!(u32).range(1..=365))]
    pub backup_keep: u32,

    /// When the scheduled backup runs (cron with seconds, in the clinic's time zone).
    #[arg(long, env = "NABD_SCHEDULE_BACKUP", global = true, default_value = "0 30 2 * * *",
          value_parser = parse_cron)]
    pub schedule_backup: Schedule,
}
