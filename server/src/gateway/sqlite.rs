//! The embedded demo clinic: the clinic data contract as a SQLite database, read through sqlx.
//!
//! Dates are stored as ISO text (`YYYY-MM-DD` for `date` columns, `YYYY-MM-DD HH:MM:SS` for
//! `datetime` ones), so a half-open range with date-only bounds (`>= '2026-01-05' AND <
//! '2026-01-06'`) selects the right rows of either kind and uses the column's index.

use super::{
    BookedAppointment, Booking, ClinicGateway, DailyAppointments, DailyRevenue, Days, Doctor,
    DoctorRevenue, GatewayError, LapsedPatient, LapsedQuery, LastVisit, PatientContact,
    PatientRevenue,
};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// The clinic data contract's tables and the PMS's indexes, as SQLite DDL.
pub const SCHEMA: &str = concat!(
    include_str!("schema_sqlite.sql"),
    include_str!("indexes_sqlite.sql")
);

/// The contract's tables alone, for a bulk load that adds [`INDEXES`] afterwards.
pub const TABLES: &str = include_str!("schema_sqlite.sql");

/// The indexes a PMS has: `app_dt`, `inv_dt`, `rcpt_dt`, `pt_id`, `doc_id`.
pub const INDEXES: &str = include_str!("indexes_sqlite.sql");

/// Reads the demo clinic from a SQLite file, read only.
#[derive(Debug, Clone)]
pub struct SqliteGateway {
    pool: SqlitePool,
    timeout: Duration,
}

impl SqliteGateway {
    /// Prepares a read-only pool on `url` (`sqlite://path`) without connecting yet; every
    /// query gives up after `timeout`.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, GatewayError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| GatewayError::Unavailable(Box::new(error)))?
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(timeout)
            .connect_lazy_with(options);
        Ok(Self { pool, timeout })
    }

    /// Wraps an existing pool (tests build clinics in memory or in a temp file).
    pub fn from_pool(pool: SqlitePool, timeout: Duration) -> Self {
        Self { pool, timeout }
    }

    async fn run<T>(
        &self,
        query: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, GatewayError> {
        match tokio::time::timeout(self.timeout, query).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(classify(error)),
            Err(_) => Err(GatewayError::Timeout(self.timeout)),
        }
    }
}

impl SqliteGateway {
    /// Reads the catalog and the contract tables' sizes, for `nabd check`
    /// ([`super::inspect::judge`] decides what they mean). The twin of
    /// [`super::mssql::MssqlGateway::inspect`].
    pub async fn inspect(&self) -> Result<super::inspect::Facts, GatewayError> {
        use super::inspect::{CONTRACT, Dialect, Facts, FoundColumn, NEWEST, Writes};
        self.run(async {
            // language=SQL
            let objects: Vec<(String, String)> = sqlx::query_as(
                "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'view')",
            )
            .fetch_all(&self.pool)
            .await?;
            let mut facts = Facts {
                dialect: Dialect::Sqlite,
                columns: Vec::new(),
                views: Vec::new(),
                indexes: Some(Vec::new()),
                writes: Writes::ReadOnlyConnection,
                rows: Vec::new(),
                newest: Vec::new(),
            };
            for (table, _) in CONTRACT {
                let Some((name, kind)) = objects
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(table))
                else {
                    continue;
                };
                if kind == "view" {
                    facts.views.push(table.to_owned());
                }
                // language=SQL
                let columns: Vec<(String, String, i64, i64)> = sqlx::query_as(
                    "SELECT name, type, \"notnull\", pk FROM pragma_table_info($1) ORDER BY cid",
                )
                .bind(name)
                .fetch_all(&self.pool)
                .await?;
                facts.columns.extend(columns.into_iter().map(
                    |(column, data_type, not_null, pk)| {
                        FoundColumn {
                            table: table.to_owned(),
                            column,
                            data_type,
                            // An INTEGER PRIMARY KEY is the row id: never empty.
                            nullable: not_null == 0 && pk == 0,
                        }
                    },
                ));
                // language=SQL
                let indexes: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_index_list($1)")
                        .bind(name)
                        .fetch_all(&self.pool)
                        .await?;
                for index in indexes {
                    // language=SQL
                    let keys: Vec<String> =
                        sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                            .bind(&index)
                            .fetch_all(&self.pool)
                            .await?;
                    if let Some(list) = &mut facts.indexes {
                        list.push((table.to_owned(), keys));
                    }
                }
                // The name is the contract's own (a constant), quoted.
                let count = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM \"{table}\""));
                let rows: i64 = sqlx::query_scalar(count).fetch_one(&self.pool).await?;
                facts.rows.push((table.to_owned(), rows));
            }
            for (table, column) in NEWEST {
                let present = facts
                    .columns
                    .iter()
                    .any(|c| c.table == table && c.column.eq_ignore_ascii_case(column));
                if !present {
                    continue;
                }
                let newest = sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(MAX(\"{column}\") AS TEXT) FROM \"{table}\""
                ));
                let value: Option<String> =
                    sqlx::query_scalar(newest).fetch_one(&self.pool).await?;
                facts
                    .newest
                    .push((table.to_owned(), column.to_owned(), value));
            }
            Ok(facts)
        })
        .await
    }
}

