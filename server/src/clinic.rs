//! Reaching the clinic's practice-management database. For now only a liveness probe for
//! `/readyz`; the gateway with every read the product needs grows here.

use crate::config::Secret;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// How long a readiness probe waits for the clinic database.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// A handle on the clinic database, or the reason there is none.
#[derive(Debug, Clone)]
pub enum Clinic {
    /// `NABD_CLINIC_URL` is not set.
    NotConfigured,
    /// The embedded demo clinic (SQLite), opened read only.
    Sqlite(SqlitePool),
    /// A SQL Server connection string, reached through the gateway.
    SqlServer(Secret),
}

impl Clinic {
    /// Prepares a handle for `url` without connecting yet (a clinic database that is down at
    /// start must not stop Nabd from serving).
    pub fn from_url(url: Option<&Secret>) -> Result<Self, sqlx::Error> {
        let Some(url) = url else {
            return Ok(Self::NotConfigured);
        };
        if !url.expose().starts_with("sqlite:") {
            return Ok(Self::SqlServer(url.clone()));
        }
        let options = SqliteConnectOptions::from_str(url.expose())?
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(PROBE_TIMEOUT)
            .connect_lazy_with(options);
        Ok(Self::Sqlite(pool))
    }

    /// Checks that the clinic database answers, within a few seconds.
    pub async fn ping(&self) -> Result<(), String> {
        match self {
            Self::NotConfigured => Err("NABD_CLINIC_URL is not set".to_owned()),
            Self::SqlServer(_) => {
                Err("SQL Server clinics are not supported by this build yet".to_owned())
            }
            Self::Sqlite(pool) => {
                let query = sqlx::query("SELECT 1").execute(pool);
                match tokio::time::timeout(PROBE_TIMEOUT, query).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(error.to_string()),
                    Err(_) => Err("timed out".to_owned()),
                }
            }
        }
    }
}
