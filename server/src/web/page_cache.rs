//! A moment's memory of each public dashboard page exactly as it was sent (compressed), so a
//! waiting-room TV, a hundred phones and a refresh storm cost one render per address per second
//! instead of one each.
//!
//! The figures behind the page are cached already ([`super::cache`]); this keeps the rendered
//! HTML too, for at most [`PAGE_TTL`] (never longer than the figures' own TTL, and not at all
//! when that is 0). Only what cannot differ between viewers is kept:
//! - `GET /en/clinic-dashboard` and `/ar/clinic-dashboard`, with no query but `doctor` and `tv`;
//! - only while the dashboard is public (with `NABD_DASHBOARD_ACCESS=token` the access check
//!   must see every request, so nothing is kept);
//! - only a `200` HTML answer that sets no cookie but the language one (which follows from the
//!   address and the request's `i18n_pref_locale`, so that cookie's value is part of the key);
//! - one copy per address, `Accept-Encoding` and language cookie, at most [`MAX_PAGES`] of them.
//!
//! Nothing else of the request shapes the public board (it shows no session, no name).

use app::locale::COOKIE as LANGUAGE_COOKIE;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::header::{ACCEPT_ENCODING, CONTENT_TYPE, SET_COOKIE};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a rendered page is served again.
pub const PAGE_TTL: Duration = Duration::from_secs(1);

/// How many pages are kept at once (addresses × encodings).
pub const MAX_PAGES: usize = 256;

/// A page larger than this is passed through and not kept.
const MAX_BODY: usize = 4 * 1024 * 1024;

/// The query parameters a dashboard address may carry and still be kept.
const KEPT_PARAMETERS: [&str; 2] = ["doctor", "tv"];

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    path_and_query: String,
    accept_encoding: String,
    language_cookie: Option<String>,
}

struct Page {
    kept_at: Instant,
    headers: HeaderMap,
    body: Bytes,
}

/// Rendered dashboard pages, each for [`PAGE_TTL`].
pub struct PageCache {
    ttl: Duration,
    pages: Mutex<HashMap<Key, Page>>,
}

impl PageCache {
    /// Keeps pages for `PAGE_TTL`, or for `figures_ttl` when that is shorter (0 keeps nothing).
    pub fn new(figures_ttl: Duration) -> Self {
        Self::with_ttl(figures_ttl.min(PAGE_TTL))
    }

    /// Keeps pages for exactly `ttl`.
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            pages: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the key `request` is kept under, when its answer may be shared.
    fn key(&self, request: &Request) -> Option<Key> {
        if self.ttl.is_zero() || request.method() != Method::GET {
            return None;
        }
        let uri = request.uri();
        if !matches!(uri.path(), "/en/clinic-dashboard" | "/ar/clinic-dashboard") {
            return None;
        }
        let query = uri.query().unwrap_or_default();
        let known = query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .all(|pair| {
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                KEPT_PARAMETERS.contains(&name)
            });
        if !known || query.len() > 64 {
            return None;
        }
        let accept_encoding = match request.headers().get(ACCEPT_ENCODING) {
            Some(value) => value.to_str().ok().filter(|value| value.len() <= 128)?,
            None => "",
        };
        let language_cookie = match crate::web::cookies::get(request.headers(), LANGUAGE_COOKIE) {
            Some(value) if value.len() > 16 => return None,
            value => value.map(str::to_owned),
        };
        Some(Key {
            path_and_query: uri.path_and_query()?.as_str().to_owned(),
            accept_encoding: accept_encoding.to_owned(),
            language_cookie,
        })
    }

    fn fresh(&self, key: &Key) -> Option<Response> {
        let pages = self.pages.lock().ok()?;
        let page = pages.get(key)?;
        if page.kept_at.elapsed() >= self.ttl {
            return None;
        }
        let mut response = Response::new(Body::from(page.body.clone()));
        *response.headers_mut() = page.headers.clone();
        Some(response)
    }

