//! The clinic's SQL Server through tiberius: T-SQL beside its SQLite twin in `sqlite.rs`.
//!
//! Every value travels as a parameter (`@P1`...), never spliced into SQL text. Date bounds are
//! ISO 8601 strings (`2026-01-05T00:00:00`) that SQL Server converts to the column's own type,
//! so the predicates stay sargable (`inv_dt >= CAST(@P1 AS DATETIME) AND inv_dt < CAST(@P2 AS DATETIME)`, no function around an
//! indexed column) and work whether the PMS column is `date`, `datetime` or `datetime2`. Days
//! come back as offsets from the range start (`DATEDIFF(day, CAST(@P1 AS DATETIME), inv_dt)`), so no date type is
//! decoded. Connections come from a small pool, each query runs under a timeout, TLS follows
//! the connection string (`encrypt=true` by default; `TrustServerCertificate=true` only when
//! set), and the session asks for read-only intent: use a read-only login.

use super::{
    BookedAppointment, Booking, ClinicGateway, DailyAppointments, DailyRevenue, Days, Doctor,
    DoctorRevenue, GatewayError, LapsedPatient, LapsedQuery, LastVisit, PatientContact,
    PatientRevenue,
};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use std::sync::Mutex;
use std::time::Duration;
use tiberius::{Client, Config, Query, Row};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

type Connection = Client<Compat<TcpStream>>;

/// Reads the clinic's SQL Server.
pub struct MssqlGateway {
    config: Config,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
    timeout: Duration,
}

impl std::fmt::Debug for MssqlGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The config holds the password: show only where it points.
        f.debug_struct("MssqlGateway")
            .field("addr", &self.config.get_addr())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

fn query_error(error: impl std::error::Error + Send + Sync + 'static) -> GatewayError {
    GatewayError::Query(Box::new(error))
}

impl MssqlGateway {
    /// Parses an ADO.NET connection string and prepares a pool of at most `max_connections`;
    /// connects lazily, each connect and query giving up after `timeout`.
    pub fn new(
        connection_string: &str,
        max_connections: usize,
        timeout: Duration,
    ) -> Result<Self, GatewayError> {
        let mut config = Config::from_ado_string(connection_string)
            .map_err(|error| GatewayError::Unavailable(Box::new(error)))?;
        config.application_name("nabd");
        config.readonly(true);
        Ok(Self::from_config(config, max_connections, timeout))
    }

    /// Uses an already built tiberius `Config` (tests point it at a loopback server).
    pub fn from_config(config: Config, max_connections: usize, timeout: Duration) -> Self {
        Self {
            config,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(max_connections.max(1)),
            timeout,
        }
    }

    async fn connect(&self) -> Result<Connection, GatewayError> {
        let unavailable =
            |error: Box<dyn std::error::Error + Send + Sync>| GatewayError::Unavailable(error);
        let connect = async {
            let tcp = TcpStream::connect(self.config.get_addr())
                .await
                .map_err(|error| unavailable(Box::new(error)))?;
            tcp.set_nodelay(true)
                .map_err(|error| unavailable(Box::new(error)))?;
            Client::connect(self.config.clone(), tcp.compat_write())
                .await
                .map_err(|error| unavailable(Box::new(error)))
        };
        tokio::time::timeout(self.timeout, Box::pin(connect))
            .await
            .map_err(|_| GatewayError::Timeout(self.timeout))?
    }

    /// Runs `sql` with `params` and returns every row of the first result set.
    ///
    /// A connection that failed or timed out mid-query is dropped, not returned to the pool.
    async fn rows(&self, sql: &str, params: &[Param]) -> Result<Vec<Row>, GatewayError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|error| GatewayError::Unavailable(Box::new(error)))?;
        let pooled = self.idle.lock().map(|mut idle| idle.pop()).unwrap_or(None);
        let mut connection = match pooled {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        let sql = compact(sql);
        let run = async {
            let mut query = Query::new(sql);
            for param in params {
                match param {
                    Param::Int(value) => query.bind(*value),
                    Param::Text(value) => query.bind(value.clone()),
                }
            }
            query
                .query(&mut connection)
                .await?
                .into_first_result()
                .await
        };
        // Boxed: tiberius's futures are large, and inline they would make every caller's
        // future (the dashboard's seven concurrent reads) too large for a thread's stack.
        let rows = match tokio::time::timeout(self.timeout, Box::pin(run)).await {
            Ok(Ok(rows)) => rows,
            Ok(Err(error)) => return Err(classify(error)),
            Err(_) => return Err(GatewayError::Timeout(self.timeout)),
        };
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(connection);
        }
        Ok(rows)
    }
}

