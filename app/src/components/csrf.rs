//! The session's CSRF token in every admin form: each form holds a [`CsrfField`], a hidden
//! `csrf` input that the server checks on every server function that changes something (with
//! or without JavaScript).
//!
//! The token travels in the `nabd_csrf` cookie the sign-in sets beside the session cookie (not
//! `HttpOnly`: the page reads it), so a field knows it at once, on the server from the
//! request's headers and in the browser from `document.cookie`, and renders the same value on
//! both sides, with no request of its own. It used to be one `Resource` read under every
//! field's `<Suspense>`: one request per page and many suspense boundaries, a pattern leptos has
//! had rare stalled renders with (leptos #4851), suspected (not proven) behind the admin suite's
//! rare page that never answered.

use leptos::prelude::*;

/// The cookie that carries the session's CSRF token (`web::session` on the server sets it).
pub const COOKIE: &str = "nabd_csrf";

/// Returns the value of the cookie `name` in a `Cookie` header (`a=1; nabd_csrf=xyz`).
pub fn cookie_value(header: &str, name: &str) -> Option<String> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The session's token as this render sees it; empty without one.
#[cfg(feature = "ssr")]
fn session_token() -> String {
    use_context::<http::request::Parts>()
        .and_then(|parts| {
            parts
                .headers
                .get_all(http::header::COOKIE)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .find_map(|header| cookie_value(header, COOKIE))
        })
        .unwrap_or_default()
}

/// The session's token as this render sees it; empty without one.
#[cfg(all(feature = "hydrate", not(feature = "ssr")))]
fn session_token() -> String {
    use wasm_bindgen::JsCast;
    web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.dyn_into::<web_sys::HtmlDocument>().ok())
        .and_then(|document| document.cookie().ok())
        .and_then(|header| cookie_value(&header, COOKIE))
        .unwrap_or_default()
}

/// The session's token as this render sees it; empty without one.
#[cfg(not(any(feature = "ssr", feature = "hydrate")))]
fn session_token() -> String {
    String::new()
}

/// The hidden `csrf` input of a form.
#[component]
pub fn CsrfField() -> impl IntoView {
    view! { <input type="hidden" name="csrf" value=session_token() /> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_its_cookie_among_others() {
        assert_eq!(
            cookie_value("i18n_pref_locale=ar; nabd_csrf=abc_123; x=1", COOKIE).as_deref(),
            Some("abc_123")
        );
        assert_eq!(cookie_value("nabd_csrf=", COOKIE), None);
        assert_eq!(cookie_value("xnabd_csrf=abc", COOKIE), None);
        assert_eq!(cookie_value("", COOKIE), None);
    }
}