    fn keep(&self, key: Key, headers: &HeaderMap, body: Bytes) {
        let Ok(mut pages) = self.pages.lock() else {
            return;
        };
        if pages.len() >= MAX_PAGES && !pages.contains_key(&key) {
            let ttl = self.ttl;
            pages.retain(|_, page| page.kept_at.elapsed() < ttl);
            if pages.len() >= MAX_PAGES {
                return;
            }
        }
        let mut headers = headers.clone();
        // The body is whole now; the server writes its length.
        headers.remove(axum::http::header::CONTENT_LENGTH);
        headers.remove(axum::http::header::TRANSFER_ENCODING);
        pages.insert(
            key,
            Page {
                kept_at: Instant::now(),
                headers,
                body,
            },
        );
    }

    /// How many pages are kept now (fresh or not).
    pub fn len(&self) -> usize {
        self.pages.lock().map(|pages| pages.len()).unwrap_or(0)
    }

    /// Tells whether no page is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn shareable(response: &Response) -> bool {
    let language_cookie = format!("{LANGUAGE_COOKIE}=");
    response.status() == StatusCode::OK
        && response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|cookie| cookie.as_bytes().starts_with(language_cookie.as_bytes()))
        && response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("text/html"))
}

/// Middleware: answers a dashboard page from [`PageCache`] while it is fresh, and keeps what
/// the rest of the stack answered otherwise.
pub async fn serve(State(cache): State<Arc<PageCache>>, request: Request, next: Next) -> Response {
    let Some(key) = cache.key(&request) else {
        return next.run(request).await;
    };
    if let Some(page) = cache.fresh(&key) {
        return page;
    }
    let response = next.run(request).await;
    if !shareable(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(bytes) => {
            cache.keep(key, &parts.headers, bytes.clone());
            Response::from_parts(parts, Body::from(bytes))
        }
        Err(error) => {
            tracing::error!(%error, path = %key.path_and_query, "the dashboard page could not be read whole");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::get;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tower::ServiceExt;

    /// A stand-in page that counts its renders and says which render this is; it sets the
    /// language cookie back as the language middleware may, and sets `cookie` when given.
    fn stand_in(
        cache: Arc<PageCache>,
        renders: Arc<AtomicUsize>,
        cookie: Option<&'static str>,
    ) -> Router {
        let render = move |headers: HeaderMap| {
            let renders = renders.clone();
            async move {
                let n = renders.fetch_add(1, Ordering::SeqCst) + 1;
                let mut response =
                    axum::response::Html(format!("<p>render {n}</p>")).into_response();
                if let Some(language) = crate::web::cookies::get(&headers, LANGUAGE_COOKIE) {
                    let echo = format!("{LANGUAGE_COOKIE}={language}");
                    response
                        .headers_mut()
                        .append(SET_COOKIE, echo.parse().expect("header"));
                }
                if let Some(cookie) = cookie {
                    response
                        .headers_mut()
                        .append(SET_COOKIE, cookie.parse().expect("header"));
                }
                response
            }
        };
        Router::new()
            .route("/en/clinic-dashboard", get(render.clone()))
            .route("/ar/clinic-dashboard", get(render.clone()))
            .route("/en/marketing-report", get(render))
            .layer(axum::middleware::from_fn_with_state(cache, serve))
    }

    async fn page(app: &Router, uri: &str, encoding: &str) -> String {
        page_with_cookie(app, uri, encoding, None).await
    }

    async fn page_with_cookie(
        app: &Router,
        uri: &str,
        encoding: &str,
        cookie: Option<&str>,
    ) -> String {
        let mut request = Request::get(uri).header(ACCEPT_ENCODING, encoding);
        if let Some(cookie) = cookie {
            request = request.header(axum::http::header::COOKIE, cookie);
        }
        let request = request.body(Body::empty()).expect("request");
        let response = app.clone().oneshot(request).await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        String::from_utf8(body.to_vec()).expect("utf-8")
    }

    #[tokio::test]
    async fn one_render_serves_every_viewer_of_an_address_within_the_ttl() {
        let renders = Arc::new(AtomicUsize::new(0));
        let cache = Arc::new(PageCache::with_ttl(Duration::from_millis(300)));
        let app = stand_in(cache.clone(), renders.clone(), None);
        for _ in 0..5 {
            assert_eq!(
                page(&app, "/en/clinic-dashboard", "br").await,
                "<p>render 1</p>"
            );
        }
        // Another address, filter or encoding is its own page.
        assert_eq!(
            page(&app, "/ar/clinic-dashboard", "br").await,
            "<p>render 2</p>"
        );
        assert_eq!(
            page(&app, "/en/clinic-dashboard?doctor=3", "br").await,
            "<p>render 3</p>"
        );
        assert_eq!(
            page(&app, "/en/clinic-dashboard", "gzip").await,
            "<p>render 4</p>"
        );
        assert_eq!(
            page(&app, "/en/clinic-dashboard", "br").await,
            "<p>render 1</p>"
        );
        // The language cookie the page echoes is part of the key.
        let remembered = Some("i18n_pref_locale=ar; other=1");
        assert_eq!(
            page_with_cookie(&app, "/en/clinic-dashboard", "br", remembered).await,
            "<p>render 5</p>"
        );
        assert_eq!(
            page_with_cookie(&app, "/en/clinic-dashboard", "br", remembered).await,
            "<p>render 5</p>"
        );
        assert_eq!(cache.len(), 5);
        // Once the TTL has passed the page is rendered again.
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert_eq!(
            page(&app, "/en/clinic-dashboard", "br").await,
            "<p>render 6</p>"
        );
        assert_eq!(renders.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn what_may_differ_between_viewers_is_never_kept() {
        let renders = Arc::new(AtomicUsize::new(0));
        let cache = Arc::new(PageCache::with_ttl(Duration::from_secs(60)));
        let app = stand_in(cache.clone(), renders.clone(), None);
        // Another page, an unknown parameter and an access key always reach the page.
        for uri in [
            "/en/marketing-report",
            "/en/clinic-dashboard?utm=tv",
            "/en/clinic-dashboard?key=secret",
        ] {
            let first = page(&app, uri, "br").await;
            let second = page(&app, uri, "br").await;
            assert_ne!(first, second, "{uri} was served from the cache");
        }
        assert!(cache.is_empty());
        // An answer that sets another cookie is not kept either.
        let with_cookie = stand_in(cache.clone(), renders, Some("session=abc"));
        assert_ne!(
            page(&with_cookie, "/en/clinic-dashboard", "br").await,
            page(&with_cookie, "/en/clinic-dashboard", "br").await
        );
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn a_figures_ttl_of_zero_keeps_nothing() {
        let renders = Arc::new(AtomicUsize::new(0));
        let cache = Arc::new(PageCache::new(Duration::ZERO));
        let app = stand_in(cache.clone(), renders.clone(), None);
        page(&app, "/en/clinic-dashboard", "br").await;
        page(&app, "/en/clinic-dashboard", "br").await;
        assert_eq!(renders.load(Ordering::SeqCst), 2);
        assert!(cache.is_empty());
    }

    #[tokio::test]
    async fn the_number_of_pages_kept_is_bounded() {
        let renders = Arc::new(AtomicUsize::new(0));
        let cache = Arc::new(PageCache::with_ttl(Duration::from_secs(60)));
        let app = stand_in(cache.clone(), renders.clone(), None);
        for doctor in 0..MAX_PAGES + 20 {
            page(&app, &format!("/en/clinic-dashboard?doctor={doctor}"), "br").await;
        }
        assert_eq!(cache.len(), MAX_PAGES);
    }
}
