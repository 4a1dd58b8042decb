//! Whether a clinic database fits the clinic data contract (design notes §2), before it is
//! used: each table and column with a usable type, the indexes the queries lean on, that the
//! login cannot write, and how much data there is and how new.
//!
//! The adapters gather [`Facts`] (each dialect's catalog queries beside its other queries);
//! [`judge`] turns them into [`Finding`]s, a pure function tested without a database.

/// What a contract column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// A whole number (ids, status codes).
    Whole,
    Text,
    /// A calendar date (`app_dt`).
    Date,
    /// A date and time (`trans_dt`, `inv_dt`, `rcpt_dt`).
    DateTime,
    /// A time of day (`from_tm`, `to_tm`).
    Time,
    Money,
}

/// One column of the contract: its name, what it holds, and whether the contract allows it
/// to be empty.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub holds: Holds,
    pub may_be_null: bool,
}

const fn col(name: &'static str, holds: Holds, may_be_null: bool) -> Column {
    Column {
        name,
        holds,
        may_be_null,
    }
}

/// The clinic data contract: every table Nabd reads, with its columns.
pub const CONTRACT: [(&str, &[Column]); 5] = [
    (
        "doctor",
        &[
            col("id", Holds::Whole, false),
            col("name_a", Holds::Text, false),
            col("name_e", Holds::Text, true),
        ],
    ),
    (
        "patient",
        &[
            col("id", Holds::Whole, false),
            col("name_a", Holds::Text, false),
            col("name_e", Holds::Text, true),
            col("mobile", Holds::Text, true),
            col("trans_dt", Holds::DateTime, false),
        ],
    ),
    (
        "appointment",
        &[
            col("id", Holds::Whole, false),
            col("pt_id", Holds::Whole, false),
            col("pt_name", Holds::Text, false),
            col("mobile", Holds::Text, true),
            col("doc_id", Holds::Whole, false),
            col("doc_nm", Holds::Text, false),
            col("app_dt", Holds::Date, false),
            col("from_tm", Holds::Time, false),
            col("to_tm", Holds::Time, true),
            col("app_status", Holds::Whole, false),
            col("trans_dt", Holds::DateTime, false),
        ],
    ),
    (
        "invoice_h",
        &[
            col("id", Holds::Whole, false),
            col("inv_dt", Holds::DateTime, false),
            col("cash", Holds::Money, true),
            col("span", Holds::Money, true),
            col("pt_id", Holds::Whole, false),
            col("doc_id", Holds::Whole, false),
        ],
    ),
    (
        "receipts",
        &[
            col("id", Holds::Whole, false),
            col("rcpt_dt", Holds::DateTime, false),
            col("amount", Holds::Money, true),
            col("pt_id", Holds::Whole, false),
            col("doc_id", Holds::Whole, false),
        ],
    ),
];

/// The indexes the queries rely on: a table and the columns an index must start with.
pub const INDEXES: [(&str, &[&str], &str); 10] = [
    (
        "appointment",
        &["app_dt"],
        "the dashboard's and reminders' date ranges",
    ),
    ("appointment", &["pt_id"], "a patient's visits"),
    (
        "appointment",
        &["pt_id", "app_dt"],
        "the campaign's last visit and booked-ahead checks",
    ),
    ("appointment", &["doc_id"], "the doctor filter"),
    ("invoice_h", &["inv_dt"], "revenue by day"),
    ("invoice_h", &["pt_id"], "revenue per patient"),
    ("invoice_h", &["doc_id"], "revenue per doctor"),
    ("receipts", &["rcpt_dt"], "revenue by day"),
    ("receipts", &["pt_id"], "revenue per patient"),
    ("receipts", &["doc_id"], "revenue per doctor"),
];

/// The columns whose newest value tells how current the data is.
pub const NEWEST: [(&str, &str); 5] = [
    ("appointment", "app_dt"),
    ("appointment", "trans_dt"),
    ("patient", "trans_dt"),
    ("invoice_h", "inv_dt"),
    ("receipts", "rcpt_dt"),
];

/// Which database the facts come from (their type names differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    SqlServer,
}

/// A column as the database's catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundColumn {
    pub table: String,
    pub column: String,
    /// The declared type as the catalog spells it (`datetime`, `nvarchar`, `TEXT`).
    pub data_type: String,
    pub nullable: bool,
}

/// Whether the login may write the contract's tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Writes {
    /// The connection is read only by construction (the demo clinic's file opened read only).
    ReadOnlyConnection,
    /// The server said which tables the login may change (empty: none).
    Permitted(Vec<String>),
    /// The server could not answer the permission check.
    Unknown(String),
}

