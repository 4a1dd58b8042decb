//! The clinic database as configured: the embedded demo clinic (SQLite), SQL Server, or none.
//! Dispatches every gateway read to the adapter in use.

use crate::config::Secret;
use crate::gateway::mssql::MssqlGateway;
use crate::gateway::sqlite::SqliteGateway;
use crate::gateway::{
    BookedAppointment, ClinicGateway, DailyAppointments, DailyRevenue, Days, Doctor, DoctorRevenue,
    GatewayError, PatientRevenue,
};
use chrono::NaiveDate;
use std::sync::Arc;
use std::time::Duration;

/// The clinic database in use.
#[derive(Debug, Clone)]
pub enum Clinic {
    /// `NABD_CLINIC_URL` is not set.
    NotConfigured,
    /// The embedded demo clinic (SQLite), read only.
    Sqlite(SqliteGateway),
    /// The clinic's SQL Server, through tiberius.
    SqlServer(Arc<MssqlGateway>),
}

#[derive(Debug, thiserror::Error)]
#[error("NABD_CLINIC_URL is not set")]
struct NotConfigured;

impl Clinic {
    /// Prepares the adapter the configuration names (`NABD_CLINIC_URL`, its pool size and
    /// timeout), without connecting yet.
    pub fn from_config(config: &crate::config::Config) -> Result<Self, GatewayError> {
        Self::from_url(
            config.clinic_url.as_ref(),
            usize::from(config.clinic_pool_size),
            config.clinic_timeout(),
        )
    }

    /// Prepares the adapter for `url` without connecting yet (a clinic database that is down
    /// at start must not stop Nabd from serving); each query gives up after `timeout`.
    /// `pool_size` bounds the SQL Server connections.
    pub fn from_url(
        url: Option<&Secret>,
        pool_size: usize,
        timeout: Duration,
    ) -> Result<Self, GatewayError> {
        let Some(url) = url else {
            return Ok(Self::NotConfigured);
        };
        if url.expose().starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteGateway::new(url.expose(), timeout)?))
        } else {
            let gateway = MssqlGateway::new(url.expose(), pool_size, timeout)?;
            Ok(Self::SqlServer(Arc::new(gateway)))
        }
    }
}

impl Clinic {
    /// Reads what [`crate::gateway::inspect::judge`] needs to say whether the clinic database
    /// fits the contract (`nabd check`).
    pub async fn inspect(&self) -> Result<crate::gateway::inspect::Facts, GatewayError> {
        match self {
            Self::Sqlite(gateway) => gateway.inspect().await,
            Self::SqlServer(gateway) => gateway.inspect().await,
            Self::NotConfigured => Err(GatewayError::Unavailable(Box::new(NotConfigured))),
        }
    }
}

/// Forwards one gateway call to the adapter in use, timing it under the query's name
/// (`nabd_clinic_query_seconds`).
macro_rules! dispatch {
    ($self:ident, $query:literal, $gateway:ident => $call:expr) => {{
        let started = std::time::Instant::now();
        let result = match $self {
            Self::Sqlite($gateway) => $call.await,
            Self::SqlServer($gateway) => $call.await,
            Self::NotConfigured => return Err(GatewayError::Unavailable(Box::new(NotConfigured))),
        };
        crate::platform::metrics::clinic_query($query, started.elapsed(), result.is_ok());
        result
    }};
}

impl ClinicGateway for Clinic {
    async fn ping(&self) -> Result<(), GatewayError> {
        dispatch!(self, "ping", gateway => gateway.ping())
    }

    async fn doctors(&self) -> Result<Vec<Doctor>, GatewayError> {
        dispatch!(self, "doctors", gateway => gateway.doctors())
    }

    async fn revenue_by_day(&self, days: Days) -> Result<Vec<DailyRevenue>, GatewayError> {
        dispatch!(self, "revenue_by_day", gateway => gateway.revenue_by_day(days))
    }

    async fn revenue_by_doctor(&self, days: Days) -> Result<Vec<DoctorRevenue>, GatewayError> {
        dispatch!(self, "revenue_by_doctor", gateway => gateway.revenue_by_doctor(days))
    }

    async fn patient_revenue(
        &self,
        days: Days,
        doctor_id: Option<i64>,
    ) -> Result<PatientRevenue, GatewayError> {
        dispatch!(self, "patient_revenue", gateway => gateway.patient_revenue(days, doctor_id))
    }

    async fn appointments_by_day(
        &self,
        days: Days,
        cancelled: &[i64],
    ) -> Result<Vec<DailyAppointments>, GatewayError> {
        dispatch!(self, "appointments_by_day", gateway => gateway.appointments_by_day(days, cancelled))
    }

    async fn appointments_on(
        &self,
        day: NaiveDate,
    ) -> Result<Vec<BookedAppointment>, GatewayError> {
        dispatch!(self, "appointments_on", gateway => gateway.appointments_on(day))
    }

    async fn appointment(&self, id: i64) -> Result<Option<BookedAppointment>, GatewayError> {
        dispatch!(self, "appointment", gateway => gateway.appointment(id))
    }

    async fn new_patients(&self, days: Days) -> Result<i64, GatewayError> {
        dispatch!(self, "new_patients", gateway => gateway.new_patients(days))
    }

    async fn lapsed_patients(
        &self,
        query: &crate::gateway::LapsedQuery,
    ) -> Result<Vec<crate::gateway::LapsedPatient>, GatewayError> {
        dispatch!(self, "lapsed_patients", gateway => gateway.lapsed_patients(query))
    }

    async fn last_visits(
        &self,
        patient_ids: &[i64],
        today: NaiveDate,
        not_visits: &[i64],
    ) -> Result<Vec<crate::gateway::LastVisit>, GatewayError> {
        dispatch!(self, "last_visits", gateway => gateway.last_visits(patient_ids, today, not_visits))
    }

    async fn bookings_since(
        &self,
        patient_ids: &[i64],
        since: chrono::NaiveDateTime,
        cancelled: &[i64],
    ) -> Result<Vec<crate::gateway::Booking>, GatewayError> {
        dispatch!(self, "bookings_since", gateway => gateway.bookings_since(patient_ids, since, cancelled))
    }

    async fn revenue_since(
        &self,
        patient_ids: &[i64],
        from: NaiveDate,
    ) -> Result<Vec<(i64, i64)>, GatewayError> {
        dispatch!(self, "revenue_since", gateway => gateway.revenue_since(patient_ids, from))
    }

    async fn patients_with_mobile_ending(
        &self,
        tail: &str,
    ) -> Result<Vec<crate::gateway::PatientContact>, GatewayError> {
        dispatch!(self, "patients_with_mobile_ending", gateway => gateway.patients_with_mobile_ending(tail))
    }
}
