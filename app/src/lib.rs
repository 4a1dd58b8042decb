//! Nabd's shared user interface: the HTML shell, the routes, and one folder per feature
//! (`dashboard`, `marketing`, `admin/*`), each with its DTOs, `#[server]` functions, ssr port
//! and page. Compiled twice: with `ssr` into the `nabd`
//! server and with `hydrate` into the browser's WASM bundle, never both at once.

#![recursion_limit = "256"]

include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));

pub mod admin;
pub mod components;
pub mod dashboard;
pub mod format;
pub mod lazy;
pub mod locale;
pub mod marketing;
pub mod pages;
pub mod port;

use crate::components::layout::LocaleLayout;
use crate::dashboard::page::DashboardPage;
use crate::i18n::{I18nContextProvider, Locale};
use crate::lazy::{
    BroadcastRoute, BroadcastsRoute, ExclusionsRoute, InboxRoute, MarketingReportRoute,
    MessagesRoute, RepliesRoute, SignInRoute,
};
use crate::pages::{HomePage, NotFound};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, provide_meta_context};
use leptos_router::{
    Lazy, ParamSegment, SsrMode, StaticSegment,
    components::{ParentRoute, Route, Router, Routes},
};

/// Renders the whole HTML document; the server calls it for every page request.
///
/// `<html lang dir>` is filled in by the i18n context from the page's URL, on the server, so an
/// Arabic page arrives right-to-left before any script runs. ECharts is a deferred classic
/// script placed before the hydration module, so it never blocks first paint and is defined by
/// the time the WASM bundle runs.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" href="/assets/favicon.svg" type="image/svg+xml" />
                <script defer src="/assets/vendor/echarts.min.js"></script>
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// Declares the language-prefixed route tree once per locale, so `/en/...` and `/ar/...`
/// are real server routes (no catch-all parameter swallowing `/favicon.ico` or `/healthz`).
macro_rules! localized_routes {
    ($($locale:ident),+) => {
        view! {
            <Routes fallback=NotFound>
                $(
                    <ParentRoute
                        path=StaticSegment(stringify!($locale))
                        view=|| view! { <LocaleLayout locale=Locale::$locale /> }
                    >
                        <Route path=StaticSegment("") view=HomePage />
                        // Async: the server waits for the figures, so every number is in the
                        // HTML (readable without JavaScript, no spinner on first paint).
                        <Route
                            path=StaticSegment("clinic-dashboard")
                            view=DashboardPage
                            ssr=SsrMode::Async
                        />
                        // The admin pages too: without JavaScript, out-of-order streaming would leave the
                        // "loading" fallback in place of the data. Their code is loaded only when one
                        // is opened (`crate::lazy`).
                        <Route
                            path=StaticSegment("marketing-report")
                            view={Lazy::<MarketingReportRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=(StaticSegment("admin"), StaticSegment("sign-in"))
                            view={Lazy::<SignInRoute>::new()}
                        />
                        <Route
                            path=(StaticSegment("admin"), StaticSegment("exclusions"))
                            view={Lazy::<ExclusionsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=(StaticSegment("admin"), StaticSegment("messages"))
                            view={Lazy::<MessagesRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=(StaticSegment("admin"), StaticSegment("inbox"))
                            view={Lazy::<InboxRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=(StaticSegment("admin"), StaticSegment("replies"))
                            view={Lazy::<RepliesRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=(StaticSegment("admin"), StaticSegment("broadcasts"))
                            view={Lazy::<BroadcastsRoute>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=(
                                StaticSegment("admin"),
                                StaticSegment("broadcasts"),
                                ParamSegment("id"),
                            )
                            view={Lazy::<BroadcastRoute>::new()}
                            ssr=SsrMode::Async
                        />
                    </ParentRoute>
                )+
            </Routes>
        }
    };
}

/// The application: i18n context, router and the page routes of every language.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();

    view! {
        <Stylesheet id="leptos" href="/pkg/nabd.css" />
        <I18nContextProvider>
            <Router>{localized_routes!(en, ar)}</Router>
        </I18nContextProvider>
    }
}
