//! Nabd's own database (SQLite through sqlx): connecting, creating it when missing, and applying
//! the migrations in `migrations/` at start.

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The migrations of the app database, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Opening or migrating the app database failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL could not be parsed or the database could not be opened.
    #[error("cannot open the app database {url}")]
    Open {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// The database folder could not be created.
    #[error("cannot create the folder {path} for the app database")]
    Folder {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A migration failed.
    #[error("cannot apply the app database's migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Opens the app database at `url`, creating the file (and its folder) when missing, and
/// applies pending migrations.
pub async fn open(url: &str) -> Result<SqlitePool, StoreError> {
    let open_error = |source| StoreError::Open {
        url: url.to_owned(),
        source,
    };
    let options = SqliteConnectOptions::from_str(url)
        .map_err(open_error)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    if let Some(folder) = options.get_filename().parent()
        && !folder.as_os_str().is_empty()
    {
        std::fs::create_dir_all(folder).map_err(|source| StoreError::Folder {
            path: folder.display().to_string(),
            source,
        })?;
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(open_error)?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// Checks that the app database answers a query.
pub async fn ping(pool: &SqlitePool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(|_| ())
}
