//! `nabd db copy`: moves an installation's app database to another backend (SQLite to
//! PostgreSQL, usually) with every table the migrations have created, row for row and id for
//! id. Queued messages keep their idempotency keys and ids, so nothing is sent twice after the
//! move, and their timers are found again by the outbox sweep.
//!
//! It refuses while a Nabd process is live on the source (its heartbeat), and refuses a target
//! that already holds data unless told to replace it. It verifies every table's row count.

use crate::platform::instance;
use crate::platform::store::{self, Backend, Db};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Why a copy did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Open(#[from] store::StoreError),
    #[error("the database could not be read or written")]
    Database(#[from] sqlx::Error),
    #[error(
        "a Nabd process is running on the source database (instance {id} on {host}, last \
         heartbeat {heartbeat_at}); stop every `nabd serve` first"
    )]
    SourceLive {
        id: String,
        host: String,
        heartbeat_at: String,
    },
    #[error("the target database already holds data ({0}); pass --replace to empty it first")]
    TargetNotEmpty(String),
    #[error("table {table}: {source_rows} rows in the source but {target_rows} in the target")]
    Mismatch {
        table: String,
        source_rows: i64,
        target_rows: i64,
    },
    #[error("table {table} column {column} has a type the copy does not know: {kind}")]
    UnknownType {
        table: String,
        column: String,
        kind: String,
    },
}

/// One table copied: its name and row count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub table: String,
    pub rows: i64,
}

/// What a column holds, as both backends spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Real,
    Text,
}

fn kind_of(declared: &str) -> Option<Kind> {
    let declared = declared.to_ascii_lowercase();
    if declared.contains("int") {
        Some(Kind::Integer)
    } else if declared.contains("real") || declared.contains("double") || declared == "numeric" {
        Some(Kind::Real)
    } else if declared.contains("text") || declared.contains("char") {
        Some(Kind::Text)
    } else {
        None
    }
}

/// A value on its way from one database to the other.
#[derive(Debug, Clone)]
enum Value {
    Integer(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
}

/// A table: its columns (name, kind) and the tables its foreign keys point at.
#[derive(Debug, Clone)]
struct Table {
    name: String,
    columns: Vec<(String, Kind)>,
    parents: BTreeSet<String>,
}

fn quoted(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

/// The app tables of `db` (not the migrations' bookkeeping), parents before children.
async fn tables(db: &Db) -> Result<Vec<Table>, CopyError> {
    let mut found: BTreeMap<String, Table> = BTreeMap::new();
    match db {
        Db::Sqlite(pool) => {
            // language=SQL
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table'
                   AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
            )
            .fetch_all(pool)
            .await?;
            for name in names {
                // language=SQL
                let columns: Vec<(String, String)> =
                    sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                        .bind(&name)
                        .fetch_all(pool)
                        .await?;
                // language=SQL
                let parents: Vec<String> =
                    sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list($1)")
                        .bind(&name)
                        .fetch_all(pool)
                        .await?;
                let table = table(&name, columns, parents)?;
                found.insert(name, table);
            }
        }
        Db::Postgres(pool) => {
            // language=SQL
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                   AND table_name <> '_sqlx_migrations' ORDER BY table_name",
            )
            .fetch_all(pool)
            .await?;
            for name in names {
                // language=SQL
                let columns: Vec<(String, String)> = sqlx::query_as(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns
                     WHERE table_schema = current_schema() AND table_name = $1
                     ORDER BY ordinal_position",
                )
                .bind(&name)
                .fetch_all(pool)
                .await?;
                // language=SQL
                let parents: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT ccu.table_name::text
                     FROM information_schema.table_constraints tc
                     JOIN information_schema.constraint_column_usage ccu
                       ON ccu.constraint_name = tc.constraint_name
                      AND ccu.constraint_schema = tc.constraint_schema
                     WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_name = $1
                       AND tc.table_schema = current_schema()",
                )
                .bind(&name)
                .fetch_all(pool)
                .await?;
                let table = table(&name, columns, parents)?;
                found.insert(name, table);
            }
        }
    }
    // Parents first: a table goes once every table it points at has gone.
    let mut ordered = Vec::with_capacity(found.len());
    let mut placed = BTreeSet::new();
    while !found.is_empty() {
        let ready: Vec<String> = found
            .values()
            .filter(|t| {
                t.parents
                    .iter()
                    .all(|p| placed.contains(p) || p == &t.name || !found.contains_key(p))
            })
            .map(|t| t.name.clone())
            .collect();
        // A cycle would leave nothing ready: take the rest as they are.
        let ready = if ready.is_empty() {
            found.keys().cloned().collect()
        } else {
            ready
        };
        for name in ready {
            if let Some(table) = found.remove(&name) {
                placed.insert(name);
                ordered.push(table);
            }
        }
    }
    Ok(ordered)
}

fn table(
    name: &str,
    columns: Vec<(String, String)>,
    parents: Vec<String>,
) -> Result<Table, CopyError> {
    let columns = columns
        .into_iter()
        .map(|(column, declared)| match kind_of(&declared) {
            Some(kind) => Ok((column, kind)),
            None => Err(CopyError::UnknownType {
                table: name.to_owned(),
                column,
                kind: declared,
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Table {
        name: name.to_owned(),
        columns,
        parents: parents.into_iter().collect(),
    })
}

async fn count(db: &Db, table: &str) -> Result<i64, sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quoted(table)));
    crate::db!(db, fetch_one, sqlx::query_scalar(sql))
}

