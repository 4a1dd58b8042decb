//! The page for an address that matches no route, answered with HTTP 404.

use crate::i18n::{t, t_string, use_i18n};
use crate::locale;
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_meta::Title;

/// Tells the visitor there is no such page, in the language of the path when it has one.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let i18n = use_i18n();
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    if let Some(locale) = locale::of_path(&path)
        && i18n.get_locale_untracked() != locale
    {
        i18n.set_locale(locale);
    }
    let home = move || format!("/{}", i18n.get_locale().as_str());

    view! {
        <Title text=t_string!(i18n, not_found.title).to_string() />
        <main id="content" class="page not-found">
            <h1>{t!(i18n, not_found.title)}</h1>
            <p>{t!(i18n, not_found.body)}</p>
            <a href=home>{t!(i18n, not_found.go_home)}</a>
        </main>
    }
}
