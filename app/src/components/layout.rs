//! The frame around every page: header with the clinic's name, navigation and the language
//! switch, the page itself, and a footer. It also makes the URL's language the page's language.

use crate::i18n::{Locale, t, t_string, use_i18n};
use crate::locale;
use leptos::prelude::*;
use leptos_i18n::Locale as _;
use leptos_meta::{Meta, Title};
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::use_location;

/// Lays out a page in `locale`, the language its URL starts with.
///
/// Setting the locale here, during rendering, is what lets the server send `<html lang dir>`
/// already right: the i18n provider renders `<html>`'s attributes after its children.
#[component]
pub fn LocaleLayout(locale: Locale) -> impl IntoView {
    let i18n = use_i18n();
    if i18n.get_locale_untracked() != locale {
        i18n.set_locale(locale);
    }
    // A plain string, read now: leptos_meta renders the title into `<head>` after the page, and
    // a closure reading the i18n signal there can run outside the request's reactive arena
    // (a panic under load, seen in the load benchmark). The layout is rebuilt per language.
    let title = t_string!(i18n, app.name).to_string();
    let description = t_string!(i18n, app.description).to_string();
    let home = format!("/{}", locale.as_str());
    let dashboard = format!("/{}/clinic-dashboard", locale.as_str());
    // Effects run only in the browser: the attribute turns "true" once the page is hydrated,
    // which the browser tests (and curious developers) can wait for.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    Effect::new(move |_| locale::remember(locale));

    view! {
        <Title text=title />
        <Meta name="description" content=description />
        <div class="frame" data-hydrated=move || hydrated.get().to_string()>
        <a class="skip-link" href="#content">
            {t!(i18n, nav.main)}
        </a>
        <header class="site-header">
            <A href=home.clone() attr:class="brand">
                <span class="brand-mark" aria-hidden="true">
                    "◉"
                </span>
                <span class="brand-name">{t!(i18n, app.name)}</span>
                <span class="brand-tagline">{t!(i18n, app.tagline)}</span>
            </A>
            <nav class="site-nav" aria-label=move || t_string!(i18n, nav.main).to_string()>
                <A href=home exact=true>
                    {t!(i18n, nav.home)}
                </A>
                <A href=dashboard>{t!(i18n, nav.dashboard)}</A>
            </nav>
            <LanguageSwitch current=locale />
        </header>
        <main id="content" class="page">
            <Outlet />
        </main>
        <footer class="site-footer">
            <p>{t!(i18n, footer.text)}</p>
        </footer>
        </div>
    }
}

/// Links to the same page (same path after the language, same query) in the other language.
///
/// A plain link, so it works without JavaScript; after hydration the router follows it
/// without reloading the page.
#[component]
pub fn LanguageSwitch(current: Locale) -> impl IntoView {
    let i18n = use_i18n();
    let location = use_location();
    let target = locale::other(current);
    let href = move || {
        let path = location.pathname.get();
        let query = location.search.get();
        locale::switch_path(&path, &query, target)
    };

    view! {
        <a
            class="language-switch"
            href=href
            hreflang=target.as_str()
            lang=target.as_str()
            title=move || t_string!(i18n, nav.switch_language_label).to_string()
            data-testid="language-switch"
        >
            {t!(i18n, nav.switch_language)}
        </a>
    }
}
