//! The dashboard's figures as they travel from the server to the page and to
//! `GET /api/v1/dashboard`. Aggregates only: no patient name, number or id is ever part of it.

mod canvas;
#[cfg(feature = "ssr")]
pub mod charts;
pub mod page;

mod figures;

pub use figures::*;

/// The server side of the dashboard, as the page's server function reaches it: a port that
/// `app` defines and the `nabd` server implements over the clinic gateway.
#[cfg(feature = "ssr")]
pub mod source {
    use super::{DashboardError, DashboardFigures};

    /// The future [`DashboardSource::figures`] returns.
    pub type FiguresFuture<'a> = crate::port::PortFuture<'a, DashboardFigures, DashboardError>;

    /// Computes the dashboard figures for now, optionally with one doctor's average.
    pub trait DashboardSource: Send + Sync {
        /// Returns the figures; `UnknownDoctor` when `doctor` is not a real doctor.
        fn figures(&self, doctor: Option<i64>) -> FiguresFuture<'_>;
    }
}

/// Returns the dashboard figures (aggregates only) for now, optionally with one doctor's
/// average revenue per patient, and the charts drawn from them labelled in `lang`.
#[leptos::server(prefix = "/api", endpoint = "dashboard")]
pub async fn load_dashboard(
    doctor: Option<i64>,
    lang: String,
) -> Result<DashboardFigures, DashboardError> {
    crate::port::answer(
        async move {
            let source = crate::port::port::<dyn source::DashboardSource, DashboardError>()?;
            let mut figures = source.figures(doctor).await?;
            let locale = crate::locale::parse(&lang).unwrap_or(crate::i18n::Locale::en);
            figures.charts = Some(charts::options(&figures, locale));
            Ok(figures)
        }
        .await,
    )
}
