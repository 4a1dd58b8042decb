//! Who may see the dashboard: everyone (`NABD_DASHBOARD_ACCESS=public`, the default), or only
//! holders of the clinic's access link (`token`): `?key=<secret>` once, which sets an
//! `HttpOnly` cookie and redirects to the same address without the key.
//!
//! Guards the dashboard pages, its server function and `GET /api/v1/dashboard`; every other
//! address is untouched.

use crate::config::Secret;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The cookie that carries the dashboard's access key after the first visit.
pub const COOKIE_NAME: &str = "nabd_dashboard_key";

/// Tells whether `path` is part of the dashboard.
pub fn protected(path: &str) -> bool {
    path == "/api/v1/dashboard"
        || path.starts_with("/api/dashboard")
        || matches!(path, "/en/clinic-dashboard" | "/ar/clinic-dashboard")
}

/// Compares two secrets in time independent of where they first differ.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

fn query_key(uri: &Uri) -> Option<String> {
    uri.query()?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "key").then(|| value.to_owned())
    })
}

fn without_key(uri: &Uri) -> String {
    let rest: Vec<&str> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("key="))
        .collect();
    if rest.is_empty() {
        uri.path().to_owned()
    } else {
        format!("{}?{}", uri.path(), rest.join("&"))
    }
}

fn refused(path: &str) -> Response {
    if path.starts_with("/api/") {
        let body = serde_json::json!({ "error": "this dashboard is private: open it with the clinic's access link" });
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let (lang, dir, title, text) = if path.starts_with("/ar/") {
        (
            "ar",
            "rtl",
            "لوحة المؤشرات خاصة",
            "افتح لوحة المؤشرات برابط الدخول الذي أرسلته العيادة.",
        )
    } else {
        (
            "en",
            "ltr",
            "This dashboard is private",
            "Open it with the access link the clinic gave you.",
        )
    };
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"/pkg/nabd.css\"></head>\
         <body><main class=\"page\"><h1>{title}</h1><p>{text}</p></main></body></html>"
    );
    (
        StatusCode::UNAUTHORIZED,
        [(
            CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html,
    )
        .into_response()
}

/// Lets a request for the dashboard through only with the right key (when a key is set). The
/// second part of the state is `NABD_PUBLIC_URL`: the access cookie is `Secure` as the session's
/// is ([`crate::web::session::over_https`]).
pub async fn guard(
    State((token, public)): State<(Option<Secret>, Option<crate::config::PublicUrl>)>,
    request: Request,
    next: Next,
) -> Response {
    let Some(token) = token else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    if !protected(&path) {
        return next.run(request).await;
    }
    if let Some(key) = query_key(request.uri()) {
        if !same(&key, token.expose()) {
            return refused(&path);
        }
        let secure = crate::web::session::over_https(public.as_ref(), request.headers());
        let cookie = format!(
            "{COOKIE_NAME}={key}; Path=/; HttpOnly; SameSite=Lax; Max-Age=31536000{}",
            if secure { "; Secure" } else { "" }
        );
        let mut response = StatusCode::SEE_OTHER.into_response();
        if let (Ok(location), Ok(cookie)) = (
            HeaderValue::from_str(&without_key(request.uri())),
            HeaderValue::from_str(&cookie),
        ) {
            response.headers_mut().insert(LOCATION, location);
            response.headers_mut().insert(SET_COOKIE, cookie);
            return response;
        }
        return refused(&path);
    }
    match crate::web::cookies::get(request.headers(), COOKIE_NAME) {
        Some(key) if same(key, token.expose()) => next.run(request).await,
        _ => refused(&path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_dashboard_is_guarded() {
        assert!(protected("/en/clinic-dashboard"));
        assert!(protected("/ar/clinic-dashboard"));
        assert!(protected("/api/v1/dashboard"));
        assert!(protected("/api/dashboard"));
        assert!(!protected("/en"));
        assert!(!protected("/healthz"));
        assert!(!protected("/pkg/nabd.wasm"));
    }

    #[test]
    fn the_key_is_dropped_from_the_address_and_the_rest_kept() {
        let uri: Uri = "/en/clinic-dashboard?key=abc&doctor=2"
            .parse()
            .expect("uri");
        assert_eq!(query_key(&uri).as_deref(), Some("abc"));
        assert_eq!(without_key(&uri), "/en/clinic-dashboard?doctor=2");
        let uri: Uri = "/en/clinic-dashboard?key=abc".parse().expect("uri");
        assert_eq!(without_key(&uri), "/en/clinic-dashboard");
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same("s3cret-key-123456", "s3cret-key-123456"));
        assert!(!same("s3cret-key-123456", "s3cret-key-123457"));
        assert!(!same("short", "shorter"));
    }
}
