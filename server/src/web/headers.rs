//! The browser's security headers. Every answer says `nosniff` and `Referrer-Policy:
//! same-origin`, and may not be framed (`frame-ancestors 'none'`, `X-Frame-Options: DENY`),
//! except the public board when `NABD_DASHBOARD_FRAME_ANCESTORS` names the clinic's signage
//! page. Admin pages and admin JSON are `Cache-Control: no-store`. Each HTML page carries a
//! Content-Security-Policy whose scripts are Nabd's own files and the page's inline scripts,
//! allowed by their SHA-256 hashes: computed from the page itself, so the page cache can serve
//! one page to many viewers without a nonce anyone could predict, and nothing injected into a
//! page could run. `'wasm-unsafe-eval'` lets the WASM bundle start; styles may be inline
//! (ECharts sets style attributes), scripts may not.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// What the headers depend on.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `NABD_DASHBOARD_FRAME_ANCESTORS`: who may frame the public board.
    pub board_frame_ancestors: Option<String>,
    /// Under `cargo leptos watch` the page's reload script talks to a websocket.
    pub dev_reload: bool,
}

/// The largest page whose scripts are hashed (every page Nabd renders is far smaller).
const PAGE_LIMIT: usize = 16 * 1024 * 1024;

fn is_board(path: &str) -> bool {
    matches!(path, "/en/clinic-dashboard" | "/ar/clinic-dashboard")
}

/// Tells whether an answer holds what only admins may see.
fn is_private(path: &str) -> bool {
    [
        "/en/admin",
        "/ar/admin",
        "/api/v1/admin",
        "/api/v1/marketing",
        "/api/admin/",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
        || matches!(
            path,
            "/en/marketing-report" | "/ar/marketing-report" | "/api/marketing-report"
        )
}

fn frame_ancestors<'a>(policy: &'a Policy, path: &str) -> Option<&'a str> {
    policy
        .board_frame_ancestors
        .as_deref()
        .filter(|_| is_board(path))
}

/// Adds the headers every answer carries (the outermost layer: static files too).
pub async fn secure(State(policy): State<Arc<Policy>>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if frame_ancestors(&policy, &path).is_none() {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let ancestors = frame_ancestors(&policy, &path).unwrap_or("'none'");
        if let Ok(value) = HeaderValue::from_str(&format!("frame-ancestors {ancestors}")) {
            headers.insert(header::CONTENT_SECURITY_POLICY, value);
        }
    }
    if is_private(&path) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Gives each HTML page its Content-Security-Policy, with its inline scripts' hashes (inside
/// the compression layer: it reads the page as rendered).
pub async fn content_policy(
    State(policy): State<Arc<Policy>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if !html || response.headers().contains_key(header::CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, PAGE_LIMIT).await else {
        tracing::error!(path, "a page too large to read for its security policy");
        return Response::from_parts(parts, Body::empty());
    };
    let page = String::from_utf8_lossy(&bytes);
    let ancestors = frame_ancestors(&policy, &path).unwrap_or("'none'");
    let mut value = content_security_policy(&inline_script_hashes(&page), ancestors);
    if policy.dev_reload {
        value = value.replace("connect-src 'self'", "connect-src 'self' ws: wss:");
    }
    if let Ok(value) = HeaderValue::from_str(&value) {
        parts.headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The policy of a page whose inline scripts hash to `hashes`.
pub fn content_security_policy(hashes: &[String], frame_ancestors: &str) -> String {
    let inline: String = hashes
        .iter()
        .map(|hash| format!(" 'sha256-{hash}'"))
        .collect();
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'{inline}; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors {frame_ancestors}"
    )
}

/// The base64 SHA-256 of each inline `<script>` of `page` (those without `src`), in order.
pub fn inline_script_hashes(page: &str) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = page;
    while let Some(start) = find_ignore_case(rest, "<script") {
        let after = &rest[start + "<script".len()..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let attributes = &after[..tag_end];
        let body = &after[tag_end + 1..];
        let Some(close) = find_ignore_case(body, "</script") else {
            break;
        };
        let boundary = attributes
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || c == '>');
        if boundary && !has_src(attributes) {
            let digest = Sha256::digest(&body.as_bytes()[..close]);
            hashes.push(base64::engine::general_purpose::STANDARD.encode(digest));
        }
        rest = &body[close..];
    }
    hashes.sort();
    hashes.dedup();
    hashes
}

fn has_src(attributes: &str) -> bool {
    attributes
        .to_ascii_lowercase()
        .split(|c: char| c.is_whitespace())
        .any(|attribute| attribute.starts_with("src="))
}

fn find_ignore_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_scripts_are_hashed_and_files_are_not() {
        let page = r#"<html><head><script defer src="/assets/vendor/echarts.min.js"></script>
            <script type="module">import('/pkg/nabd.js')</script></head>
            <body><SCRIPT>window.x=1</SCRIPT><scripted>no</scripted></body></html>"#;
        let expected = |text: &str| {
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
        };
        let mut wanted = vec![expected("import('/pkg/nabd.js')"), expected("window.x=1")];
        wanted.sort();
        assert_eq!(inline_script_hashes(page), wanted);
        let policy = content_security_policy(&wanted, "'none'");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval' 'sha256-"));
        assert!(
            !policy
                .split("style-src")
                .next()
                .unwrap_or_default()
                .contains("unsafe-inline")
        );
    }

    #[test]
    fn admin_answers_are_private_and_the_board_is_not() {
        for path in [
            "/en/admin/inbox",
            "/ar/marketing-report",
            "/api/v1/admin/messages",
            "/api/admin/inbox",
        ] {
            assert!(is_private(path), "{path}");
        }
        for path in [
            "/en/clinic-dashboard",
            "/api/v1/dashboard",
            "/assets/favicon.svg",
            "/api/dashboard",
        ] {
            assert!(!is_private(path), "{path}");
        }
    }
}
