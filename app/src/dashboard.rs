//! The dashboard's figures as they travel from the server to the page and to
//! `GET /api/v1/dashboard`. Aggregates only: no patient name, number or id is ever part of it.

use serde::{Deserialize, Serialize};

/// Every figure of the public dashboard, computed for one moment in the clinic's time zone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardFigures {
    /// When the figures were computed (RFC 3339, clinic-local offset).
    pub as_of: String,
    /// ISO 4217 currency of every money figure.
    pub currency: String,
    /// Revenue dated today.
    pub revenue_today: f64,
    /// Appointments today, cancelled ones excluded.
    pub appointments_today: i64,
    /// Patients registered since the 1st of this month.
    pub new_patients_this_month: i64,
    /// Revenue in the last 30 days per distinct paying patient (0 when none).
    pub avg_revenue_per_patient_30d: f64,
    /// Revenue in the last 30 days per appointment in those days (0 when none).
    pub avg_revenue_per_appointment_30d: f64,
    /// Share (0..1) of the last 30 days' appointments whose patient registered on an earlier day.
    pub returning_share_30d: f64,
    /// Revenue per calendar month: this month and the 11 before it, oldest first.
    pub monthly_revenue: Vec<MonthRevenue>,
    /// Revenue per doctor in the last 30 days, at most 10, highest first.
    pub top_doctors: Vec<DoctorRevenueRow>,
    /// Per day in the last 30 days, oldest first: appointments of new and returning patients.
    pub patient_mix: Vec<PatientMixDay>,
    /// The doctors the filter offers.
    pub doctors: Vec<DoctorOption>,
    /// The chosen doctor's revenue per patient in the last 30 days, when a doctor is chosen.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub doctor_avg_revenue_per_patient_30d: Option<f64>,
}

/// Revenue of one calendar month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MonthRevenue {
    /// `YYYY-MM`.
    pub month: String,
    pub revenue: f64,
}

/// One doctor's revenue in the last 30 days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoctorRevenueRow {
    pub doctor_id: i64,
    pub name_ar: String,
    pub name_en: Option<String>,
    pub revenue: f64,
}

/// Appointments of one day by new and by returning patients.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PatientMixDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub new: i64,
    pub returning: i64,
}

/// A doctor the filter offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoctorOption {
    pub id: i64,
    pub name_ar: String,
    pub name_en: Option<String>,
}
