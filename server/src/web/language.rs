//! Redirects from addresses without a language (`/`, `/clinic-dashboard`) and the seed system's
//! public URLs (`/clinic-dashboard/ar`) to the language-prefixed pages.
//!
//! The language is the one in the `i18n_pref_locale` cookie (set whenever a page is viewed:
//! by [`remember`] for each page the server sends, by the page itself when its language switch
//! is followed in the browser), else the best match of `Accept-Language`, else English.

use app::i18n::Locale;
use app::locale;
use axum::extract::Request;
use axum::http::header::{ACCEPT_LANGUAGE, VARY};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};

/// The language the visitor's cookie remembers, if any.
pub fn remembered(headers: &HeaderMap) -> Option<Locale> {
    crate::web::cookies::get(headers, locale::COOKIE).and_then(locale::parse)
}

/// Middleware: a page in a language (`/ar/...`) remembers that language in the cookie, when
/// the visitor's cookie says otherwise (or nothing).
pub async fn remember(request: Request, next: axum::middleware::Next) -> Response {
    let language = locale::of_path(request.uri().path());
    let remembered = remembered(request.headers());
    let mut response = next.run(request).await;
    let Some(language) = language.filter(|language| remembered != Some(*language)) else {
        return response;
    };
    let is_page = response.status().is_success()
        && response
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"));
    if is_page && let Ok(cookie) = HeaderValue::from_str(&locale::cookie(language)) {
        response
            .headers_mut()
            .append(axum::http::header::SET_COOKIE, cookie);
    }
    response
}

/// Picks the visitor's language from the cookie, then `Accept-Language`, then English.
pub fn preferred(headers: &HeaderMap) -> Locale {
    remembered(headers)
        .or_else(|| {
            headers
                .get(ACCEPT_LANGUAGE)
                .and_then(|value| value.to_str().ok())
                .and_then(locale::from_accept_language)
        })
        .unwrap_or(Locale::en)
}

fn redirect(path: &str, request: &Request, locale: Locale) -> Response {
    let query = request.uri().query().unwrap_or_default();
    let target = locale::switch_path(path, query, locale);
    let mut response = Redirect::temporary(&target).into_response();
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("cookie, accept-language"));
    response
}

/// Sends `/` to the home page in the visitor's language.
pub async fn root(request: Request) -> Response {
    let locale = preferred(request.headers());
    redirect("/", &request, locale)
}

/// Sends a page address without a language to the same page in the visitor's language.
pub async fn unprefixed(request: Request) -> Response {
    let locale = preferred(request.headers());
    let path = request.uri().path().to_owned();
    redirect(&path, &request, locale)
}

/// Sends the seed system's `/clinic-dashboard/ar` and `/clinic-dashboard/en` to the dashboard in
/// that language.
pub async fn legacy_dashboard(request: Request) -> Response {
    let locale = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .and_then(locale::parse)
        .unwrap_or(Locale::en);
    redirect("/clinic-dashboard", &request, locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn the_cookie_wins_over_the_browser_language() {
        let h = headers(&[
            ("cookie", "a=1; i18n_pref_locale=ar"),
            ("accept-language", "en"),
        ]);
        assert_eq!(preferred(&h), Locale::ar);
    }

    #[test]
    fn without_a_cookie_the_browser_language_decides() {
        let h = headers(&[("accept-language", "ar-SA,ar;q=0.9,en;q=0.5")]);
        assert_eq!(preferred(&h), Locale::ar);
    }

    #[test]
    fn with_nothing_known_the_language_is_english() {
        assert_eq!(
            preferred(&headers(&[("accept-language", "fr")])),
            Locale::en
        );
        assert_eq!(preferred(&HeaderMap::new()), Locale::en);
    }
}
