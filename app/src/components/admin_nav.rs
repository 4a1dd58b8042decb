//! The links between the admin pages, with the number of conversations that need someone to
//! act, kept current without a reload.

use crate::admin::inbox::inbox_count;
use crate::components::poll::use_poll;
use crate::format;
use crate::i18n::{t, t_string, use_i18n};
use leptos::prelude::*;
use leptos_i18n::Locale as _;

/// How often the count is read again while the page is visible.
const COUNT_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Links between the admin pages.
#[component]
pub fn AdminNav() -> impl IntoView {
    let i18n = use_i18n();
    let lang = move || i18n.get_locale().as_str();
    let tick = use_poll(COUNT_EVERY);
    // Read in the browser only: the page renders without waiting for it. A viewer, who may not
    // see the inbox, gets no count.
    let count = LocalResource::new(move || {
        tick.get();
        inbox_count()
    });
    let badge = move || {
        let locale = i18n.get_locale();
        count.get().and_then(Result::ok).flatten().map(|count| {
            let label = t_string!(i18n, inbox.nav_count, count = count).to_string();
            view! {
                <span class="nav-count" data-count=count aria-label=label>
                    {format::count(locale, count)}
                </span>
            }
        })
    };
    view! {
        <nav class="admin-nav" aria-label="admin">
            <a href=move || format!("/{}/admin/inbox", lang())>{t!(i18n, inbox.nav)} " " {badge}</a>
            <a href=move || format!("/{}/admin/replies", lang())>{t!(i18n, replies.nav)}</a>
            <a href=move || format!("/{}/marketing-report", lang())>{t!(i18n, exclusions.nav_report)}</a>
            <a href=move || format!("/{}/admin/exclusions", lang())>{t!(i18n, exclusions.nav_exclusions)}</a>
            <a href=move || format!("/{}/admin/broadcasts", lang())>{t!(i18n, broadcast.nav)}</a>
            <a href=move || format!("/{}/admin/messages", lang())>{t!(i18n, messages.nav)}</a>
        </nav>
    }
}
