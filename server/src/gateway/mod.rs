//! The clinic gateway: every read Nabd makes of the clinic's practice-management database,
//! behind one trait with two adapters that must give identical answers on identical data:
//! SQLite (the embedded demo clinic) and SQL Server (tiberius).
//!
//! Dates are clinic-local. Every date filter is a half-open range on the raw column
//! (`col >= from AND col < to`), so it works whether the PMS stores a `date` or a `datetime`
//! and keeps the PMS's indexes usable. Money is whole halalas (1/100 SAR) as `i64`, summed
//! exactly.

pub mod mssql;
pub mod sqlite;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use std::future::Future;

/// A doctor as the PMS lists them. Rows with an empty `name_a` are not real doctors and are
/// never returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doctor {
    pub id: i64,
    pub name_ar: String,
    pub name_en: Option<String>,
}

/// Revenue collected on one clinic-local day (invoices plus receipts), in halalas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyRevenue {
    pub date: NaiveDate,
    pub halalas: i64,
}

/// Revenue attributed to one doctor over a period, in halalas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoctorRevenue {
    pub doctor_id: i64,
    pub halalas: i64,
}

/// Revenue over a period and the number of distinct patients it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PatientRevenue {
    pub halalas: i64,
    pub patients: i64,
}

/// Appointments (not cancelled) on one day, split by whether the patient registered that day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyAppointments {
    pub date: NaiveDate,
    /// All appointments that day whose status is not cancelled.
    pub total: i64,
    /// Those whose patient registered (`patient.trans_dt`) on that date.
    pub new: i64,
    /// Those whose patient registered before that date, or whose registration date is unknown
    /// (no patient row, or no `trans_dt`): they are not that day's new patients.
    pub after_registration: i64,
}

/// One booked appointment, as reminders and feedback requests read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedAppointment {
    pub id: i64,
    pub patient_id: i64,
    /// `pt_name` as the PMS wrote it on the booking.
    pub patient_name: String,
    /// The mobile as typed at the desk (unnormalised; may be malformed or missing).
    pub mobile: Option<String>,
    pub doctor_id: i64,
    /// `doc_nm` as the PMS wrote it on the booking.
    pub doctor_name: String,
    pub date: NaiveDate,
    /// `from_tm`: when the visit starts.
    pub starts: NaiveTime,
    /// `to_tm`: set once the visit has ended.
    pub ends: Option<NaiveTime>,
    pub status: i64,
    /// `trans_dt`: when it was booked.
    pub booked_at: Option<NaiveDateTime>,
}

/// A half-open range of clinic-local days, `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Days {
    /// Returns the range `[from, to)`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Self {
        Self { from, to }
    }

    /// Splits the range into two halves that together cover it, to read them concurrently.
    pub fn halves(self) -> (Self, Self) {
        let middle =
            self.from + chrono::Days::new(((self.to - self.from).num_days().max(0) / 2) as u64);
        (Self::new(self.from, middle), Self::new(middle, self.to))
    }
}

/// The appointment status codes, configurable because each PMS numbers them its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCodes {
    pub unconfirmed: Vec<i64>,
    pub confirmed: Vec<i64>,
    pub attended: Vec<i64>,
    pub cancelled: Vec<i64>,
    pub no_show: Vec<i64>,
}

impl Default for StatusCodes {
    fn default() -> Self {
        Self {
            unconfirmed: vec![0],
            confirmed: vec![1],
            attended: vec![2],
            cancelled: vec![3],
            no_show: vec![4],
        }
    }
}

/// Why a read of the clinic database failed. Logged with its cause; shown to users only as
/// "the clinic database is unavailable".
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The database could not be reached or refused the connection.
    #[error("the clinic database is unreachable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A query took longer than the configured timeout.
    #[error("the clinic database did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// A query failed (missing table or column, type mismatch).
    #[error("a clinic database query failed")]
    Query(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Every read of the clinic database that the dashboard needs. Implementations run each
/// call under a timeout and never write.
pub trait ClinicGateway: Send + Sync {
    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = Result<(), GatewayError>> + Send;

    /// Lists the real doctors (non-empty `name_a`), by id.
    fn doctors(&self) -> impl Future<Output = Result<Vec<Doctor>, GatewayError>> + Send;

    /// Returns revenue per day in `days` (days without revenue are absent).
    fn revenue_by_day(
        &self,
        days: Days,
    ) -> impl Future<Output = Result<Vec<DailyRevenue>, GatewayError>> + Send;

    /// Returns revenue per doctor in `days` (doctors without revenue are absent).
    fn revenue_by_doctor(
        &self,
        days: Days,
    ) -> impl Future<Output = Result<Vec<DoctorRevenue>, GatewayError>> + Send;

    /// Returns revenue in `days` and how many distinct patients paid it, for one doctor or all.
    fn patient_revenue(
        &self,
        days: Days,
        doctor_id: Option<i64>,
    ) -> impl Future<Output = Result<PatientRevenue, GatewayError>> + Send;

    /// Returns the non-cancelled appointments per day in `days` (days without any are absent).
    fn appointments_by_day(
        &self,
        days: Days,
        cancelled: &[i64],
    ) -> impl Future<Output = Result<Vec<DailyAppointments>, GatewayError>> + Send;

    /// Lists every appointment on `day` (any status), by start time then id.
    fn appointments_on(
        &self,
        day: NaiveDate,
    ) -> impl Future<Output = Result<Vec<BookedAppointment>, GatewayError>> + Send;

    /// Counts patients registered (`trans_dt`) within `days`.
    fn new_patients(&self, days: Days) -> impl Future<Output = Result<i64, GatewayError>> + Send;
}