fn classify(error: sqlx::Error) -> GatewayError {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            GatewayError::Unavailable(Box::new(error))
        }
        sqlx::Error::Database(ref db) if db.message().contains("unable to open") => {
            GatewayError::Unavailable(Box::new(error))
        }
        other => GatewayError::Query(Box::new(other)),
    }
}

/// How many patient ids go into one query.
const ID_CHUNK: usize = 500;

/// A list of codes or ids as one JSON parameter (read with `json_each`), never spliced into SQL.
fn json_list(values: &[i64]) -> String {
    serde_json::to_string(values).unwrap_or_else(|_| "[]".to_owned())
}

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
}

fn parse_time(text: &str) -> Result<NaiveTime, sqlx::Error> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(text.trim(), "%H:%M"))
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

fn parse_datetime(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.get(..19).unwrap_or(text), "%Y-%m-%d %H:%M:%S").ok()
}

/// One `appointment` row (with its patient's English name) as `appointments_on` and
/// `appointment` select it.
type AppointmentRow = (
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
);

/// Reads one appointment row; `None` for a booking without a start time, which cannot be
/// reminded of or followed up.
fn booked(row: AppointmentRow) -> Result<Option<BookedAppointment>, sqlx::Error> {
    let (
        id,
        patient_id,
        name,
        name_en,
        mobile,
        doctor_id,
        doctor,
        date,
        starts,
        ends,
        status,
        booked,
    ) = row;
    let Some(starts) = starts.filter(|text| !text.trim().is_empty()) else {
        return Ok(None);
    };
    Ok(Some(BookedAppointment {
        id,
        patient_id,
        patient_name: name.unwrap_or_default(),
        patient_name_en: name_en.filter(|name| !name.trim().is_empty()),
        mobile,
        doctor_id,
        doctor_name: doctor.unwrap_or_default(),
        date: parse_day(&date)?,
        starts: parse_time(&starts)?,
        ends: ends
            .filter(|text| !text.trim().is_empty())
            .map(|text| parse_time(&text))
            .transpose()?,
        status,
        booked_at: booked.as_deref().and_then(parse_datetime),
    }))
}

fn parse_day(text: &str) -> Result<NaiveDate, sqlx::Error> {
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d")
        .map_err(|error| sqlx::Error::Decode(Box::new(error)))
}

/// `cash + span` of one invoice row in whole halalas (a literal, so queries stay `&'static str`).
macro_rules! invoice_halalas {
    () => {
        "CAST(ROUND((COALESCE(cash, 0) + COALESCE(span, 0)) * 100) AS INTEGER)"
    };
}

/// `amount` of one receipt row in whole halalas.
macro_rules! receipt_halalas {
    () => {
        "CAST(ROUND(COALESCE(amount, 0) * 100) AS INTEGER)"
    };
}

impl ClinicGateway for SqliteGateway {
    async fn ping(&self) -> Result<(), GatewayError> {
        self.run(sqlx::query("SELECT 1 FROM doctor LIMIT 1").execute(&self.pool))
            .await
            .map(|_| ())
    }

    async fn doctors(&self) -> Result<Vec<Doctor>, GatewayError> {
        // language=SQL
        let sql = r"SELECT id, name_a, name_e FROM doctor
                    WHERE name_a IS NOT NULL AND TRIM(name_a) <> ''
                    ORDER BY id";
        let rows: Vec<(i64, String, Option<String>)> =
            self.run(sqlx::query_as(sql).fetch_all(&self.pool)).await?;
        Ok(rows
            .into_iter()
            .map(|(id, name_ar, name_en)| Doctor {
                id,
                name_ar: name_ar.trim().to_owned(),
                name_en: name_en
                    .map(|name| name.trim().to_owned())
                    .filter(|name| !name.is_empty()),
            })
            .collect())
    }

