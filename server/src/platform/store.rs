//! Nabd's own database: SQLite (the embedded default, a file beside the binary) or PostgreSQL
//! (`NABD_DATABASE_URL=postgres://...`, shared by any number of `nabd serve` processes).
//!
//! The backend is an enum over the two sqlx pools, [`Db`]. A query is written once where the
//! dialects agree (sqlx binds `$1..$N` on both drivers) and run through the [`db!`] or
//! [`conn!`] macro, which expands the same query builder once per driver, so each is checked
//! against its own driver's types. Where the dialects differ, [`Db::backend`] picks between two
//! statements. Each backend has its own migrations folder, `migrations/sqlite` and
//! `migrations/postgres`, with the same numbered steps. sqlx's `Any` driver is not used: it
//! would hide the type differences (a PostgreSQL `integer` is not an `i64`) until run time.
//!
//! [`db!`]: crate::db
//! [`conn!`]: crate::conn

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};
use std::str::FromStr;
use std::time::Duration;

/// The SQLite migrations of the app database, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
/// The PostgreSQL migrations: the same numbered steps in PostgreSQL's dialect.
pub static PG_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database engine holds the app database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `postgres://` or `postgresql://` for PostgreSQL,
    /// anything else for SQLite.
    pub fn of_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres
        } else {
            Self::Sqlite
        }
    }

    /// The backend's name, as logs and `/readyz` show it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The app database: a pool of one backend or the other.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A transaction on the app database.
pub enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// One connection of the app database, borrowed (from a transaction, usually).
pub enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

/// Runs a sqlx query builder on a [`Db`]: `db!(&db, fetch_one, sqlx::query_scalar("..."))`.
/// The builder is expanded once per backend, so its binds and results are checked against
/// both drivers. `execute` answers the number of rows affected (the one thing both drivers'
/// results share).
#[macro_export]
macro_rules! db {
    ($db:expr, execute, $query:expr) => {
        match $db {
            $crate::platform::store::Db::Sqlite(pool) => {
                $query.execute(pool).await.map(|done| done.rows_affected())
            }
            $crate::platform::store::Db::Postgres(pool) => {
                $query.execute(pool).await.map(|done| done.rows_affected())
            }
        }
    };
    ($db:expr, $run:ident, $query:expr) => {
        match $db {
            $crate::platform::store::Db::Sqlite(pool) => $query.$run(pool).await,
            $crate::platform::store::Db::Postgres(pool) => $query.$run(pool).await,
        }
    };
}

/// Runs a sqlx query builder on a transaction or a connection: `conn!(tx, execute, ...)`.
#[macro_export]
macro_rules! conn {
    ($conn:expr, execute, $query:expr) => {
        match $conn.conn() {
            $crate::platform::store::Conn::Sqlite(connection) => $query
                .execute(connection)
                .await
                .map(|done| done.rows_affected()),
            $crate::platform::store::Conn::Postgres(connection) => $query
                .execute(connection)
                .await
                .map(|done| done.rows_affected()),
        }
    };
    ($conn:expr, $run:ident, $query:expr) => {
        match $conn.conn() {
            $crate::platform::store::Conn::Sqlite(connection) => $query.$run(connection).await,
            $crate::platform::store::Conn::Postgres(connection) => $query.$run(connection).await,
        }
    };
}

/// A statement whose `IN` list is the JSON array bound as `$1`: SQLite reads it with
/// `json_each`, PostgreSQL with `json_array_elements_text` (cast to `BIGINT` for `ids`).
/// `sql_in_json!(db, text, "SELECT ... WHERE mobile IN ", " AND ...")`.
#[macro_export]
macro_rules! sql_in_json {
    ($db:expr, text, $before:literal, $after:literal) => {
        $db.pick(
            concat!($before, "(SELECT value FROM json_each($1))", $after),
            concat!(
                $before,
                "(SELECT json_array_elements_text(CAST($1 AS JSON)))",
                $after
            ),
        )
    };
    ($db:expr, ids, $before:literal, $after:literal) => {
        $db.pick(
            concat!($before, "(SELECT value FROM json_each($1))", $after),
            concat!(
                $before,
                "(SELECT CAST(json_array_elements_text(CAST($1 AS JSON)) AS BIGINT))",
                $after
            ),
        )
    };
}

