//! Nabd's Prometheus metrics: every metric's name, labels and meaning, written once here, and
//! the process-wide recorder that `/metrics` renders.
//!
//! Capabilities record through the small functions below (no metric name appears anywhere
//! else), so a label set stays bounded: routes are matched route templates, never raw paths;
//! reasons and outcomes are fixed words. Figures read from the app database at scrape time
//! (the outbox by state, the jobs' last runs) are set by the `/metrics` handler just before it
//! renders, so every process sharing a database reports the same truth about it.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

/// HTTP requests, by method, matched route and status class.
pub const HTTP_REQUESTS: &str = "nabd_http_requests_total";
/// HTTP request latency, by method and matched route.
pub const HTTP_SECONDS: &str = "nabd_http_request_duration_seconds";
/// Outbox messages by kind and state (set at scrape time).
pub const OUTBOX_MESSAGES: &str = "nabd_outbox_messages";
/// Seconds since the oldest queued message became due (0 when none is waiting).
pub const OUTBOX_OLDEST_DUE: &str = "nabd_outbox_oldest_due_age_seconds";
/// Messages handed to a provider, by provider.
pub const SENDS: &str = "nabd_messages_sent_total";
/// Provider refusals, by provider and reason (`retryable`, `permanent`, `stopped_marketing`).
pub const SEND_FAILURES: &str = "nabd_message_send_failures_total";
/// Each job's last finished run: when it started (Unix seconds).
pub const JOB_LAST_RUN: &str = "nabd_job_last_run_timestamp_seconds";
/// Each job's last finished run: how long it took.
pub const JOB_LAST_DURATION: &str = "nabd_job_last_run_duration_seconds";
/// Each job's last finished run: 1 when it succeeded, 0 when it failed.
pub const JOB_LAST_SUCCESS: &str = "nabd_job_last_run_success";
/// Clinic database query latency, by query and outcome.
pub const CLINIC_QUERY_SECONDS: &str = "nabd_clinic_query_duration_seconds";
/// Dashboard figure lookups, by result (`hit`, `miss`, `stale`).
pub const DASHBOARD_CACHE: &str = "nabd_dashboard_cache_total";
/// Live instances sharing the app database (set at scrape time).
pub const LIVE_INSTANCES: &str = "nabd_live_instances";

/// Latency buckets, in seconds, from a cached page to a slow clinic query.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle) and starts
/// its upkeep, so that histograms are folded even when nobody scrapes. `None` when another
/// recorder was installed first (then nothing is recorded, and `/metrics` says so).
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_duration_seconds".to_owned()), &BUCKETS)
                .ok()?;
            let handle = match builder.install_recorder() {
                Ok(handle) => handle,
                Err(error) => {
                    tracing::warn!(%error, "metrics recorder not installed");
                    return None;
                }
            };
            describe();
            let upkeep = handle.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    let mut every = tokio::time::interval(Duration::from_secs(5));
                    loop {
                        every.tick().await;
                        upkeep.run_upkeep();
                    }
                });
            }
            Some(handle)
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests by method, matched route and status class"
    );
    describe_histogram!(
        HTTP_SECONDS,
        Unit::Seconds,
        "HTTP request latency by matched route"
    );
    describe_gauge!(OUTBOX_MESSAGES, "Outbox messages by kind and state");
    describe_gauge!(
        OUTBOX_OLDEST_DUE,
        Unit::Seconds,
        "How long the oldest due queued message has waited"
    );
    describe_counter!(SENDS, "Messages handed to a provider");
    describe_counter!(SEND_FAILURES, "Provider refusals by reason");
    describe_gauge!(
        JOB_LAST_RUN,
        Unit::Seconds,
        "When each job's last finished run started"
    );
    describe_gauge!(
        JOB_LAST_DURATION,
        Unit::Seconds,
        "How long each job's last run took"
    );
    describe_gauge!(
        JOB_LAST_SUCCESS,
        "1 when each job's last run succeeded, else 0"
    );
    describe_histogram!(
        CLINIC_QUERY_SECONDS,
        Unit::Seconds,
        "Clinic database query latency by query"
    );
    describe_counter!(DASHBOARD_CACHE, "Dashboard figure lookups by cache result");
    describe_gauge!(LIVE_INSTANCES, "Nabd processes with a fresh heartbeat");
}

/// Records one HTTP request: `route` is a matched route template or a fixed word.
pub fn http_request(method: &str, route: &str, status: u16, elapsed: Duration) {
    let class = match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    };
    // A fixed word per method: no allocation, and no label a client can invent.
    let method: &'static str = match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    };
    metrics::counter!(HTTP_REQUESTS, "method" => method, "route" => route.to_owned(),
        "status" => class)
    .increment(1);
    metrics::histogram!(HTTP_SECONDS, "method" => method, "route" => route.to_owned())
        .record(elapsed.as_secs_f64());
}

/// Records one hand-off to `provider`: `None` it took the message, else the refusal's reason.
pub fn send_outcome(provider: &'static str, refused: Option<&'static str>) {
    match refused {
        None => metrics::counter!(SENDS, "provider" => provider).increment(1),
        Some(reason) => {
            metrics::counter!(SEND_FAILURES, "provider" => provider, "reason" => reason)
                .increment(1);
        }
    }
}

/// Records one clinic database query.
pub fn clinic_query(query: &'static str, elapsed: Duration, ok: bool) {
    let outcome = if ok { "ok" } else { "error" };
    metrics::histogram!(CLINIC_QUERY_SECONDS, "query" => query, "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// What a dashboard figures lookup found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    /// Fresh figures, no clinic query.
    Hit,
    /// Computed from the clinic database.
    Miss,
    /// The clinic failed a moment ago: the last good figures, marked stale.
    Stale,
}

/// Records one dashboard figures lookup.
pub fn dashboard_cache(result: Cache) {
    let result = match result {
        Cache::Hit => "hit",
        Cache::Miss => "miss",
        Cache::Stale => "stale",
    };
    metrics::counter!(DASHBOARD_CACHE, "result" => result).increment(1);
}

/// Sets a gauge read from the app database at scrape time.
pub fn set_gauge(name: &'static str, labels: &[(&'static str, String)], value: f64) {
    let labels: Vec<metrics::Label> = labels
        .iter()
        .map(|(key, value)| metrics::Label::new(*key, value.clone()))
        .collect();
    metrics::gauge!(name, labels).set(value);
}
