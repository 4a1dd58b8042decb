//! The embedded demo clinic: the clinic data contract as a SQLite database, read through sqlx.
//!
//! Dates are stored as ISO text (`YYYY-MM-DD` for `date` columns, `YYYY-MM-DD HH:MM:SS` for
//! `datetime` ones), so a half-open range with date-only bounds (`>= '2026-01-05' AND <
//! '2026-01-06'`) selects the right rows of either kind and uses the column's index.

use super::{
    ClinicGateway, DailyAppointments, DailyRevenue, Days, Doctor, DoctorRevenue, GatewayError,
    PatientRevenue,
};
use chrono::NaiveDate;
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

fn day(date: NaiveDate) -> String {
    date.format("%Y-%m-%d").to_string()
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
        // language=SQL
        let sql = concat!(
            r"SELECT day, SUM(halalas) FROM (
                  SELECT substr(inv_dt, 1, 10) AS day, ",
            invoice_halalas!(),
            r" AS halalas
                  FROM invoice_h WHERE inv_dt >= ?1 AND inv_dt < ?2
                  UNION ALL
                  SELECT substr(rcpt_dt, 1, 10), ",
            receipt_halalas!(),
            r"
                  FROM receipts WHERE rcpt_dt >= ?1 AND rcpt_dt < ?2
              ) GROUP BY day ORDER BY day"
        );
        let rows: Vec<(String, i64)> = self
            .run(
                sqlx::query_as(sql)
                    .bind(day(days.from))
                    .bind(day(days.to))
                    .fetch_all(&self.pool),
            )
            .await?;
        rows.into_iter()
            .map(|(date, halalas)| {
                Ok(DailyRevenue {
                    date: parse_day(&date).map_err(classify)?,
                    halalas,
                })
            })
            .collect()
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
        // The status list is a JSON array bound as one parameter, never spliced into the SQL.
        let cancelled = serde_json::to_string(cancelled).unwrap_or_else(|_| "[]".to_owned());
        // language=SQL
        let sql = r"SELECT substr(a.app_dt, 1, 10) AS day,
                           COUNT(*),
                           SUM(CASE WHEN p.trans_dt >= substr(a.app_dt, 1, 10)
                                     AND p.trans_dt < date(substr(a.app_dt, 1, 10), '+1 day')
                                    THEN 1 ELSE 0 END),
                           SUM(CASE WHEN p.trans_dt < substr(a.app_dt, 1, 10) THEN 1 ELSE 0 END)
                    FROM appointment a LEFT JOIN patient p ON p.id = a.pt_id
                    WHERE a.app_dt >= ?1 AND a.app_dt < ?2
                      AND a.app_status NOT IN (SELECT value FROM json_each(?3))
                    GROUP BY day ORDER BY day";
        let rows: Vec<(String, i64, i64, i64)> = self
            .run(
                sqlx::query_as(sql)
                    .bind(day(days.from))
                    .bind(day(days.to))
                    .bind(cancelled)
                    .fetch_all(&self.pool),
            )
            .await?;
        rows.into_iter()
            .map(|(date, total, new, after_registration)| {
                Ok(DailyAppointments {
                    date: parse_day(&date).map_err(classify)?,
                    total,
                    new,
                    after_registration,
                })
            })
            .collect()
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
}