/// Everything read from the clinic database's catalog and tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub dialect: Dialect,
    pub columns: Vec<FoundColumn>,
    /// Tables (of the contract) that are views: their indexes are their base tables'.
    pub views: Vec<String>,
    /// Each index: its table and its key columns in order. `None`: the catalog could not be
    /// read.
    pub indexes: Option<Vec<(String, Vec<String>)>>,
    pub writes: Writes,
    /// Row count per table that exists.
    pub rows: Vec<(String, i64)>,
    /// Newest value of each [`NEWEST`] column that exists (as text), `None` when the table is
    /// empty.
    pub newest: Vec<(String, String, Option<String>)>,
}

/// How a finding reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    /// Worth knowing; nothing is wrong.
    Note,
    /// Works, but slowly or with a caveat.
    Warn,
    /// Something is wrong: figures or messages would be wrong, or nothing works.
    Fail,
    /// Could not be verified here.
    Untested,
}

/// One thing found about the clinic database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub subject: String,
    pub level: Level,
    pub detail: String,
}

fn finding(subject: impl Into<String>, level: Level, detail: impl Into<String>) -> Finding {
    Finding {
        subject: subject.into(),
        level,
        detail: detail.into(),
    }
}

/// What a declared type holds, as far as Nabd's reads are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Whole,
    Decimal,
    Text,
    Date,
    DateTime,
    Time,
    Other,
}

fn classify(dialect: Dialect, declared: &str) -> Found {
    let lower = declared.trim().to_ascii_lowercase();
    let base = lower.split(['(', ' ']).next().unwrap_or_default();
    match (dialect, base) {
        (_, "int" | "integer" | "bigint" | "smallint" | "tinyint") => Found::Whole,
        (_, "money" | "smallmoney" | "decimal" | "numeric" | "real" | "float" | "double") => {
            Found::Decimal
        }
        (_, "text" | "ntext" | "varchar" | "nvarchar" | "char" | "nchar" | "clob") => Found::Text,
        (_, "date") => Found::Date,
        (_, "datetime" | "datetime2" | "smalldatetime" | "datetimeoffset" | "timestamp") => {
            Found::DateTime
        }
        (_, "time") => Found::Time,
        // SQLite keeps whatever is stored: an undeclared column reads as text.
        (Dialect::Sqlite, "") => Found::Text,
        _ => Found::Other,
    }
}

/// Judges one column: whether Nabd reads what it holds correctly, and what to do if not.
fn judge_type(dialect: Dialect, wanted: Holds, found: Found, declared: &str) -> (Level, String) {
    use Found as F;
    use Holds as H;
    let sqlite = dialect == Dialect::Sqlite;
    match (wanted, found) {
        (H::Whole, F::Whole) => (Level::Ok, declared.to_owned()),
        (H::Text, F::Text) => (Level::Ok, declared.to_owned()),
        (H::Money, F::Decimal | F::Whole) => (Level::Ok, declared.to_owned()),
        (H::Date, F::Date) => (Level::Ok, format!("{declared} (a date)")),
        (H::Date, F::DateTime) => (
            Level::Ok,
            format!("{declared} (a datetime: its time of day is ignored)"),
        ),
        (H::DateTime, F::DateTime) => (Level::Ok, format!("{declared} (a datetime)")),
        (H::DateTime, F::Date) => (
            Level::Ok,
            format!("{declared} (a date: no time of day is known)"),
        ),
        (H::Time, F::Time) => (Level::Ok, declared.to_owned()),
        (H::Time, F::Text) => (
            Level::Ok,
            format!("{declared} (times read as text, HH:MM or HH:MM:SS)"),
        ),
        (H::Date | H::DateTime, F::Text) if sqlite => (
            Level::Ok,
            format!("{declared} (ISO text, YYYY-MM-DD[ HH:MM:SS])"),
        ),
        (H::Date | H::DateTime, F::Text) => (
            Level::Fail,
            format!(
                "{declared}: dates kept as text are compared as text, so date ranges come out \
                 wrong; give Nabd a view that converts the column to date or datetime"
            ),
        ),
        (H::Time, F::DateTime) if sqlite => (Level::Ok, declared.to_owned()),
        (H::Whole, F::Decimal) => (
            Level::Warn,
            format!("{declared}: read as a whole number; fractional values would be cut"),
        ),
        (wanted, _) => (
            Level::Fail,
            format!(
                "{declared}: Nabd reads this column as {}; give Nabd a view that converts it",
                match wanted {
                    H::Whole => "a whole number",
                    H::Text => "text",
                    H::Date => "a date",
                    H::DateTime => "a date and time",
                    H::Time => "a time of day",
                    H::Money => "an amount of money",
                }
            ),
        ),
    }
}