impl MssqlGateway {
    /// Reads the catalog (`INFORMATION_SCHEMA`, `sys.indexes`), the login's permissions
    /// (`HAS_PERMS_BY_NAME`) and the contract tables' sizes, for `nabd check`. The twin of
    /// [`super::sqlite::SqliteGateway::inspect`].
    pub async fn inspect(&self) -> Result<super::inspect::Facts, GatewayError> {
        use super::inspect::{CONTRACT, Dialect, Facts, FoundColumn, NEWEST, Writes};
        let tables: Vec<&str> = CONTRACT.iter().map(|(table, _)| *table).collect();
        let listed = tables
            .iter()
            .map(|table| format!("N'{table}'"))
            .collect::<Vec<_>>()
            .join(", ");
        // language=TSQL
        let column_rows = self
            .rows(
                &format!(
                    "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.IS_NULLABLE
                     FROM INFORMATION_SCHEMA.COLUMNS c
                     WHERE c.TABLE_NAME IN ({listed})
                     ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION"
                ),
                &[],
            )
            .await?;
        let mut columns = Vec::new();
        for row in &column_rows {
            let table = get_text(row, 0)?.unwrap_or_default();
            columns.push(FoundColumn {
                table: tables
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(&table))
                    .map_or(table, |known| (*known).to_owned()),
                column: get_text(row, 1)?.unwrap_or_default(),
                data_type: get_text(row, 2)?.unwrap_or_default(),
                nullable: get_text(row, 3)?.is_some_and(|yes| yes.eq_ignore_ascii_case("YES")),
            });
        }
        // language=TSQL
        let views = match self
            .rows(
                &format!(
                    "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES
                     WHERE TABLE_TYPE = 'VIEW'
                       AND TABLE_NAME IN ({listed})"
                ),
                &[],
            )
            .await
        {
            Ok(rows) => rows
                .iter()
                .filter_map(|row| get_text(row, 0).ok().flatten())
                .collect(),
            Err(_) => Vec::new(),
        };
        // language=TSQL
        let indexes = self
            .rows(
                &format!(
                    "SELECT t.name, i.index_id, c.name, ic.key_ordinal
                     FROM sys.indexes i
                     JOIN sys.tables t ON t.object_id = i.object_id
                     JOIN sys.index_columns ic
                       ON ic.object_id = i.object_id AND ic.index_id = i.index_id
                     JOIN sys.columns c
                       ON c.object_id = ic.object_id AND c.column_id = ic.column_id
                     WHERE t.name IN ({listed}) AND ic.key_ordinal > 0
                     ORDER BY t.name, i.index_id, ic.key_ordinal"
                ),
                &[],
            )
            .await
            .ok()
            .map(|rows| {
                let mut indexes: Vec<(String, i64, Vec<String>)> = Vec::new();
                for row in &rows {
                    let (Ok(Some(table)), Ok(index), Ok(Some(column))) =
                        (get_text(row, 0), get_i64(row, 1), get_text(row, 2))
                    else {
                        continue;
                    };
                    match indexes.last_mut() {
                        Some((t, i, keys)) if *t == table && *i == index => keys.push(column),
                        _ => indexes.push((table, index, vec![column])),
                    }
                }
                indexes
                    .into_iter()
                    .map(|(table, _, keys)| {
                        let table = tables
                            .iter()
                            .find(|known| known.eq_ignore_ascii_case(&table))
                            .map_or(table, |known| (*known).to_owned());
                        (table, keys)
                    })
                    .collect()
            });
        let present: Vec<&str> = tables
            .iter()
            .copied()
            .filter(|table| columns.iter().any(|c| c.table == *table))
            .collect();
        let writes = if present.is_empty() {
            Writes::Permitted(Vec::new())
        } else {
            let probes = present
                .iter()
                .map(|table| {
                    format!(
                        "HAS_PERMS_BY_NAME(N'{table}', N'OBJECT', N'INSERT')
                         + HAS_PERMS_BY_NAME(N'{table}', N'OBJECT', N'UPDATE')
                         + HAS_PERMS_BY_NAME(N'{table}', N'OBJECT', N'DELETE')"
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            // language=TSQL
            match self.rows(&format!("SELECT {probes}"), &[]).await {
                Ok(rows) => match rows.first() {
                    Some(row) => {
                        let mut may_write = Vec::new();
                        for (index, table) in present.iter().enumerate() {
                            if get_i64(row, index).unwrap_or(1) > 0 {
                                may_write.push((*table).to_owned());
                            }
                        }
                        Writes::Permitted(may_write)
                    }
                    None => Writes::Unknown("no answer".to_owned()),
                },
                Err(error) => Writes::Unknown(error.to_string()),
            }
        };
        let mut rows = Vec::new();
        for table in &present {
            // language=TSQL
            let counted = self
                .rows(&format!("SELECT COUNT(*) FROM {table}"), &[])
                .await?;
            let count = match counted.first() {
                Some(row) => get_i64(row, 0)?,
                None => 0,
            };
            rows.push(((*table).to_owned(), count));
        }
        let mut newest = Vec::new();
        for (table, column) in NEWEST {
            if !columns
                .iter()
                .any(|c| c.table == table && c.column.eq_ignore_ascii_case(column))
            {
                continue;
            }
            // language=TSQL
            let found = self
                .rows(
                    &format!("SELECT CONVERT(NVARCHAR(30), MAX({column}), 120) FROM {table}"),
                    &[],
                )
                .await?;
            let value = match found.first() {
                Some(row) => get_text(row, 0)?,
                None => None,
            };
            newest.push((table.to_owned(), column.to_owned(), value));
        }
        Ok(Facts {
            dialect: Dialect::SqlServer,
            columns,
            views,
            indexes,
            writes,
            rows,
            newest,
        })
    }
}

/// A query parameter.
enum Param {
    Int(i64),
    Text(String),
}

fn classify(error: tiberius::error::Error) -> GatewayError {
    match error {
        tiberius::error::Error::Io { .. } | tiberius::error::Error::Tls(_) => {
            GatewayError::Unavailable(Box::new(error))
        }
        other => query_error(other),
    }
}

/// The bound SQL Server converts to the column's type: `2026-01-05T00:00:00`.
fn bound(date: NaiveDate) -> Param {
    Param::Text(format!("{}T00:00:00", date.format("%Y-%m-%d")))
}

fn get_i64(row: &Row, index: usize) -> Result<i64, GatewayError> {
    if let Ok(value) = row.try_get::<i64, _>(index) {
        return Ok(value.unwrap_or(0));
    }
    row.try_get::<i32, _>(index)
        .map(|value| value.map(i64::from).unwrap_or(0))
        .map_err(query_error)
}

fn get_text(row: &Row, index: usize) -> Result<Option<String>, GatewayError> {
    row.try_get::<&str, _>(index)
        .map(|value| value.map(str::to_owned))
        .map_err(query_error)
}

/// Reads a time of day from a `time` column, or from text (`09:30:00`) in PMSs that keep it so.
fn get_time(row: &Row, index: usize) -> Result<Option<NaiveTime>, GatewayError> {
    if let Ok(value) = row.try_get::<NaiveTime, _>(index) {
        return Ok(value);
    }
    match get_text(row, index)? {
        None => Ok(None),
        Some(text) if text.trim().is_empty() => Ok(None),
        Some(text) => NaiveTime::parse_from_str(text.trim(), "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(text.trim(), "%H:%M"))
            .map(Some)
            .map_err(query_error),
    }
}

/// Reads a date-time sent as text in ODBC canonical form (`CONVERT(..., 120)`:
/// `2026-01-05 08:00:00`), the same whatever the login's language.
/// Reads one appointment row as `appointments_on` and `appointment` select it; `None` for a
/// booking without a start time, which cannot be reminded of or followed up.
fn booked(row: &Row) -> Result<Option<BookedAppointment>, GatewayError> {
    let Some(starts) = get_time(row, 8)? else {
        return Ok(None);
    };
    let date = get_text(row, 7)?
        .and_then(|text| NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok())
        .ok_or_else(|| GatewayError::Query("an appointment without a readable app_dt".into()))?;
    Ok(Some(BookedAppointment {
        id: get_i64(row, 0)?,
        patient_id: get_i64(row, 1)?,
        patient_name: get_text(row, 2)?.unwrap_or_default(),
        patient_name_en: get_text(row, 3)?.filter(|name| !name.trim().is_empty()),
        mobile: get_text(row, 4)?,
        doctor_id: get_i64(row, 5)?,
        doctor_name: get_text(row, 6)?.unwrap_or_default(),
        date,
        starts,
        ends: get_time(row, 9)?,
        status: get_i64(row, 10)?,
        booked_at: get_datetime(row, 11),
    }))
}

fn get_datetime(row: &Row, index: usize) -> Option<NaiveDateTime> {
    let text = get_text(row, index).ok().flatten()?;
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()
}

fn day_at(days: Days, offset: i64) -> Result<NaiveDate, GatewayError> {
    days.from
        .checked_add_signed(chrono::Duration::days(offset))
        .ok_or_else(|| query_error(Message(format!("day offset {offset} out of range"))))
}

/// `AND <column> NOT IN (@P3, @P4, ...)` for `count` parameters numbered from `first`; no
/// condition at all when the list is empty (`NOT IN (NULL)` would exclude every row).
fn not_in(column: &str, first: usize, count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    let names: Vec<String> = (first..first + count).map(|n| format!("@P{n}")).collect();
    format!("AND {column} NOT IN ({})", names.join(", "))
}

/// `<column> NOT IN (@Pn, ...)` for `count` parameters numbered from `first`, or a condition
/// that always holds when the list is empty.
fn not_among(column: &str, first: usize, count: usize) -> String {
    if count == 0 {
        return "1 = 1".to_owned();
    }
    let names: Vec<String> = (first..first + count).map(|n| format!("@P{n}")).collect();
    format!("{column} NOT IN ({})", names.join(", "))
}

/// `<column> IN (@Pn, ...)` for `count` parameters numbered from `first` (`count` > 0).
fn among(column: &str, first: usize, count: usize) -> String {
    let names: Vec<String> = (first..first + count).map(|n| format!("@P{n}")).collect();
    format!("{column} IN ({})", names.join(", "))
}

/// Collapses the indentation of a statement written for humans into single spaces: the
/// statement travels as one `nvarchar` parameter, and some servers (the loopback test server
/// among them) refuse one longer than 4,000 bytes. The SQL here has no string literals.
fn compact(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reads a date sent as text (`CONVERT(NVARCHAR(10), col, 120)`: `2026-01-05`); servers that
/// ignore the length send the time too, which is dropped.
fn get_date(row: &Row, index: usize) -> Result<NaiveDate, GatewayError> {
    let text = get_text(row, index)?.unwrap_or_default();
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(&text), "%Y-%m-%d").map_err(query_error)
}

/// How many patient ids go into one statement (SQL Server takes at most 2,100 parameters).
const ID_CHUNK: usize = 500;

/// The bound SQL Server converts to a `datetime`: `2026-01-05T10:30:00`.
fn bound_instant(at: NaiveDateTime) -> Param {
    Param::Text(at.format("%Y-%m-%dT%H:%M:%S").to_string())
}

fn ints(values: &[i64]) -> impl Iterator<Item = Param> + '_ {
    values.iter().map(|value| Param::Int(*value))
}

impl ClinicGateway for MssqlGateway {
    async fn ping(&self) -> Result<(), GatewayError> {
        // language=TSQL
        self.rows("SELECT TOP 1 id FROM doctor", &[])
            .await
            .map(|_| ())
    }

    async fn doctors(&self) -> Result<Vec<Doctor>, GatewayError> {
        // language=TSQL
        let sql = r"SELECT CAST(id AS BIGINT), name_a, name_e FROM doctor
                    WHERE name_a IS NOT NULL AND LTRIM(RTRIM(name_a)) <> N''
                    ORDER BY id";
        let rows = self.rows(sql, &[]).await?;
        rows.iter()
            .map(|row| {
                Ok(Doctor {
                    id: get_i64(row, 0)?,
                    name_ar: get_text(row, 1)?.unwrap_or_default().trim().to_owned(),
                    name_en: get_text(row, 2)?
                        .map(|name| name.trim().to_owned())
                        .filter(|name| !name.is_empty()),
                })
            })
            .collect()
    }

    async fn revenue_by_day(&self, days: Days) -> Result<Vec<DailyRevenue>, GatewayError> {
        // language=TSQL
        let sql = r"SELECT d, CAST(ROUND(SUM(amount) * 100, 0) AS BIGINT) FROM (
                        SELECT DATEDIFF(day, CAST(@P1 AS DATETIME), inv_dt) AS d,
                               COALESCE(cash, 0) + COALESCE(span, 0) AS amount
                        FROM invoice_h WHERE inv_dt >= CAST(@P1 AS DATETIME) AND inv_dt < CAST(@P2 AS DATETIME)
                        UNION ALL
                        SELECT DATEDIFF(day, CAST(@P1 AS DATETIME), rcpt_dt), COALESCE(amount, 0)
                        FROM receipts WHERE rcpt_dt >= CAST(@P1 AS DATETIME) AND rcpt_dt < CAST(@P2 AS DATETIME)
                    ) AS paid GROUP BY d ORDER BY d";
        let rows = self.rows(sql, &[bound(days.from), bound(days.to)]).await?;
        rows.iter()
            .map(|row| {
                Ok(DailyRevenue {
                    date: day_at(days, get_i64(row, 0)?)?,
                    halalas: get_i64(row, 1)?,
                })
            })
            .collect()
    }

    async fn revenue_by_doctor(&self, days: Days) -> Result<Vec<DoctorRevenue>, GatewayError> {
        // language=TSQL
        let sql = r"SELECT CAST(doc_id AS BIGINT), CAST(ROUND(SUM(amount) * 100, 0) AS BIGINT)
                    FROM (
                        SELECT doc_id, COALESCE(cash, 0) + COALESCE(span, 0) AS amount
                        FROM invoice_h WHERE inv_dt >= CAST(@P1 AS DATETIME) AND inv_dt < CAST(@P2 AS DATETIME)
                        UNION ALL
                        SELECT doc_id, COALESCE(amount, 0)
                        FROM receipts WHERE rcpt_dt >= CAST(@P1 AS DATETIME) AND rcpt_dt < CAST(@P2 AS DATETIME)
                    ) AS paid WHERE doc_id IS NOT NULL GROUP BY doc_id ORDER BY doc_id";
        let rows = self.rows(sql, &[bound(days.from), bound(days.to)]).await?;
        rows.iter()
            .map(|row| {
                Ok(DoctorRevenue {
                    doctor_id: get_i64(row, 0)?,
                    halalas: get_i64(row, 1)?,
                })
            })
            .collect()
    }

    async fn patient_revenue(
        &self,
        days: Days,
        doctor_id: Option<i64>,
    ) -> Result<PatientRevenue, GatewayError> {
        // Per-patient sums, added up here: COUNT(DISTINCT) over a UNION is costly on SQL Server
        // and the loopback TDS test server cannot aggregate without GROUP BY. Two statements
        // rather than `(@P3 IS NULL OR doc_id = @P3)`, so each gets its own plan.
        // language=TSQL
        let all = r"SELECT CAST(pt_id AS BIGINT), CAST(ROUND(SUM(amount) * 100, 0) AS BIGINT)
                    FROM (
                        SELECT pt_id, COALESCE(cash, 0) + COALESCE(span, 0) AS amount
                        FROM invoice_h
                        WHERE inv_dt >= CAST(@P1 AS DATETIME) AND inv_dt < CAST(@P2 AS DATETIME)
                        UNION ALL
                        SELECT pt_id, COALESCE(amount, 0)
                        FROM receipts
                        WHERE rcpt_dt >= CAST(@P1 AS DATETIME) AND rcpt_dt < CAST(@P2 AS DATETIME)
                    ) AS paid GROUP BY pt_id";
        // language=TSQL
        let one = r"SELECT CAST(pt_id AS BIGINT), CAST(ROUND(SUM(amount) * 100, 0) AS BIGINT)
                    FROM (
                        SELECT pt_id, COALESCE(cash, 0) + COALESCE(span, 0) AS amount
                        FROM invoice_h
                        WHERE inv_dt >= CAST(@P1 AS DATETIME) AND inv_dt < CAST(@P2 AS DATETIME)
                          AND doc_id = @P3
                        UNION ALL
                        SELECT pt_id, COALESCE(amount, 0)
                        FROM receipts
                        WHERE rcpt_dt >= CAST(@P1 AS DATETIME) AND rcpt_dt < CAST(@P2 AS DATETIME)
                          AND doc_id = @P3
                    ) AS paid GROUP BY pt_id";
        let rows = match doctor_id {
            None => self.rows(all, &[bound(days.from), bound(days.to)]).await?,
            Some(id) => {
                self.rows(one, &[bound(days.from), bound(days.to), Param::Int(id)])
                    .await?
            }
        };
        let mut total = PatientRevenue::default();
        for row in &rows {
            total.halalas += get_i64(row, 1)?;
            // COUNT(DISTINCT pt_id) leaves out payments without a patient.
            if row.try_get::<i64, _>(0).map_err(query_error)?.is_some() {
                total.patients += 1;
            }
        }
        Ok(total)
    }

    async fn appointments_by_day(
        &self,
        days: Days,
        cancelled: &[i64],
    ) -> Result<Vec<DailyAppointments>, GatewayError> {
        // language=TSQL
        let sql = format!(
            r"SELECT DATEDIFF(day, CAST(@P1 AS DATETIME), a.app_dt) AS d,
                     CAST(COUNT(*) AS BIGINT),
                     CAST(SUM(CASE WHEN p.trans_dt >= a.app_dt
                                    AND p.trans_dt < DATEADD(day, 1, a.app_dt)
                                   THEN 1 ELSE 0 END) AS BIGINT),
                     CAST(SUM(CASE WHEN p.trans_dt IS NULL OR p.trans_dt < a.app_dt
                                   THEN 1 ELSE 0 END) AS BIGINT)
              FROM appointment a LEFT JOIN patient p ON p.id = a.pt_id
              WHERE a.app_dt >= CAST(@P1 AS DATETIME) AND a.app_dt < CAST(@P2 AS DATETIME)
                {}
              GROUP BY DATEDIFF(day, CAST(@P1 AS DATETIME), a.app_dt)
              ORDER BY d",
            not_in("a.app_status", 3, cancelled.len())
        );
        let mut params = vec![bound(days.from), bound(days.to)];
        params.extend(cancelled.iter().map(|code| Param::Int(*code)));
        let rows = self.rows(&sql, &params).await?;
        rows.iter()
            .map(|row| {
                Ok(DailyAppointments {
                    date: day_at(days, get_i64(row, 0)?)?,
                    total: get_i64(row, 1)?,
                    new: get_i64(row, 2)?,
                    after_registration: get_i64(row, 3)?,
                })
            })
            .collect()
    }

    async fn appointments_on(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<BookedAppointment>, GatewayError> {
        // language=TSQL
        let sql = r"SELECT CAST(a.id AS BIGINT), CAST(a.pt_id AS BIGINT), a.pt_name, p.name_e,
                           a.mobile, CAST(a.doc_id AS BIGINT), a.doc_nm,
                           CONVERT(NVARCHAR(19), a.app_dt, 120), a.from_tm, a.to_tm,
                           CAST(a.app_status AS BIGINT), CONVERT(NVARCHAR(19), a.trans_dt, 120)
                    FROM appointment a LEFT JOIN patient p ON p.id = a.pt_id
                    WHERE a.app_dt >= CAST(@P1 AS DATETIME) AND a.app_dt < CAST(@P2 AS DATETIME)
                    ORDER BY a.from_tm, a.id";
        let next = day.succ_opt().unwrap_or(day);
        let rows = self.rows(sql, &[bound(day), bound(next)]).await?;
        let mut appointments = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(appointment) = booked(row)? {
                appointments.push(appointment);
            }
        }
        Ok(appointments)
    }

    async fn appointment(&self, id: i64) -> Result<Option<BookedAppointment>, GatewayError> {
        // language=TSQL
        let sql = r"SELECT CAST(a.id AS BIGINT), CAST(a.pt_id AS BIGINT), a.pt_name, p.name_e,
                           a.mobile, CAST(a.doc_id AS BIGINT), a.doc_nm,
                           CONVERT(NVARCHAR(19), a.app_dt, 120), a.from_tm, a.to_tm,
                           CAST(a.app_status AS BIGINT), CONVERT(NVARCHAR(19), a.trans_dt, 120)
                    FROM appointment a LEFT JOIN patient p ON p.id = a.pt_id
                    WHERE a.id = CAST(@P1 AS BIGINT)";
        let rows = self.rows(sql, &[Param::Int(id)]).await?;
        match rows.first() {
            Some(row) => booked(row),
            None => Ok(None),
        }
    }

    async fn new_patients(&self, days: Days) -> Result<i64, GatewayError> {
        // language=TSQL
        // Plain COUNT(*) (an `int` on SQL Server, read as i64 either way).
        let sql = r"SELECT COUNT(*) FROM patient
                    WHERE trans_dt >= CAST(@P1 AS DATETIME) AND trans_dt < CAST(@P2 AS DATETIME)";
        let rows = self.rows(sql, &[bound(days.from), bound(days.to)]).await?;
        rows.first().map_or(Ok(0), |row| get_i64(row, 0))
    }
    async fn lapsed_patients(
        &self,
        query: &LapsedQuery,
    ) -> Result<Vec<LapsedPatient>, GatewayError> {
        let visits = 5;
        let bookings = visits + query.not_visits.len();
        // language=TSQL
        let sql = format!(
            r"SELECT CAST(l.pt_id AS BIGINT), p.name_a, p.name_e, p.mobile,
                     CONVERT(NVARCHAR(10), l.last_visit, 120),
                     CAST(ROUND(COALESCE(t.amount, 0) * 100, 0) AS BIGINT) AS lifetime
              FROM (
                  SELECT pt_id,
                         MAX(CASE WHEN app_dt < CAST(@P1 AS DATETIME) AND {}
                                  THEN app_dt END) AS last_visit,
                         MAX(CASE WHEN app_dt >= CAST(@P1 AS DATETIME) AND {}
                                  THEN 1 ELSE 0 END) AS booked
                  FROM appointment
                  GROUP BY pt_id
              ) AS l
              JOIN patient p ON p.id = l.pt_id
              LEFT JOIN (
                  SELECT pt_id, SUM(amount) AS amount FROM (
                      SELECT pt_id, COALESCE(cash, 0) + COALESCE(span, 0) AS amount FROM invoice_h
                      UNION ALL
                      SELECT pt_id, COALESCE(amount, 0) FROM receipts
                  ) AS paid GROUP BY pt_id
              ) AS t ON t.pt_id = l.pt_id
              WHERE l.last_visit < CAST(@P2 AS DATETIME) AND l.booked = 0
              ORDER BY COALESCE(t.amount, 0) DESC, l.pt_id
              OFFSET @P3 ROWS FETCH NEXT @P4 ROWS ONLY",
            not_among("app_status", visits, query.not_visits.len()),
            not_among("app_status", bookings, query.cancelled.len()),
        );
        let tomorrow = query.today.succ_opt().unwrap_or(query.today);
        let mut params = vec![
            bound(tomorrow),
            bound(query.last_visit_before),
            Param::Int(query.offset),
            Param::Int(query.limit),
        ];
        params.extend(ints(&query.not_visits));
        params.extend(ints(&query.cancelled));
        let rows = self.rows(&sql, &params).await?;
        rows.iter()
            .map(|row| {
                Ok(LapsedPatient {
                    patient_id: get_i64(row, 0)?,
                    name_ar: get_text(row, 1)?.unwrap_or_default(),
                    name_en: get_text(row, 2)?.filter(|name| !name.trim().is_empty()),
                    mobile: get_text(row, 3)?,
                    last_visit: get_date(row, 4)?,
                    lifetime_halalas: get_i64(row, 5)?,
                })
            })
            .collect()
    }

    async fn last_visits(
        &self,
        patient_ids: &[i64],
        today: NaiveDate,
        not_visits: &[i64],
    ) -> Result<Vec<LastVisit>, GatewayError> {
        let tomorrow = today.succ_opt().unwrap_or(today);
        let mut visits = Vec::new();
        for chunk in patient_ids.chunks(ID_CHUNK) {
            // language=TSQL
            let sql = format!(
                r"SELECT CAST(pt_id AS BIGINT), CONVERT(NVARCHAR(10), app_dt, 120), from_tm,
                         CAST(id AS BIGINT), CAST(doc_id AS BIGINT), doc_nm
                  FROM appointment
                  WHERE app_dt < CAST(@P1 AS DATETIME) AND {} AND {}",
                among("pt_id", 2, chunk.len()),
                not_among("app_status", 2 + chunk.len(), not_visits.len()),
            );
            let mut params = vec![bound(tomorrow)];
            params.extend(ints(chunk));
            params.extend(ints(not_visits));
            for row in &self.rows(&sql, &params).await? {
                visits.push((
                    LastVisit {
                        patient_id: get_i64(row, 0)?,
                        date: get_date(row, 1)?,
                        doctor_id: get_i64(row, 4)?,
                        doctor_name: get_text(row, 5)?.unwrap_or_default(),
                    },
                    get_time(row, 2)?.unwrap_or(NaiveTime::MIN),
                    get_i64(row, 3)?,
                ));
            }
        }
        Ok(super::latest_visits(visits))
    }

    async fn bookings_since(
        &self,
        patient_ids: &[i64],
        since: NaiveDateTime,
        cancelled: &[i64],
    ) -> Result<Vec<Booking>, GatewayError> {
        let mut bookings = Vec::new();
        for chunk in patient_ids.chunks(ID_CHUNK) {
            // language=TSQL
            let sql = format!(
                r"SELECT CAST(id AS BIGINT), CAST(pt_id AS BIGINT),
                         CONVERT(NVARCHAR(10), app_dt, 120), CAST(doc_id AS BIGINT), doc_nm,
                         CONVERT(NVARCHAR(19), trans_dt, 120)
                  FROM appointment
                  WHERE trans_dt >= CAST(@P1 AS DATETIME) AND {} AND {}",
                among("pt_id", 2, chunk.len()),
                not_among("app_status", 2 + chunk.len(), cancelled.len()),
            );
            let mut params = vec![bound_instant(since)];
            params.extend(ints(chunk));
            params.extend(ints(cancelled));
            for row in &self.rows(&sql, &params).await? {
                bookings.push(Booking {
                    appointment_id: get_i64(row, 0)?,
                    patient_id: get_i64(row, 1)?,
                    date: get_date(row, 2)?,
                    doctor_id: get_i64(row, 3)?,
                    doctor_name: get_text(row, 4)?.unwrap_or_default(),
                    booked_at: get_datetime(row, 5),
                });
            }
        }
        bookings.sort_by_key(|b| (b.booked_at, b.appointment_id));
        Ok(bookings)
    }

    async fn patients_with_mobile_ending(
        &self,
        tail: &str,
    ) -> Result<Vec<PatientContact>, GatewayError> {
        // language=TSQL
        let sql = r"SELECT CAST(id AS BIGINT), name_a, name_e, mobile FROM patient
                    WHERE REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(mobile,
                              ' ', ''), '-', ''), '+', ''), '.', ''), '(', ''), ')', '')
                          LIKE '%' + @P1
                    ORDER BY id";
        let rows = self.rows(sql, &[Param::Text(tail.to_owned())]).await?;
        rows.iter()
            .map(|row| {
                Ok(PatientContact {
                    patient_id: get_i64(row, 0)?,
                    name_ar: get_text(row, 1)?.unwrap_or_default(),
                    name_en: get_text(row, 2)?.filter(|n| !n.trim().is_empty()),
                    mobile: get_text(row, 3)?.unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn revenue_since(
        &self,
        patient_ids: &[i64],
        from: NaiveDate,
    ) -> Result<Vec<(i64, i64)>, GatewayError> {
        let mut revenue = Vec::new();
        for chunk in patient_ids.chunks(ID_CHUNK) {
            // language=TSQL
            let sql = format!(
                r"SELECT CAST(pt_id AS BIGINT), CAST(ROUND(SUM(amount) * 100, 0) AS BIGINT)
                  FROM (
                      SELECT pt_id, COALESCE(cash, 0) + COALESCE(span, 0) AS amount
                      FROM invoice_h WHERE inv_dt >= CAST(@P1 AS DATETIME) AND {ids}
                      UNION ALL
                      SELECT pt_id, COALESCE(amount, 0)
                      FROM receipts WHERE rcpt_dt >= CAST(@P1 AS DATETIME) AND {ids}
                  ) AS paid GROUP BY pt_id ORDER BY pt_id",
                ids = among("pt_id", 2, chunk.len()),
            );
            let mut params = vec![bound(from)];
            params.extend(ints(chunk));
            for row in &self.rows(&sql, &params).await? {
                revenue.push((get_i64(row, 0)?, get_i64(row, 1)?));
            }
        }
        Ok(revenue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_travel_without_their_indentation() {
        assert_eq!(
            compact("SELECT a,\n       b\n  FROM t  WHERE x = @P1"),
            "SELECT a, b FROM t WHERE x = @P1"
        );
    }

    #[test]
    fn status_placeholders_number_on_from_the_first() {
        assert_eq!(not_in("s", 3, 2), "AND s NOT IN (@P3, @P4)");
        assert_eq!(not_in("s", 3, 0), "");
    }

    #[test]
    fn a_bad_connection_string_is_refused_without_echoing_it() {
        let error = MssqlGateway::new(
            "server=tcp:db,notaport;password=hunter2",
            2,
            Duration::from_secs(1),
        )
        .expect_err("the port is not a number");
        assert!(!format!("{error} {error:?}").contains("hunter2"));
    }
}
