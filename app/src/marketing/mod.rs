//! The campaign report as it travels from the server to the admin pages: the DTOs, the error
//! the page can show in its language, the ssr port the `nabd` server implements, and the
//! server function (admins and viewers only).

pub mod page;

use serde::{Deserialize, Serialize};

/// Which batches, and which page of returned patients.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    /// First batch day included (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Last batch day included (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// Part of a returned patient's name or mobile digits.
    pub search: Option<String>,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

/// Outbox counts of the campaign's messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    pub queued: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
}

/// One group's outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub patients: i64,
    pub returned: i64,
    /// returned / patients; 0 when there are none.
    pub rate: f64,
}

/// Whether the messaged group's rate really differs from the holdout's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Too few patients or returns in a group for the interval to mean anything.
    TooSmall,
    /// The 95 % interval includes no difference.
    NotSignificant,
    /// The 95 % interval lies wholly above (or below) zero.
    Significant,
}

/// The lift: messaged rate minus holdout rate, with a 95 % confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lift {
    pub difference: f64,
    pub low: f64,
    pub high: f64,
    pub verdict: Verdict,
}

/// Revenue from returned (messaged) patients of one doctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoctorReturn {
    pub doctor_id: Option<i64>,
    pub doctor_name: Option<String>,
    pub returned: i64,
    pub revenue_halalas: i64,
}

/// One returned patient, as the report lists them (the mobile masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Returned {
    pub patient_id: i64,
    pub name_ar: String,
    pub name_en: Option<String>,
    pub mobile_masked: String,
    pub contacted_at: String,
    pub returned_at: String,
    pub appointment_date: String,
    pub doctor_name: Option<String>,
    pub revenue_halalas: i64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub messages: MessageCounts,
    pub messaged: Group,
    /// Messaged patients who asked to book by reply (between "messaged" and "returned").
    #[serde(default)]
    pub asked_to_book: i64,
    pub holdout: Group,
    pub lift: Lift,
    /// Revenue since returning of the messaged group's returned patients, in halalas.
    pub revenue_halalas: i64,
    pub by_doctor: Vec<DoctorReturn>,
    /// Messages sent times the configured price, in the clinic's currency.
    pub message_cost: f64,
    /// message_cost / returned messaged patients; `None` before the first return.
    pub cost_per_return: Option<f64>,
    pub returned_total: i64,
    pub returned: Vec<Returned>,
    /// The clinic's currency (ISO 4217).
    pub currency: String,
}

/// Why the report could not be shown; the page says it in its language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum MarketingError {
    /// Nobody is signed in (or the session ended).
    #[error("sign in first")]
    Unauthenticated,
    /// A date is not `YYYY-MM-DD`.
    #[error("a date is not valid")]
    BadDate,
    /// Anything else; details are in the server's log.
    #[error("unexpected error: {0}")]
    Unexpected(String),
}

crate::page_error!(MarketingError);

impl crate::port::Refused for MarketingError {
    fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::BadDate => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The server side of the report: a port that `app` defines and the `nabd` server implements.
#[cfg(feature = "ssr")]
pub mod source {
    use super::{MarketingError, Report, ReportQuery};

    /// The future [`MarketingSource::report`] returns.
    pub type ReportFuture<'a> = crate::port::PortFuture<'a, Report, MarketingError>;

    /// Builds the campaign report for the holder of a session cookie.
    pub trait MarketingSource: Send + Sync {
        /// Returns the report; `Unauthenticated` unless the request carries a live admin or
        /// viewer session.
        fn report<'a>(
            &'a self,
            request: &'a http::request::Parts,
            query: ReportQuery,
        ) -> ReportFuture<'a>;
    }
}

/// Returns the campaign report (admins and viewers only).
#[leptos::server(prefix = "/api", endpoint = "marketing-report")]
pub async fn load_campaign_report(query: ReportQuery) -> Result<Report, MarketingError> {
    crate::port::answer(
        async move {
            let (request, source) =
                crate::port::request_and::<dyn source::MarketingSource, MarketingError>()?;
            source.report(&request, query).await
        }
        .await,
    )
}
