//! Which language a URL is in, and the same page's URL in another language. Pure functions,
//! shared by the server (redirects) and the browser (the language switch).
//!
//! A language's code in URLs and `<html lang>` is the generated `Locale::as_str()` (`"en"`,
//! `"ar"`); every language is `Locale::get_all()`.

use crate::i18n::Locale;
use leptos_i18n::Locale as _;

/// The cookie that remembers the last language viewed, for addresses without one (`/`).
pub const COOKIE: &str = "i18n_pref_locale";

/// The `Set-Cookie` / `document.cookie` value remembering `locale` for a year, site-wide.
pub fn cookie(locale: Locale) -> String {
    format!(
        "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        locale.as_str()
    )
}

/// Remembers `locale` in the browser (the server does it for every page it sends; this covers
/// the language switch, which the router follows without asking the server).
#[cfg(feature = "hydrate")]
pub fn remember(locale: Locale) {
    use wasm_bindgen::JsCast;
    let document = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.dyn_into::<web_sys::HtmlDocument>().ok());
    if let Some(document) = document {
        // A browser that refuses cookies just does not remember.
        let _ = document.set_cookie(&cookie(locale));
    }
}

/// Remembers `locale` in the browser; on the server the language middleware does it.
#[cfg(not(feature = "hydrate"))]
pub fn remember(_locale: Locale) {}

/// Parses a language code (`"ar"`, `"AR"`, `"ar-SA"`); `None` for a language Nabd lacks.
pub fn parse(code: &str) -> Option<Locale> {
    let primary = code.trim().split(['-', '_']).next()?;
    Locale::get_all()
        .iter()
        .copied()
        .find(|locale| locale.as_str().eq_ignore_ascii_case(primary))
}

/// Returns the language the path starts with (`/ar/clinic-dashboard` is Arabic).
pub fn of_path(path: &str) -> Option<Locale> {
    let first = path.trim_start_matches('/').split('/').next()?;
    Locale::get_all()
        .iter()
        .copied()
        .find(|locale| locale.as_str() == first)
}

/// Returns the same page in `target`'s language, keeping the rest of the path and the query.
///
/// `/en/clinic-dashboard?doctor=3` becomes `/ar/clinic-dashboard?doctor=3`; a path without a
/// language prefix gets one.
pub fn switch_path(path: &str, query: &str, target: Locale) -> String {
    let trimmed = path.trim_start_matches('/');
    let rest = match of_path(path) {
        Some(current) => trimmed[current.as_str().len()..].trim_start_matches('/'),
        None => trimmed,
    };
    let mut url = format!("/{}", target.as_str());
    if !rest.is_empty() {
        url.push('/');
        url.push_str(rest);
    }
    let query = query.trim_start_matches('?');
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Returns the language the switch offers from `current` (the other one of the two).
pub fn other(current: Locale) -> Locale {
    match current {
        Locale::en => Locale::ar,
        Locale::ar => Locale::en,
    }
}

/// Picks the best supported language from an `Accept-Language` header, honouring q-values;
/// `None` when the header names none of Nabd's languages.
pub fn from_accept_language(header: &str) -> Option<Locale> {
    let mut best: Option<(Locale, f32)> = None;
    for entry in header.split(',') {
        let mut parts = entry.split(';');
        let Some(tag) = parts.next() else { continue };
        let quality = parts
            .find_map(|param| param.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality <= 0.0 {
            continue;
        }
        if let Some(locale) = parse(tag)
            && best.is_none_or(|(_, q)| quality > q)
        {
            best = Some((locale, quality));
        }
    }
    best.map(|(locale, _)| locale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switching_keeps_the_page_and_the_query() {
        assert_eq!(
            switch_path("/en/clinic-dashboard", "?doctor=3", Locale::ar),
            "/ar/clinic-dashboard?doctor=3"
        );
        assert_eq!(switch_path("/ar", "", Locale::en), "/en");
        assert_eq!(switch_path("/ar/", "", Locale::en), "/en");
    }

    #[test]
    fn a_path_without_a_language_gets_one() {
        assert_eq!(
            switch_path("/clinic-dashboard", "", Locale::ar),
            "/ar/clinic-dashboard"
        );
        assert_eq!(switch_path("/", "", Locale::en), "/en");
    }

    #[test]
    fn a_word_that_starts_like_a_language_is_not_one() {
        assert_eq!(of_path("/english/x"), None);
        assert_eq!(of_path("/ar"), Some(Locale::ar));
        assert_eq!(of_path("/ar/clinic-dashboard"), Some(Locale::ar));
    }

    #[test]
    fn accept_language_prefers_the_highest_quality_supported_language() {
        assert_eq!(
            from_accept_language("fr;q=1, ar-SA;q=0.8, en;q=0.5"),
            Some(Locale::ar)
        );
        assert_eq!(
            from_accept_language("en-US,en;q=0.9,ar;q=0.8"),
            Some(Locale::en)
        );
        assert_eq!(from_accept_language("fr, de;q=0.5"), None);
        assert_eq!(from_accept_language("ar;q=0, en;q=0.1"), Some(Locale::en));
        assert_eq!(from_accept_language(""), None);
    }
}
