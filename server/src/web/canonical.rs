//! Addresses people type that are not Nabd's own: a trailing slash (`/en/`,
//! `/en/clinic-dashboard/`) goes to the same address without it, and the admin area's usual
//! names (`/admin`, `/login`, the original system's `/dashboard`, with or without a language)
//! go to the sign-in page when signed out, or to where the signed-in user works: an admin to
//! the inbox, a viewer to the campaign report.

use crate::web::language;
use crate::web::state::AppState;
use axum::extract::{Request, State};
use axum::http::header::{CACHE_CONTROL, VARY};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Returns the address without its trailing slashes (and with one leading slash, so that
/// `//host/` can never become a redirect to another site), or `None` when `path` is canonical.
pub fn without_trailing_slash(path: &str) -> Option<String> {
    if path.len() <= 1 || !path.ends_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/').trim_start_matches('/');
    Some(format!("/{trimmed}"))
}

/// The admin area's names Nabd answers for: `/admin`, `/login`, `/dashboard`, each also after a
/// language (`/ar/admin`). Returns the language the path names, if any, when it is one.
fn admin_alias(path: &str) -> Option<Option<app::i18n::Locale>> {
    let language = app::locale::of_path(path);
    let segments = path.trim_start_matches('/');
    // Past the language's segment: `/ar/admin` is `admin`, `/ar` alone is ``.
    let rest = match language {
        Some(_) => segments.split_once('/').map_or("", |(_, rest)| rest),
        None => segments,
    };
    matches!(rest, "admin" | "login" | "dashboard").then_some(language)
}

/// Middleware: redirects a trailing-slash address (GET and HEAD; other methods are not
/// guessed at) and the admin area's aliases.
pub async fn redirect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let path = request.uri().path();
    if let Some(canonical) = without_trailing_slash(path) {
        let target = match request.uri().query() {
            Some(query) => format!("{canonical}?{query}"),
            None => canonical,
        };
        return Redirect::permanent(&target).into_response();
    }
    let Some(language) = admin_alias(path) else {
        return next.run(request).await;
    };
    let language = language.unwrap_or_else(|| language::preferred(request.headers()));
    let page = match crate::web::session::session_user(&state, request.headers()).await {
        Ok(user) if user.role.may(crate::admin::Permission::Administer) => "/admin/inbox",
        Ok(_) => "/marketing-report",
        Err(_) => "/admin/sign-in",
    };
    let target = app::locale::switch_path(page, "", language);
    // Where it leads depends on the session and the language: never cached.
    let mut response = Redirect::to(&target).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("cookie, accept-language"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trailing_slash_is_dropped_and_the_root_is_left_alone() {
        assert_eq!(without_trailing_slash("/"), None);
        assert_eq!(without_trailing_slash("/en"), None);
        assert_eq!(without_trailing_slash("/en/"), Some("/en".to_owned()));
        assert_eq!(
            without_trailing_slash("/en/clinic-dashboard//"),
            Some("/en/clinic-dashboard".to_owned())
        );
    }

    #[test]
    fn a_doubled_leading_slash_never_leads_to_another_site() {
        assert_eq!(
            without_trailing_slash("//evil.example/"),
            Some("/evil.example".to_owned())
        );
        assert_eq!(without_trailing_slash("///"), Some("/".to_owned()));
    }

    #[test]
    fn the_admin_aliases_are_known_with_or_without_a_language() {
        assert_eq!(admin_alias("/admin"), Some(None));
        assert_eq!(admin_alias("/login"), Some(None));
        assert_eq!(admin_alias("/dashboard"), Some(None));
        assert_eq!(admin_alias("/ar/admin"), Some(Some(app::i18n::Locale::ar)));
        assert_eq!(admin_alias("/en/admin/inbox"), None);
        assert_eq!(admin_alias("/clinic-dashboard"), None);
        assert_eq!(admin_alias("/administrator"), None);
    }
}