/// Turns the facts into findings: one per table, one per column, one per index, the
/// permission check, and the row counts and newest dates.
pub fn judge(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    let has_table = |table: &str| {
        facts
            .columns
            .iter()
            .any(|c| c.table.eq_ignore_ascii_case(table))
    };
    for (table, columns) in CONTRACT {
        if !has_table(table) {
            findings.push(finding(
                table,
                Level::Fail,
                "missing: no table or view of this name (create a view with the contract's \
                 columns)",
            ));
            continue;
        }
        let rows = facts
            .rows
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(table))
            .map(|(_, rows)| *rows);
        let kind = if facts
            .views
            .iter()
            .any(|view| view.eq_ignore_ascii_case(table))
        {
            "a view"
        } else {
            "a table"
        };
        findings.push(finding(
            table,
            Level::Ok,
            match rows {
                Some(rows) => format!("{kind}, {rows} rows"),
                None => kind.to_owned(),
            },
        ));
        for column in columns.iter() {
            let subject = format!("{table}.{}", column.name);
            let Some(found) = facts.columns.iter().find(|found| {
                found.table.eq_ignore_ascii_case(table)
                    && found.column.eq_ignore_ascii_case(column.name)
            }) else {
                findings.push(finding(subject, Level::Fail, "missing column"));
                continue;
            };
            let (mut level, mut detail) = judge_type(
                facts.dialect,
                column.holds,
                classify(facts.dialect, &found.data_type),
                &found.data_type,
            );
            if found.nullable {
                if column.may_be_null {
                    detail.push_str(", nullable");
                } else {
                    detail.push_str(", nullable: rows without a value are left out");
                    // SQLite columns are nullable unless declared otherwise (the demo clinic's
                    // are); on SQL Server it is the PMS's choice, worth a note.
                    if level == Level::Ok && facts.dialect == Dialect::SqlServer {
                        level = Level::Note;
                    }
                }
            }
            findings.push(finding(subject, level, detail));
        }
    }
    findings.extend(judge_indexes(facts));
    findings.push(match &facts.writes {
        Writes::ReadOnlyConnection => {
            finding("read only", Level::Ok, "Nabd opens this database read only")
        }
        Writes::Permitted(tables) if tables.is_empty() => finding(
            "read only",
            Level::Ok,
            "the login has no INSERT, UPDATE or DELETE permission on the contract's tables",
        ),
        Writes::Permitted(tables) => finding(
            "read only",
            Level::Fail,
            format!(
                "the login may change {}: Nabd never writes, so give it a read-only login \
                 (db_datareader)",
                tables.join(", ")
            ),
        ),
        Writes::Unknown(why) => finding(
            "read only",
            Level::Untested,
            format!("the permission check could not run ({why})"),
        ),
    });
    for (table, column, newest) in &facts.newest {
        findings.push(finding(
            format!("newest {table}.{column}"),
            Level::Ok,
            newest.clone().unwrap_or_else(|| "no rows".to_owned()),
        ));
    }
    findings
}