/// Reads every row of `table` (the columns `columns`, in order).
async fn read(
    db: &Db,
    table: &str,
    columns: &[(String, Kind)],
) -> Result<Vec<Vec<Value>>, sqlx::Error> {
    let list: Vec<String> = columns.iter().map(|(c, _)| quoted(c)).collect();
    let sql = format!("SELECT {} FROM {}", list.join(", "), quoted(table));
    macro_rules! rows {
        ($rows:expr) => {
            $rows
                .iter()
                .map(|row| {
                    columns
                        .iter()
                        .enumerate()
                        .map(|(index, (_, kind))| {
                            Ok(match kind {
                                Kind::Integer => Value::Integer(row.try_get(index)?),
                                Kind::Real => Value::Real(row.try_get(index)?),
                                Kind::Text => Value::Text(row.try_get(index)?),
                            })
                        })
                        .collect::<Result<Vec<_>, sqlx::Error>>()
                })
                .collect()
        };
    }
    match db {
        Db::Sqlite(pool) => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?;
            rows!(rows)
        }
        Db::Postgres(pool) => {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await?;
            rows!(rows)
        }
    }
}

/// Writes `rows` into `table` in one transaction, a few hundred rows a statement.
async fn write(
    db: &Db,
    table: &str,
    columns: &[(String, Kind)],
    rows: Vec<Vec<Value>>,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() || columns.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = columns.iter().map(|(c, _)| quoted(c)).collect();
    // Under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
    let per_statement = (30_000 / columns.len()).clamp(1, 500);
    let mut tx = db.begin().await?;
    for chunk in rows.chunks(per_statement) {
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            quoted(table),
            list.join(", ")
        );
        let mut n = 0;
        for (index, _) in chunk.iter().enumerate() {
            if index > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for column in 0..columns.len() {
                if column > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                sql.push_str(&format!("${n}"));
            }
            sql.push(')');
        }
        macro_rules! bound {
            ($query:expr) => {{
                let mut query = $query;
                for row in chunk {
                    for value in row {
                        query = match value {
                            Value::Integer(v) => query.bind(*v),
                            Value::Real(v) => query.bind(*v),
                            Value::Text(v) => query.bind(v.clone()),
                        };
                    }
                }
                query
            }};
        }
        crate::conn!(
            tx,
            execute,
            bound!(sqlx::query(sqlx::AssertSqlSafe(sql.clone())))
        )?;
    }
    tx.commit().await
}

/// Empties every table of `db` (children first).
async fn empty(db: &Db, tables: &[Table]) -> Result<(), sqlx::Error> {
    for table in tables.iter().rev() {
        let sql = sqlx::AssertSqlSafe(format!("DELETE FROM {}", quoted(&table.name)));
        crate::db!(db, execute, sqlx::query(sql))?;
    }
    Ok(())
}

/// Copies every app table of the database at `from` into the one at `to` (both migrated to
/// this build's schema first) and verifies the row counts. `replace` empties a target that
/// holds data; without it such a target is refused.
pub async fn copy(
    from: &str,
    to: &str,
    replace: bool,
    heartbeat: Duration,
    now: DateTime<Utc>,
) -> Result<Vec<Copied>, CopyError> {
    let source = store::open(from).await?;
    if let Some(live) = instance::live(&source, now, heartbeat)
        .await?
        .into_iter()
        .next()
    {
        return Err(CopyError::SourceLive {
            id: live.id,
            host: live.host,
            heartbeat_at: live.heartbeat_at,
        });
    }
    let target = store::open(to).await?;
    let source_tables = tables(&source).await?;
    let target_tables = tables(&target).await?;
    let mut held = Vec::new();
    for table in &target_tables {
        let rows = count(&target, &table.name).await?;
        if rows > 0 {
            held.push(format!("{} rows in {}", rows, table.name));
        }
    }
    if !held.is_empty() {
        if !replace {
            return Err(CopyError::TargetNotEmpty(held.join(", ")));
        }
        empty(&target, &target_tables).await?;
    }
    let target_columns: BTreeMap<&str, &Table> =
        target_tables.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut copied = Vec::new();
    for table in &source_tables {
        let Some(into) = target_columns.get(table.name.as_str()) else {
            continue;
        };
        // The columns both have, read as the target keeps them.
        let columns: Vec<(String, Kind)> = into
            .columns
            .iter()
            .filter(|(column, _)| table.columns.iter().any(|(c, _)| c == column))
            .cloned()
            .collect();
        let rows = read(&source, &table.name, &columns).await?;
        write(&target, &table.name, &columns, rows).await?;
        let (source_rows, target_rows) = (
            count(&source, &table.name).await?,
            count(&target, &table.name).await?,
        );
        if source_rows != target_rows {
            return Err(CopyError::Mismatch {
                table: table.name.clone(),
                source_rows,
                target_rows,
            });
        }
        copied.push(Copied {
            table: table.name.clone(),
            rows: target_rows,
        });
    }
    store::resync_ids(&target).await?;
    tracing::info!(
        from = %store::redact(from),
        to = %store::redact(to),
        backend = Backend::of_url(to).name(),
        tables = copied.len(),
        "app database copied"
    );
    source.close().await;
    target.close().await;
    Ok(copied)
}
