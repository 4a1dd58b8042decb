//! The pages whose code the browser loads only when one is opened: the admin area and the
//! campaign report. The public dashboard, which phones and the waiting-room TV open, downloads
//! none of it (built with `cargo leptos build --split`, each is its own WASM file).
//!
//! The server renders them as before; while rendering it notes which file the page needs, so
//! the HTML preloads it beside the main bundle (no waterfall), and hydration waits for it.
//! Each route is written out by hand: `#[lazy_route]` names a split by where it is written.

use crate::admin::broadcasts::page::{BroadcastPage, BroadcastsPage};
use crate::admin::exclusions::page::ExclusionsPage;
use crate::admin::inbox::page::InboxPage;
use crate::admin::inbox::replies::RepliesPage;
use crate::admin::messages::page::MessagesPage;
use crate::admin::sign_in::page::SignInPage;
use crate::marketing::page::MarketingReportPage;
use leptos::prelude::*;
use leptos_router::{LazyRoute, lazy_route};

/// The campaign report ([`MarketingReportPage`]).
pub struct MarketingReportRoute;

#[lazy_route]
impl LazyRoute for MarketingReportRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <MarketingReportPage /> }.into_any()
    }
}

/// Signing in ([`SignInPage`]).
pub struct SignInRoute;

#[lazy_route]
impl LazyRoute for SignInRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <SignInPage /> }.into_any()
    }
}

/// The do-not-contact list ([`ExclusionsPage`]).
pub struct ExclusionsRoute;

#[lazy_route]
impl LazyRoute for ExclusionsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <ExclusionsPage /> }.into_any()
    }
}

/// The message log ([`MessagesPage`]).
pub struct MessagesRoute;

#[lazy_route]
impl LazyRoute for MessagesRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <MessagesPage /> }.into_any()
    }
}

/// Writing and reviewing broadcasts ([`BroadcastsPage`]).
pub struct BroadcastsRoute;

#[lazy_route]
impl LazyRoute for BroadcastsRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <BroadcastsPage /> }.into_any()
    }
}

/// One broadcast's review and progress ([`BroadcastPage`]).
pub struct BroadcastRoute;

#[lazy_route]
impl LazyRoute for BroadcastRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <BroadcastPage /> }.into_any()
    }
}

/// The inbox ([`InboxPage`]).
pub struct InboxRoute;

#[lazy_route]
impl LazyRoute for InboxRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <InboxPage /> }.into_any()
    }
}

/// The reception's list of replies ([`RepliesPage`]).
pub struct RepliesRoute;

#[lazy_route]
impl LazyRoute for RepliesRoute {
    fn data() -> Self {
        Self
    }

    fn view(_this: Self) -> AnyView {
        view! { <RepliesPage /> }.into_any()
    }
}
