//! `GET /metrics`: the Prometheus exposition, and the middleware that counts every request by
//! its matched route.
//!
//! Who may read it: with `NABD_METRICS_TOKEN` set, a caller with `Authorization: Bearer
//! <token>`; without it, only a direct connection from this machine's loopback that carries no
//! forwarding header. A reverse proxy on the same machine also connects from loopback, so a
//! request it forwards (it adds `X-Forwarded-For`) is refused; the proxy recipes in `deploy/`
//! do not forward `/metrics` at all.

use crate::jobs::Job;
use crate::jobs::runs;
use crate::messaging::outbox::log;
use crate::platform::instance;
use crate::platform::metrics::{self as names, set_gauge};
use crate::platform::time::parse_stamp;
use crate::web::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::time::Instant;

/// The route template a request matched, left on its response for [`track`] to read.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub String);

/// Route middleware (inside the router, where the match is known): labels the response with
/// the matched route template.
pub async fn label(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned());
    let mut response = next.run(request).await;
    if let Some(route) = route {
        response.extensions_mut().insert(RouteLabel(route));
    }
    response
}

/// The label of a request no route matched: the few addresses answered before routing (the
/// kept dashboard pages, the static files), else one word, so that scanners cannot add labels.
fn unrouted(path: &str) -> &'static str {
    match path {
        "/en/clinic-dashboard" => "/en/clinic-dashboard",
        "/ar/clinic-dashboard" => "/ar/clinic-dashboard",
        _ if path.starts_with("/pkg/") => "/pkg/*",
        _ if path.starts_with("/assets/") => "/assets/*",
        _ => "unmatched",
    }
}

/// Outermost middleware: counts and times every request, by method, matched route and status.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let fallback = unrouted(request.uri().path());
    let response = next.run(request).await;
    let route = response
        .extensions()
        .get::<RouteLabel>()
        .map_or(fallback, |label| label.0.as_str());
    names::http_request(
        method.as_str(),
        route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Headers a proxy adds when it forwards a request.
const FORWARDING: [&str; 5] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Why a caller may not read the metrics, if it may not.
fn refusal(
    token: Option<&crate::config::Secret>,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Option<(StatusCode, &'static str)> {
    match token {
        Some(token) => {
            let sent = headers
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .unwrap_or_default();
            (!crate::web::access::same(sent.trim(), token.expose()))
                .then_some((StatusCode::UNAUTHORIZED, "a valid bearer token is needed"))
        }
        None => {
            let direct = peer.is_some_and(|peer| peer.ip().is_loopback())
                && !FORWARDING.iter().any(|name| headers.contains_key(*name));
            (!direct).then_some((
                StatusCode::FORBIDDEN,
                "metrics are served to this machine only (or set NABD_METRICS_TOKEN)",
            ))
        }
    }
}

/// Answers the Prometheus exposition to an allowed caller.
pub async fn serve(State(state): State<AppState>, request: Request) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    if let Some((status, message)) =
        refusal(state.config.metrics_token.as_ref(), peer, request.headers())
    {
        let mut response = (status, message).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"nabd metrics\""),
            );
        }
        return response;
    }
    let Some(handle) = crate::platform::metrics::install() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the metrics recorder is not installed in this process",
        )
            .into_response();
    };
    // One scrape at a time: the gauges read from the database are set and rendered together.
    static SCRAPE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let scraping = SCRAPE.lock().await;
    refresh(&state).await;
    let text = handle.render();
    drop(scraping);
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Sets the gauges read from the app database. A failed read leaves the previous values (and
/// is logged): the scrape still answers with everything else.
async fn refresh(state: &AppState) {
    let now = state.clock.real_now();
    match log::census(&state.db, now).await {
        Ok(census) => {
            for (kind, message_state, count) in census.counts {
                set_gauge(
                    names::OUTBOX_MESSAGES,
                    &[
                        ("kind", kind.as_str().to_owned()),
                        ("state", message_state.as_str().to_owned()),
                    ],
                    count as f64,
                );
            }
            let age = census.oldest_due.map_or(0.0, |due| {
                (now - due).num_milliseconds().max(0) as f64 / 1000.0
            });
            set_gauge(names::OUTBOX_OLDEST_DUE, &[], age);
        }
        Err(error) => tracing::warn!(%error, "outbox figures not read for /metrics"),
    }
    let heartbeat = state.messaging.outbox.instance().heartbeat();
    match instance::live(&state.db, now, heartbeat).await {
        Ok(live) => set_gauge(names::LIVE_INSTANCES, &[], live.len() as f64),
        Err(error) => tracing::warn!(%error, "live instances not read for /metrics"),
    }
    match runs::last_finished(&state.db).await {
        Ok(last) => {
            for job in Job::ALL {
                let Some(run) = last.iter().find(|run| run.job == job.name()) else {
                    continue;
                };
                let labels = [("job", job.name().to_owned())];
                let started = parse_stamp(&run.started_at);
                let finished = run.finished_at.as_deref().and_then(parse_stamp);
                if let Some(started) = started {
                    set_gauge(names::JOB_LAST_RUN, &labels, started.timestamp() as f64);
                }
                if let (Some(started), Some(finished)) = (started, finished) {
                    let seconds = (finished - started).num_milliseconds().max(0) as f64 / 1000.0;
                    set_gauge(names::JOB_LAST_DURATION, &labels, seconds);
                }
                let success = run.outcome.as_deref() == Some("ok");
                set_gauge(
                    names::JOB_LAST_SUCCESS,
                    &labels,
                    if success { 1.0 } else { 0.0 },
                );
            }
        }
        Err(error) => tracing::warn!(%error, "job runs not read for /metrics"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn loopback() -> Option<SocketAddr> {
        Some(SocketAddr::from(([127, 0, 0, 1], 40000)))
    }

    #[test]
    fn without_a_token_only_direct_loopback_callers_are_answered() {
        assert!(refusal(None, loopback(), &HeaderMap::new()).is_none());
        let lan = Some(SocketAddr::from(([192, 168, 1, 20], 40000)));
        assert_eq!(
            refusal(None, lan, &HeaderMap::new()).map(|r| r.0),
            Some(StatusCode::FORBIDDEN)
        );
        let proxied = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            refusal(None, loopback(), &proxied).map(|r| r.0),
            Some(StatusCode::FORBIDDEN)
        );
        assert!(refusal(None, None, &HeaderMap::new()).is_some());
    }

    #[test]
    fn with_a_token_the_bearer_decides_wherever_the_caller_is() {
        let token = Secret::new("metrics-token-0123456789");
        let lan = Some(SocketAddr::from(([10, 0, 0, 5], 40000)));
        let good = headers(&[("authorization", "Bearer metrics-token-0123456789")]);
        assert!(refusal(Some(&token), lan, &good).is_none());
        let bad = headers(&[("authorization", "Bearer metrics-token-0000000000")]);
        assert_eq!(
            refusal(Some(&token), lan, &bad).map(|r| r.0),
            Some(StatusCode::UNAUTHORIZED)
        );
        assert!(refusal(Some(&token), loopback(), &HeaderMap::new()).is_some());
    }

    #[test]
    fn unrouted_addresses_get_a_fixed_label() {
        assert_eq!(unrouted("/pkg/nabd.wasm"), "/pkg/*");
        assert_eq!(unrouted("/wp-login.php"), "unmatched");
        assert_eq!(unrouted("/en/clinic-dashboard"), "/en/clinic-dashboard");
    }
}
