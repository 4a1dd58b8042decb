//! The landing page of each language: what Nabd is and the way to the dashboard.

use crate::i18n::{t, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_router::components::A;

/// Introduces Nabd and links to the clinic dashboard.
#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let dashboard = move || format!("/{}/clinic-dashboard", i18n.get_locale().as_str());

    view! {
        <section class="hero">
            <h1>{t!(i18n, home.title)}</h1>
            <p class="lead">{t!(i18n, home.intro)}</p>
            <A href=dashboard attr:class="button">
                {t!(i18n, home.open_dashboard)}
            </A>
        </section>
    }
}