fn judge_indexes(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (table, leading, used_by) in INDEXES {
        let subject = format!("index {table} ({})", leading.join(", "));
        if !facts
            .columns
            .iter()
            .any(|c| c.table.eq_ignore_ascii_case(table))
        {
            continue;
        }
        if facts
            .views
            .iter()
            .any(|view| view.eq_ignore_ascii_case(table))
        {
            findings.push(finding(
                subject,
                Level::Untested,
                "a view: its base tables' indexes serve it, and are not checked",
            ));
            continue;
        }
        let Some(indexes) = &facts.indexes else {
            findings.push(finding(
                subject,
                Level::Untested,
                "the index catalog could not be read",
            ));
            continue;
        };
        let covered = indexes.iter().any(|(on, columns)| {
            on.eq_ignore_ascii_case(table)
                && columns.len() >= leading.len()
                && columns
                    .iter()
                    .zip(leading.iter())
                    .all(|(have, want)| have.eq_ignore_ascii_case(want))
        });
        findings.push(if covered {
            finding(subject, Level::Ok, format!("present ({used_by})"))
        } else {
            finding(
                subject,
                Level::Warn,
                format!("missing: {used_by} read the whole table (slow on a large clinic)"),
            )
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contract_columns(dialect: Dialect) -> Vec<FoundColumn> {
        let spelled = |holds: Holds| match (dialect, holds) {
            (Dialect::Sqlite, Holds::Whole) => "INTEGER",
            (Dialect::Sqlite, Holds::Money) => "REAL",
            (Dialect::Sqlite, _) => "TEXT",
            (Dialect::SqlServer, Holds::Whole) => "int",
            (Dialect::SqlServer, Holds::Text) => "nvarchar",
            (Dialect::SqlServer, Holds::Date) => "date",
            (Dialect::SqlServer, Holds::DateTime) => "datetime",
            (Dialect::SqlServer, Holds::Time) => "time",
            (Dialect::SqlServer, Holds::Money) => "money",
        };
        CONTRACT
            .iter()
            .flat_map(|(table, columns)| {
                columns.iter().map(move |column| FoundColumn {
                    table: (*table).to_owned(),
                    column: column.name.to_owned(),
                    data_type: spelled(column.holds).to_owned(),
                    nullable: column.may_be_null,
                })
            })
            .collect()
    }

    fn facts(dialect: Dialect) -> Facts {
        Facts {
            dialect,
            columns: contract_columns(dialect),
            views: vec![],
            indexes: Some(
                INDEXES
                    .iter()
                    .map(|(table, columns, _)| {
                        (
                            (*table).to_owned(),
                            columns.iter().map(|c| (*c).to_owned()).collect(),
                        )
                    })
                    .collect(),
            ),
            writes: Writes::Permitted(vec![]),
            rows: vec![("appointment".to_owned(), 10)],
            newest: vec![],
        }
    }

    fn worst(findings: &[Finding]) -> Vec<&Finding> {
        findings
            .iter()
            .filter(|f| matches!(f.level, Level::Fail | Level::Warn))
            .collect()
    }

    #[test]
    fn the_contract_as_designed_passes_on_both_dialects() {
        for dialect in [Dialect::Sqlite, Dialect::SqlServer] {
            let findings = judge(&facts(dialect));
            assert!(
                worst(&findings).is_empty(),
                "{dialect:?}: {:?}",
                worst(&findings)
            );
        }
    }

    #[test]
    fn a_missing_column_and_a_missing_table_fail() {
        let mut facts = facts(Dialect::SqlServer);
        facts.columns.retain(|c| {
            !(c.table == "appointment" && c.column == "app_dt") && c.table != "receipts"
        });
        let findings = judge(&facts);
        let failed: Vec<&str> = findings
            .iter()
            .filter(|f| f.level == Level::Fail)
            .map(|f| f.subject.as_str())
            .collect();
        assert_eq!(failed, ["appointment.app_dt", "receipts"]);
    }

    #[test]
    fn date_types_are_reported_and_text_dates_fail_on_sql_server_only() {
        let mut server = facts(Dialect::SqlServer);
        for column in &mut server.columns {
            if column.column == "app_dt" {
                column.data_type = "varchar".to_owned();
            }
            if column.column == "inv_dt" {
                column.data_type = "date".to_owned();
            }
        }
        let findings = judge(&server);
        let app_dt = findings
            .iter()
            .find(|f| f.subject == "appointment.app_dt")
            .expect("judged");
        assert_eq!(app_dt.level, Level::Fail);
        let inv_dt = findings
            .iter()
            .find(|f| f.subject == "invoice_h.inv_dt")
            .expect("judged");
        assert_eq!(inv_dt.level, Level::Ok);
        assert!(inv_dt.detail.contains("a date"), "{}", inv_dt.detail);
        let sqlite = judge(&facts(Dialect::Sqlite));
        let text_date = sqlite
            .iter()
            .find(|f| f.subject == "appointment.app_dt")
            .expect("judged");
        assert_eq!(text_date.level, Level::Ok);
    }

    #[test]
    fn a_missing_index_warns_and_a_nullable_key_is_noted() {
        let mut facts = facts(Dialect::SqlServer);
        if let Some(indexes) = &mut facts.indexes {
            indexes.retain(|(table, columns)| !(table == "appointment" && columns[0] == "pt_id"));
        }
        for column in &mut facts.columns {
            if column.table == "appointment" && column.column == "doc_id" {
                column.nullable = true;
            }
        }
        let findings = judge(&facts);
        let warned: Vec<&str> = findings
            .iter()
            .filter(|f| f.level == Level::Warn)
            .map(|f| f.subject.as_str())
            .collect();
        assert_eq!(
            warned,
            [
                "index appointment (pt_id)",
                "index appointment (pt_id, app_dt)"
            ]
        );
        let doc_id = findings
            .iter()
            .find(|f| f.subject == "appointment.doc_id")
            .expect("judged");
        assert_eq!(doc_id.level, Level::Note);
    }

    #[test]
    fn a_login_that_can_write_fails() {
        let mut facts = facts(Dialect::SqlServer);
        facts.writes = Writes::Permitted(vec!["appointment".to_owned()]);
        let findings = judge(&facts);
        let read_only = findings
            .iter()
            .find(|f| f.subject == "read only")
            .expect("judged");
        assert_eq!(read_only.level, Level::Fail);
        assert!(read_only.detail.contains("appointment"));
    }
}
