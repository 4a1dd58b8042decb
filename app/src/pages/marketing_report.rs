//! The reactivation campaign's report (`/{lang}/marketing-report`).

use crate::i18n::{t, use_i18n};
use leptos::prelude::*;

/// Shows what the reactivation campaign sent and who came back.
#[component]
pub fn MarketingReportPage() -> impl IntoView {
    let i18n = use_i18n();

    view! {
        <section class="marketing-report" aria-labelledby="report-title">
            <h1 id="report-title">{t!(i18n, marketing_report.title)}</h1>
            <p class="placeholder">{t!(i18n, marketing_report.placeholder)}</p>
        </section>
    }
}
