//! The public clinic dashboard (`/{lang}/clinic-dashboard`).

use crate::i18n::{t, use_i18n};
use leptos::prelude::*;

/// Shows the clinic's live figures.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let i18n = use_i18n();

    view! {
        <section class="dashboard" aria-labelledby="dashboard-title">
            <h1 id="dashboard-title">{t!(i18n, dashboard.title)}</h1>
            <p class="placeholder">{t!(i18n, dashboard.placeholder)}</p>
        </section>
    }
}