    async fn revenue_by_day(&self, days: Days) -> Result<Vec<DailyRevenue>, GatewayError> {
        // One index range per day instead of a GROUP BY over the whole range: SQLite would sort
        // every row of the year by day (3x slower on a 3-million-appointment clinic). Money is
        // summed per day and rounded to halalas once, exact for two-decimal amounts.
        // language=SQL
        let sql = r"WITH RECURSIVE day(d, next) AS (
                        SELECT ?1, date(?1, '+1 day')
                        UNION ALL
                        SELECT next, date(next, '+1 day') FROM day WHERE next < ?2
                    )
                    SELECT d,
                           CAST(ROUND(COALESCE((SELECT SUM(COALESCE(cash, 0) + COALESCE(span, 0))
                                                FROM invoice_h
                                                WHERE inv_dt >= d AND inv_dt < next), 0) * 100)
                                AS INTEGER),
                           CAST(ROUND(COALESCE((SELECT SUM(COALESCE(amount, 0))
                                                FROM receipts
                                                WHERE rcpt_dt >= d AND rcpt_dt < next), 0) * 100)
                                AS INTEGER)
                    FROM day";
        if days.from >= days.to {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, i64, i64)> = self
            .run(
                sqlx::query_as(sql)
                    .bind(day(days.from))
                    .bind(day(days.to))
                    .fetch_all(&self.pool),
            )
            .await?;
        let mut revenue = Vec::with_capacity(rows.len());
        for (date, invoices, receipts) in rows {
            if invoices != 0 || receipts != 0 {
                revenue.push(DailyRevenue {
                    date: parse_day(&date).map_err(classify)?,
                    halalas: invoices + receipts,
                });
            }
        }
        Ok(revenue)
    }

    async fn revenue_by_doctor(&self, days: Days) -> Result<Vec<DoctorRevenue>, GatewayError> {
        // language=SQL
        let sql = concat!(
            r"SELECT doc_id, SUM(halalas) FROM (
                  SELECT doc_id, ",
            invoice_halalas!(),
            r" AS halalas
                  FROM invoice_h WHERE inv_dt >= ?1 AND inv_dt < ?2
                  UNION ALL
                  SELECT doc_id, ",
            receipt_halalas!(),
            r"
                  FROM receipts WHERE rcpt_dt >= ?1 AND rcpt_dt < ?2
              ) WHERE doc_id IS NOT NULL GROUP BY doc_id ORDER BY doc_id"
        );
        let rows: Vec<(i64, i64)> = self
            .run(
                sqlx::query_as(sql)
                    .bind(day(days.from))
                    .bind(day(days.to))
                    .fetch_all(&self.pool),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(doctor_id, halalas)| DoctorRevenue { doctor_id, halalas })
            .collect())
    }

    async fn patient_revenue(
        &self,
        days: Days,
        doctor_id: Option<i64>,
    ) -> Result<PatientRevenue, GatewayError> {
        // language=SQL
        let sql = concat!(
            r"SELECT COALESCE(SUM(halalas), 0), COUNT(DISTINCT pt_id) FROM (
                  SELECT pt_id, ",
            invoice_halalas!(),
            r" AS halalas
                  FROM invoice_h WHERE inv_dt >= ?1 AND inv_dt < ?2
                    AND (?3 IS NULL OR doc_id = ?3)
                  UNION ALL
                  SELECT pt_id, ",
            receipt_halalas!(),
            r"
                  FROM receipts WHERE rcpt_dt >= ?1 AND rcpt_dt < ?2
                    AND (?3 IS NULL OR doc_id = ?3)
              )"
        );
        let (halalas, patients): (i64, i64) = self
            .run(
                sqlx::query_as(sql)
                    .bind(day(days.from))
                    .bind(day(days.to))
                    .bind(doctor_id)
                    .fetch_one(&self.pool),
            )
            .await?;
        Ok(PatientRevenue { halalas, patients })
    }

    async fn appointments_by_day(
        &self,
        days: Days,
        cancelled: &[i64],
    ) -> Result<Vec<DailyAppointments>, GatewayError> {
        if days.from >= days.to {
            return Ok(Vec::new());
        }
        // The status list is a JSON array bound as one parameter, never spliced into the SQL.
        let cancelled = serde_json::to_string(cancelled).unwrap_or_else(|_| "[]".to_owned());
        // Two cheap reads instead of joining every appointment to its patient (a random
        // look-up per row): the day's count by index range, then only the patients registered
        // since the range began, which are the only ones who can be new (or not yet
        // registered) on a day of the range. Everyone else registered earlier: returning.
        // language=SQL
        let totals = r"WITH RECURSIVE day(d, next) AS (
                           SELECT ?1, date(?1, '+1 day')
                           UNION ALL
                           SELECT next, date(next, '+1 day') FROM day WHERE next < ?2
                       )
                       SELECT d, (SELECT COUNT(*) FROM appointment
                                  WHERE app_dt >= d AND app_dt < next
                                    AND app_status NOT IN (SELECT value FROM json_each(?3)))
                       FROM day";
        // language=SQL
        let recent = r"SELECT substr(a.app_dt, 1, 10) AS d,
                              SUM(p.trans_dt >= substr(a.app_dt, 1, 10)
                                  AND p.trans_dt < date(substr(a.app_dt, 1, 10), '+1 day')),
                              SUM(p.trans_dt >= date(substr(a.app_dt, 1, 10), '+1 day'))
                       FROM patient p CROSS JOIN appointment a ON a.pt_id = p.id
                       WHERE p.trans_dt >= ?1
                         AND a.app_dt >= ?1 AND a.app_dt < ?2
                         AND a.app_status NOT IN (SELECT value FROM json_each(?3))
                       GROUP BY d";
        let (from, to) = (day(days.from), day(days.to));
        let totals: Vec<(String, i64)> = self
            .run(
                sqlx::query_as(totals)
                    .bind(&from)
                    .bind(&to)
                    .bind(&cancelled)
                    .fetch_all(&self.pool),
            )
            .await?;
        let recent: Vec<(String, i64, i64)> = self
            .run(
                sqlx::query_as(recent)
                    .bind(&from)
                    .bind(&to)
                    .bind(&cancelled)
                    .fetch_all(&self.pool),
            )
            .await?;
        let mut by_day = Vec::with_capacity(totals.len());
        for (date, total) in totals {
            if total == 0 {
                continue;
            }
            let (new, not_yet_registered) = recent
                .iter()
                .find(|(d, _, _)| *d == date)
                .map_or((0, 0), |(_, new, later)| (*new, *later));
            by_day.push(DailyAppointments {
                date: parse_day(&date).map_err(classify)?,
                total,
                new,
                after_registration: total - new - not_yet_registered,
            });
        }
        Ok(by_day)
    }

    async fn appointments_on(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<BookedAppointment>, GatewayError> {
        // language=SQL
        let sql = r"SELECT a.id, a.pt_id, a.pt_name, p.name_e, a.mobile, a.doc_id, a.doc_nm, a.app_dt,
                           a.from_tm, a.to_tm, a.app_status, a.trans_dt
                    FROM appointment a LEFT JOIN patient p ON p.id = a.pt_id
                    WHERE a.app_dt >= ?1 AND a.app_dt < ?2
                    ORDER BY a.from_tm, a.id";
        let next = day.succ_opt().unwrap_or(day);
        let rows: Vec<AppointmentRow> = self
            .run(
                sqlx::query_as(sql)
                    .bind(self::day(day))
                    .bind(self::day(next))
                    .fetch_all(&self.pool),
            )
            .await?;
        let mut appointments = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(appointment) = booked(row).map_err(classify)? {
                appointments.push(appointment);
            }
        }
        Ok(appointments)
    }

    async fn appointment(&self, id: i64) -> Result<Option<BookedAppointment>, GatewayError> {
        // language=SQL
        let sql = r"SELECT a.id, a.pt_id, a.pt_name, p.name_e, a.mobile, a.doc_id, a.doc_nm, a.app_dt,
                           a.from_tm, a.to_tm, a.app_status, a.trans_dt
                    FROM appointment a LEFT JOIN patient p ON p.id = a.pt_id
                    WHERE a.id = ?1";
        let row: Option<AppointmentRow> = self
            .run(sqlx::query_as(sql).bind(id).fetch_optional(&self.pool))
            .await?;
        match row {
            Some(row) => booked(row).map_err(classify),
            None => Ok(None),
        }
    }

    async fn new_patients(&self, days: Days) -> Result<i64, GatewayError> {
        // language=SQL
        let sql = "SELECT COUNT(*) FROM patient WHERE trans_dt >= ?1 AND trans_dt < ?2";
        self.run(
            sqlx::query_scalar(sql)
                .bind(day(days.from))
                .bind(day(days.to))
                .fetch_one(&self.pool),
        )
        .await
    }
    async fn lapsed_patients(
        &self,
        query: &LapsedQuery,
    ) -> Result<Vec<LapsedPatient>, GatewayError> {
        // Per patient, two seeks in the (pt_id, app_dt, app_status) index: the last visit
        // before tomorrow and any booking from tomorrow on. Revenue is then summed only for
        // the lapsed patients, through the `pt_id` indexes, and only one page leaves SQLite.
        // language=SQL
        let sql = concat!(
            r"WITH lapsed AS MATERIALIZED (
                  SELECT c.pt_id, c.last_visit FROM (
                      SELECT p.id AS pt_id,
                             (SELECT MAX(a.app_dt) FROM appointment a
                              WHERE a.pt_id = p.id AND a.app_dt < ?1
                                AND a.app_status NOT IN (SELECT value FROM json_each(?3)))
                             AS last_visit
                      FROM patient p
                  ) AS c
                  WHERE c.last_visit < ?2
                    AND NOT EXISTS (
                        SELECT 1 FROM appointment f
                        WHERE f.pt_id = c.pt_id AND f.app_dt >= ?1
                          AND f.app_status NOT IN (SELECT value FROM json_each(?4)))
              ),
              paid AS (
                  SELECT i.pt_id, ",
            invoice_halalas!(),
            r" AS halalas
                  FROM invoice_h i JOIN lapsed l ON i.pt_id = l.pt_id
                  UNION ALL
                  SELECT r.pt_id, ",
            receipt_halalas!(),
            r"
                  FROM receipts r JOIN lapsed l ON r.pt_id = l.pt_id
              ),
              lifetime AS (SELECT pt_id, SUM(halalas) AS halalas FROM paid GROUP BY pt_id)
              SELECT l.pt_id, p.name_a, p.name_e, p.mobile, substr(l.last_visit, 1, 10),
                     COALESCE(t.halalas, 0) AS lifetime
              FROM lapsed l
              JOIN patient p ON p.id = l.pt_id
              LEFT JOIN lifetime t ON t.pt_id = l.pt_id
              ORDER BY lifetime DESC, l.pt_id
              LIMIT ?5 OFFSET ?6"
        );
        let tomorrow = query.today.succ_opt().unwrap_or(query.today);
        type Row = (
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            String,
            i64,
        );
        let rows: Vec<Row> = self
            .run(
                sqlx::query_as(sql)
                    .bind(day(tomorrow))
                    .bind(day(query.last_visit_before))
                    .bind(json_list(&query.not_visits))
                    .bind(json_list(&query.cancelled))
                    .bind(query.limit)
                    .bind(query.offset)
                    .fetch_all(&self.pool),
            )
            .await?;
        rows.into_iter()
            .map(
                |(patient_id, name_ar, name_en, mobile, last_visit, lifetime)| {
                    Ok(LapsedPatient {
                        patient_id,
                        name_ar: name_ar.unwrap_or_default(),
                        name_en: name_en.filter(|name| !name.trim().is_empty()),
                        mobile,
                        last_visit: parse_day(&last_visit).map_err(classify)?,
                        lifetime_halalas: lifetime,
                    })
                },
            )
            .collect()
    }

    async fn last_visits(
        &self,
        patient_ids: &[i64],
        today: NaiveDate,
        not_visits: &[i64],
    ) -> Result<Vec<LastVisit>, GatewayError> {
        // language=SQL
        let sql = r"SELECT pt_id, substr(app_dt, 1, 10), from_tm, id, doc_id, doc_nm
                    FROM appointment
                    WHERE pt_id IN (SELECT value FROM json_each(?1))
                      AND app_dt < ?2
                      AND app_status NOT IN (SELECT value FROM json_each(?3))";
        let tomorrow = today.succ_opt().unwrap_or(today);
        let mut visits = Vec::new();
        for chunk in patient_ids.chunks(ID_CHUNK) {
            type Row = (i64, String, Option<String>, i64, i64, Option<String>);
            let rows: Vec<Row> = self
                .run(
                    sqlx::query_as(sql)
                        .bind(json_list(chunk))
                        .bind(day(tomorrow))
                        .bind(json_list(not_visits))
                        .fetch_all(&self.pool),
                )
                .await?;
            for (patient_id, date, starts, id, doctor_id, doctor_name) in rows {
                let starts = starts
                    .as_deref()
                    .and_then(|text| parse_time(text).ok())
                    .unwrap_or(NaiveTime::MIN);
                visits.push((
                    LastVisit {
                        patient_id,
                        date: parse_day(&date).map_err(classify)?,
                        doctor_id,
                        doctor_name: doctor_name.unwrap_or_default(),
                    },
                    starts,
                    id,
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
        // language=SQL
        let sql = r"SELECT id, pt_id, substr(app_dt, 1, 10), doc_id, doc_nm, trans_dt
                    FROM appointment
                    WHERE pt_id IN (SELECT value FROM json_each(?1))
                      AND trans_dt >= ?2
                      AND app_status NOT IN (SELECT value FROM json_each(?3))
                    ORDER BY trans_dt, id";
        let since = since.format("%Y-%m-%d %H:%M:%S").to_string();
        let mut bookings = Vec::new();
        for chunk in patient_ids.chunks(ID_CHUNK) {
            type Row = (i64, i64, String, i64, Option<String>, Option<String>);
            let rows: Vec<Row> = self
                .run(
                    sqlx::query_as(sql)
                        .bind(json_list(chunk))
                        .bind(&since)
                        .bind(json_list(cancelled))
                        .fetch_all(&self.pool),
                )
                .await?;
            for (appointment_id, patient_id, date, doctor_id, doctor_name, booked) in rows {
                bookings.push(Booking {
                    appointment_id,
                    patient_id,
                    date: parse_day(&date).map_err(classify)?,
                    doctor_id,
                    doctor_name: doctor_name.unwrap_or_default(),
                    booked_at: booked.as_deref().and_then(parse_datetime),
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
        // A scan of the patient table (a PMS keeps no index on a normalised mobile); only the
        // few candidates come back.
        // language=SQL
        let sql = r"SELECT id, name_a, name_e, mobile FROM patient
                    WHERE REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(mobile,
                              ' ', ''), '-', ''), '+', ''), '.', ''), '(', ''), ')', '')
                          LIKE '%' || ?1
                    ORDER BY id";
        type Row = (i64, Option<String>, Option<String>, Option<String>);
        let rows: Vec<Row> = self
            .run(sqlx::query_as(sql).bind(tail).fetch_all(&self.pool))
            .await?;
        Ok(rows
            .into_iter()
            .map(|(patient_id, name_ar, name_en, mobile)| PatientContact {
                patient_id,
                name_ar: name_ar.unwrap_or_default(),
                name_en: name_en.filter(|n| !n.trim().is_empty()),
                mobile: mobile.unwrap_or_default(),
            })
            .collect())
    }

    async fn revenue_since(
        &self,
        patient_ids: &[i64],
        from: NaiveDate,
    ) -> Result<Vec<(i64, i64)>, GatewayError> {
        // language=SQL
        let sql = concat!(
            r"SELECT pt_id, SUM(halalas) FROM (
                  SELECT pt_id, ",
            invoice_halalas!(),
            r" AS halalas FROM invoice_h
                  WHERE pt_id IN (SELECT value FROM json_each(?1)) AND inv_dt >= ?2
                  UNION ALL
                  SELECT pt_id, ",
            receipt_halalas!(),
            r" FROM receipts
                  WHERE pt_id IN (SELECT value FROM json_each(?1)) AND rcpt_dt >= ?2
              ) GROUP BY pt_id ORDER BY pt_id"
        );
        let mut revenue = Vec::new();
        for chunk in patient_ids.chunks(ID_CHUNK) {
            let rows: Vec<(i64, i64)> = self
                .run(
                    sqlx::query_as(sql)
                        .bind(json_list(chunk))
                        .bind(day(from))
                        .fetch_all(&self.pool),
                )
                .await?;
            revenue.extend(rows);
        }
        Ok(revenue)
    }
}
