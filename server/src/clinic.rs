//! The clinic database as configured: the embedded demo clinic (SQLite), SQL Server, or none.
//! Dispatches every gateway read to the adapter in use.

use crate::config::Secret;
use crate::gateway::sqlite::SqliteGateway;
use crate::gateway::{
    ClinicGateway, DailyAppointments, DailyRevenue, Days, Doctor, DoctorRevenue, GatewayError,
    PatientRevenue,
};
use std::time::Duration;

/// The clinic database in use.
#[derive(Debug, Clone)]
pub enum Clinic {
    /// `NABD_CLINIC_URL` is not set.
    NotConfigured,
    /// The embedded demo clinic (SQLite), read only.
    Sqlite(SqliteGateway),
    /// A SQL Server connection string, whose adapter this build does not have yet.
    SqlServer(Secret),
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Reason(&'static str);

impl Clinic {
    /// Prepares the adapter for `url` without connecting yet (a clinic database that is down
    /// at start must not stop Nabd from serving); each query gives up after `timeout`.
    pub fn from_url(url: Option<&Secret>, timeout: Duration) -> Result<Self, GatewayError> {
        let Some(url) = url else {
            return Ok(Self::NotConfigured);
        };
        if url.expose().starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteGateway::new(url.expose(), timeout)?))
        } else {
            Ok(Self::SqlServer(url.clone()))
        }
    }

    fn missing(&self) -> GatewayError {
        let reason = match self {
            Self::NotConfigured => "NABD_CLINIC_URL is not set",
            _ => "SQL Server clinics are not supported by this build yet",
        };
        GatewayError::Unavailable(Box::new(Reason(reason)))
    }
}

/// Forwards one gateway call to the adapter in use.
macro_rules! dispatch {
    ($self:ident, $gateway:ident => $call:expr) => {
        match $self {
            Self::Sqlite($gateway) => $call.await,
            _ => Err($self.missing()),
        }
    };
}

impl ClinicGateway for Clinic {
    async fn ping(&self) -> Result<(), GatewayError> {
        dispatch!(self, gateway => gateway.ping())
    }

    async fn doctors(&self) -> Result<Vec<Doctor>, GatewayError> {
        dispatch!(self, gateway => gateway.doctors())
    }

    async fn revenue_by_day(&self, days: Days) -> Result<Vec<DailyRevenue>, GatewayError> {
        dispatch!(self, gateway => gateway.revenue_by_day(days))
    }

    async fn revenue_by_doctor(&self, days: Days) -> Result<Vec<DoctorRevenue>, GatewayError> {
        dispatch!(self, gateway => gateway.revenue_by_doctor(days))
    }

    async fn patient_revenue(
        &self,
        days: Days,
        doctor_id: Option<i64>,
    ) -> Result<PatientRevenue, GatewayError> {
        dispatch!(self, gateway => gateway.patient_revenue(days, doctor_id))
    }

    async fn appointments_by_day(
        &self,
        days: Days,
        cancelled: &[i64],
    ) -> Result<Vec<DailyAppointments>, GatewayError> {
        dispatch!(self, gateway => gateway.appointments_by_day(days, cancelled))
    }

    async fn new_patients(&self, days: Days) -> Result<i64, GatewayError> {
        dispatch!(self, gateway => gateway.new_patients(days))
    }
}
