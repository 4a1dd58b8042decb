//! The links between the admin pages.

use crate::i18n::{t, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;

/// Links between the admin pages.
#[component]
pub fn AdminNav() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.get_locale().as_str();
    view! {
        <nav class="admin-nav" aria-label="admin">
            <a href=move || format!("/{}/marketing-report", lang())>{t!(i18n, exclusions.nav_report)}</a>
            <a href=move || format!("/{}/admin/exclusions", lang())>{t!(i18n, exclusions.nav_exclusions)}</a>
            <a href=move || format!("/{}/admin/broadcasts", lang())>{t!(i18n, broadcast.nav)}</a>
            <a href=move || format!("/{}/admin/messages", lang())>{t!(i18n, messages.nav)}</a>
        </nav>
    }
}