impl Db {
    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Picks the statement for this backend, where the dialects differ.
    pub fn pick(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self.backend() {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// Begins a transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Begins a transaction that writes from its first statement: SQLite takes its write lock
    /// at once (`BEGIN IMMEDIATE`), so a read-then-write inside it cannot interleave with
    /// another writer's. PostgreSQL callers take the row or advisory lock they need.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Closes the pool's connections.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

impl Tx {
    /// The transaction's connection.
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(tx) => Conn::Sqlite(tx),
            Self::Postgres(tx) => Conn::Postgres(tx),
        }
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }

    /// Takes PostgreSQL's transaction-scoped advisory lock named by `key` (two keys, so that
    /// each lock family has its own space); a no-op on SQLite, whose write transaction already
    /// excludes every other writer.
    pub async fn lock(&mut self, family: i32, key: &str) -> Result<(), sqlx::Error> {
        if let Self::Postgres(tx) = self {
            // language=SQL
            sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                .bind(family)
                .bind(key)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }
}

impl Conn<'_> {
    /// Reborrows the connection (so that `conn!` takes a `Conn` as it takes a [`Tx`]).
    pub fn conn(&mut self) -> Conn<'_> {
        match self {
            Self::Sqlite(connection) => Conn::Sqlite(connection),
            Self::Postgres(connection) => Conn::Postgres(connection),
        }
    }
}

/// Advisory lock families ([`Tx::lock`]).
pub mod locks {
    /// One recipient's daily contact budget: check and claim as one step.
    pub const BUDGET: i32 = 1;
    /// The sign-in limiter's counts.
    pub const SIGN_IN: i32 = 2;
    /// A cron job's claim of a tick.
    pub const CRON: i32 = 3;
}

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

/// Shows a database URL without its password (`postgres://nabd:***@host/db`).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

/// Opens the app database at `url` (SQLite: creating the file and its folder when missing)
/// and applies pending migrations.
pub async fn open(url: &str) -> Result<Db, StoreError> {
    let db = connect(url).await?;
    migrate(&db).await?;
    Ok(db)
}

/// Applies the pending migrations of `db`'s backend.
pub async fn migrate(db: &Db) -> Result<(), StoreError> {
    match db {
        Db::Sqlite(pool) => MIGRATOR.run(pool).await?,
        Db::Postgres(pool) => PG_MIGRATOR.run(pool).await?,
    }
    Ok(())
}

/// Connects to the app database at `url` without migrating it.
pub async fn connect(url: &str) -> Result<Db, StoreError> {
    let open_error = |source| StoreError::Open {
        url: redact(url),
        source,
    };
    if Backend::of_url(url) == Backend::Postgres {
        let options = PgConnectOptions::from_str(url).map_err(open_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(open_error)?;
        return Ok(Db::Postgres(pool));
    }
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
    Ok(Db::Sqlite(pool))
}

/// Moves PostgreSQL's identity sequences past the ids already in their tables, after rows were
/// written with explicit ids (a copy from SQLite, a test's fixture); a no-op on SQLite, whose
/// next id is always the largest plus one.
pub async fn resync_ids(db: &Db) -> Result<(), sqlx::Error> {
    if let Db::Postgres(pool) = db {
        // language=SQL
        sqlx::raw_sql(
            "DO $$
             DECLARE t record;
             BEGIN
               FOR t IN SELECT c.table_name, c.column_name FROM information_schema.columns c
                        WHERE c.table_schema = current_schema() AND c.is_identity = 'YES' LOOP
                 EXECUTE format(
                   'SELECT setval(pg_get_serial_sequence(%L, %L), '
                   'COALESCE((SELECT MAX(%I) FROM %I), 0) + 1, false)',
                   t.table_name, t.column_name, t.column_name, t.table_name);
               END LOOP;
             END $$;",
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Checks that the app database answers a query.
pub async fn ping(db: &Db) -> Result<(), sqlx::Error> {
    // language=SQL
    crate::db!(db, execute, sqlx::query("SELECT 1")).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_numbered_migration_steps() {
        let steps = |migrator: &sqlx::migrate::Migrator| -> Vec<(i64, String)> {
            migrator
                .iter()
                .map(|m| (m.version, m.description.to_string()))
                .collect()
        };
        assert_eq!(steps(&MIGRATOR), steps(&PG_MIGRATOR));
        assert!(steps(&MIGRATOR).len() >= 9);
    }

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(
            redact("postgres://nabd:s3cret@db.clinic.lan:5432/nabd"),
            "postgres://nabd:***@db.clinic.lan:5432/nabd"
        );
        assert_eq!(redact("postgres://nabd@db/nabd"), "postgres://nabd@db/nabd");
        assert_eq!(redact("sqlite://data/nabd.db"), "sqlite://data/nabd.db");
        assert_eq!(Backend::of_url("postgresql://x/y"), Backend::Postgres);
        assert_eq!(Backend::of_url("sqlite://data/nabd.db"), Backend::Sqlite);
    }
}
