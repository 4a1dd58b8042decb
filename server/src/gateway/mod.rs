//! The clinic gateway: every read Nabd makes of the clinic's practice-management database,
//! behind one trait with two adapters that must give identical answers on identical data:
//! SQLite (the embedded demo clinic) and SQL Server (tiberius).
//!
//! Dates are clinic-local. Every date filter is a half-open range on the raw column
//! (`col >= from AND col < to`), so it works whether the PMS stores a `date` or a `datetime`
//! and keeps the PMS's indexes usable. Money is whole halalas (1/100 SAR) as `i64`, summed
//! exactly.

pub mod clinic;
pub mod inspect;
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
    /// The patient's English name (`patient.name_e`), when the PMS has one.
    pub patient_name_en: Option<String>,
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

/// A patient whose last visit is older than a cutoff and who has nothing booked ahead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapsedPatient {
    pub patient_id: i64,
    /// `patient.name_a`.
    pub name_ar: String,
    pub name_en: Option<String>,
    /// The mobile as typed at the desk (unnormalised; may be malformed or missing).
    pub mobile: Option<String>,
    /// The date of their last visit.
    pub last_visit: NaiveDate,
    /// Everything the patient has paid, ever, in halalas.
    pub lifetime_halalas: i64,
}

/// Which patients count as lapsed, and which page of them to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapsedQuery {
    /// The clinic-local today: visits are on or before it, bookings after it are "ahead".
    pub today: NaiveDate,
    /// Lapsed means the last visit is before this date.
    pub last_visit_before: NaiveDate,
    /// Statuses that are not visits (cancelled and no-show).
    pub not_visits: Vec<i64>,
    /// Statuses that are not bookings (cancelled).
    pub cancelled: Vec<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// A patient's last visit: when, and with which doctor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastVisit {
    pub patient_id: i64,
    pub date: NaiveDate,
    pub doctor_id: i64,
    /// `doc_nm` as the PMS wrote it on that booking.
    pub doctor_name: String,
}

/// An appointment as the campaign's conversion tracking reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub appointment_id: i64,
    pub patient_id: i64,
    pub date: NaiveDate,
    pub doctor_id: i64,
    pub doctor_name: String,
    /// `trans_dt`: when it was booked.
    pub booked_at: Option<NaiveDateTime>,
}

/// A patient as a look-up by mobile finds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatientContact {
    pub patient_id: i64,
    pub name_ar: String,
    pub name_en: Option<String>,
    /// The mobile as the PMS holds it.
    pub mobile: String,
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

impl StatusCodes {
    /// Returns the codes as configured (`NABD_STATUS_*`).
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            unconfirmed: config.status_unconfirmed.clone(),
            confirmed: config.status_confirmed.clone(),
            attended: config.status_attended.clone(),
            cancelled: config.status_cancelled.clone(),
            no_show: config.status_no_show.clone(),
        }
    }
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

    /// Returns appointment `id` as the PMS holds it now (any status), or `None` when it is gone:
    /// one primary-key seek, made just before a message about it is sent.
    fn appointment(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<BookedAppointment>, GatewayError>> + Send;

    /// Counts patients registered (`trans_dt`) within `days`.
    fn new_patients(&self, days: Days) -> impl Future<Output = Result<i64, GatewayError>> + Send;

    /// Returns one page of lapsed patients (rows of `patient`: someone the PMS has no patient row
    /// for cannot be written to): last visit (an appointment on or before today whose
    /// status is not in `not_visits`) before `last_visit_before`, and no appointment after today
    /// whose status is not `cancelled`. Ordered by lifetime revenue, highest first, then by
    /// patient id. The clinic database does the aggregation; only the page comes back.
    fn lapsed_patients(
        &self,
        query: &LapsedQuery,
    ) -> impl Future<Output = Result<Vec<LapsedPatient>, GatewayError>> + Send;

    /// Returns the last visit on or before `today` of each of `patient_ids` (statuses in
    /// `not_visits` are not visits); patients without one are absent.
    fn last_visits(
        &self,
        patient_ids: &[i64],
        today: NaiveDate,
        not_visits: &[i64],
    ) -> impl Future<Output = Result<Vec<LastVisit>, GatewayError>> + Send;

    /// Lists the appointments of `patient_ids` booked (`trans_dt`) at or after `since`, whose
    /// status is not `cancelled`, by booking time.
    fn bookings_since(
        &self,
        patient_ids: &[i64],
        since: NaiveDateTime,
        cancelled: &[i64],
    ) -> impl Future<Output = Result<Vec<Booking>, GatewayError>> + Send;

    /// Returns the patients whose mobile, in whatever local form the desk typed it, ends with
    /// `tail` once spaces, dashes, dots, brackets and `+` are removed (the caller passes the
    /// national number's last digits and keeps only those that normalise to the number it
    /// wants). By patient id.
    fn patients_with_mobile_ending(
        &self,
        tail: &str,
    ) -> impl Future<Output = Result<Vec<PatientContact>, GatewayError>> + Send;

    /// Returns the revenue of each of `patient_ids` dated on or after `from`, in halalas
    /// (patients without any are absent).
    fn revenue_since(
        &self,
        patient_ids: &[i64],
        from: NaiveDate,
    ) -> impl Future<Output = Result<Vec<(i64, i64)>, GatewayError>> + Send;
}

/// Finds the patients whose mobile is `mobile` (E.164), whatever local form the PMS holds it
/// in: the gateway narrows by the last nine digits, then each candidate is normalised here.
pub async fn patients_by_mobile<G: ClinicGateway>(
    gateway: &G,
    mobile: &crate::platform::phone::Mobile,
    region: crate::platform::phone::Region,
) -> Result<Vec<PatientContact>, GatewayError> {
    let digits = mobile.digits();
    let tail = &digits[digits.len().saturating_sub(9)..];
    let candidates = gateway.patients_with_mobile_ending(tail).await?;
    Ok(candidates
        .into_iter()
        .filter(|patient| {
            crate::platform::phone::Mobile::parse(&patient.mobile, region)
                .is_ok_and(|m| &m == mobile)
        })
        .collect())
}

/// Picks each patient's latest visit (by date, start time, then id) from their visits.
pub fn latest_visits(mut visits: Vec<(LastVisit, NaiveTime, i64)>) -> Vec<LastVisit> {
    visits.sort_by(|a, b| {
        (a.0.patient_id, a.0.date, a.1, a.2).cmp(&(b.0.patient_id, b.0.date, b.1, b.2))
    });
    let mut latest: Vec<LastVisit> = Vec::new();
    for (visit, _, _) in visits {
        match latest.last_mut() {
            Some(last) if last.patient_id == visit.patient_id => *last = visit,
            _ => latest.push(visit),
        }
    }
    latest
}
