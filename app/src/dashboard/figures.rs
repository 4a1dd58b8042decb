//! The dashboard's figures as they travel from the server to the page and to
//! `GET /api/v1/dashboard`, and the one rule for naming a doctor in the page's language.

use crate::i18n::Locale;
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
    /// How often the board asks for fresh figures, in seconds.
    #[serde(default)]
    pub refresh_secs: u32,
    /// True when the clinic database is not answering and these are the last good figures
    /// (computed at `as_of`).
    #[serde(default)]
    pub stale: bool,
    /// The charts as ECharts option JSON in the page's language: only for the page's server
    /// function (the API leaves them out).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub charts: Option<ChartOptions>,
}

/// The dashboard's charts, each as the ECharts option JSON the browser draws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartOptions {
    pub monthly_revenue: String,
    pub top_doctors: String,
    pub patient_mix: String,
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

/// Why the dashboard figures could not be shown; the page translates each kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum DashboardError {
    /// The clinic database did not answer.
    #[error("the clinic database is unavailable")]
    ClinicUnavailable,
    /// The `doctor` in the address is not one of the clinic's doctors.
    #[error("there is no such doctor")]
    UnknownDoctor,
    /// Anything else (a broken connection to Nabd itself); details are in the server's log.
    #[error("unexpected error: {0}")]
    Unexpected(String),
}

crate::page_error!(DashboardError);

impl crate::port::Refused for DashboardError {
    fn status(&self) -> http::StatusCode {
        match self {
            Self::ClinicUnavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            Self::UnknownDoctor => http::StatusCode::NOT_FOUND,
            Self::Unexpected(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Returns a doctor's name in the page's language, falling back to the other.
pub fn doctor_name(locale: Locale, name_ar: &str, name_en: Option<&str>) -> String {
    let english = name_en.filter(|name| !name.trim().is_empty());
    match (locale, english) {
        (Locale::en, Some(name)) => name.to_owned(),
        (Locale::ar, _) if !name_ar.trim().is_empty() => name_ar.to_owned(),
        (_, Some(name)) => name.to_owned(),
        _ => name_ar.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctor_names_follow_the_page_language_and_fall_back() {
        assert_eq!(
            doctor_name(Locale::en, "د. سارة", Some("Dr. Sara")),
            "Dr. Sara"
        );
        assert_eq!(
            doctor_name(Locale::ar, "د. سارة", Some("Dr. Sara")),
            "د. سارة"
        );
        assert_eq!(doctor_name(Locale::en, "د. عمر", None), "د. عمر");
        assert_eq!(doctor_name(Locale::ar, "", Some("Reception")), "Reception");
    }
}
