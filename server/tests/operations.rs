//! What a clinic's IT meets running Nabd: `/metrics` (who may read it, and what it says, as a
//! parsed Prometheus exposition), the canonical addresses (trailing slashes, `/admin`,
//! `/login`, `/dashboard`), the pages' description, times in the clinic's zone, JSON logs,
//! `nabd check` against good and broken setups, and backups: a backup taken during a
//! broadcast restores to a database whose unsent messages are uncertain, never sent twice.

mod common;

use common::Killed;
use common::bridge::start_bridge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery";

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// A small clinic: two doctors, one patient, one appointment today.
const CLINIC: &str = "
    INSERT INTO doctor (id, name_a, name_e) VALUES (1, 'د. سارة', 'Dr. Sara'), (2, 'د. علي', NULL);
    INSERT INTO patient (id, name_a, name_e, mobile, trans_dt)
        VALUES (1, 'مريض', 'Patient', '0501234567', '2025-01-01 09:00:00');
    INSERT INTO appointment (id, pt_id, pt_name, mobile, doc_id, doc_nm, app_dt, from_tm, to_tm,
        app_status, trans_dt)
        VALUES (1, 1, 'مريض', '0501234567', 1, 'د. سارة', '2026-01-05', '16:00:00', NULL, 1,
        '2026-01-01 10:00:00');
";

/// Nabd in this process on a fresh SQLite app database and the small clinic, with `extra`
/// arguments; returns its base URL and keeps the folder alive.
async fn start(extra: &[&str]) -> (String, nabd::web::state::AppState, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    common::sqlite_clinic(&dir.path().join("clinic.db"), CLINIC).await;
    let app_db = format!("sqlite://{}/nabd.db", dir.path().display());
    let clinic = format!("sqlite://{}/clinic.db", dir.path().display());
    let mut args = vec![
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &app_db,
        "--clinic-url",
        &clinic,
        "--jobs-enabled",
        "false",
        "--now",
        "2026-01-05T09:31",
        "--admin-slowdown-max-secs",
        "0",
    ];
    args.extend_from_slice(extra);
    let (addr, state) = common::spawn_nabd_with_state(&args).await;
    let now = chrono::Utc::now();
    nabd::admin::create_user(
        &state.db,
        "manager",
        PASSWORD,
        nabd::admin::Role::Admin,
        now,
    )
    .await
    .expect("admin");
    nabd::admin::create_user(&state.db, "owner", PASSWORD, nabd::admin::Role::Viewer, now)
        .await
        .expect("viewer");
    (format!("http://{addr}"), state, dir)
}

/// Queues a manual "hello" to the small clinic's patient, keyed `key`, due at `due`.
async fn queue_hello(
    state: &nabd::web::state::AppState,
    key: &str,
    due: chrono::DateTime<chrono::Utc>,
) {
    state
        .messaging
        .outbox
        .enqueue(&[nabd::messaging::outbox::NewMessage::free_text(
            nabd::messaging::Kind::Manual,
            nabd::platform::phone::Mobile::parse("0501234567", Default::default()).expect("mobile"),
            "hello".to_owned(),
            nabd::messaging::Language::En,
            key.to_owned(),
            due,
            state.clock.today(),
        )])
        .await
        .expect("queued");
}

/// One sample of a Prometheus text exposition: its name and labels.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
}

/// Parses a Prometheus text exposition (version 0.0.4): every sample with its value; panics on
/// a line that is not one, so a malformed exposition fails the test.
fn parse_exposition(text: &str) -> Vec<(Sample, f64)> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels close");
                let mut labels = BTreeMap::new();
                let mut rest = body;
                while !rest.is_empty() {
                    let (key, after) = rest.split_once("=\"").expect("label =\"");
                    let mut value = String::new();
                    let mut chars = after.char_indices();
                    let mut end = None;
                    while let Some((index, c)) = chars.next() {
                        match c {
                            '\\' => {
                                if let Some((_, escaped)) = chars.next() {
                                    value.push(match escaped {
                                        'n' => '\n',
                                        other => other,
                                    });
                                }
                            }
                            '"' => {
                                end = Some(index);
                                break;
                            }
                            other => value.push(other),
                        }
                    }
                    let end = end.expect("label value closes");
                    labels.insert(key.trim_start_matches(',').to_owned(), value);
                    rest = after[end + 1..].trim_start_matches(',');
                }
                (name.to_owned(), labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name {name:?}"
        );
        samples.push((Sample { name, labels }, value));
    }
    samples
}

/// Tells whether the samples of `name` with `labels` add up to at least `floor` (counters of
/// the tests running beside this one add to them: the recorder is the process's).
fn at_least(samples: &[(Sample, f64)], name: &str, labels: &[(&str, &str)], floor: f64) -> bool {
    value_of(samples, name, labels).is_some_and(|value| value >= floor)
}

fn value_of(samples: &[(Sample, f64)], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples
        .iter()
        .filter(|(sample, _)| {
            sample.name == name
                && labels
                    .iter()
                    .all(|(key, value)| sample.labels.get(*key).map(String::as_str) == Some(*value))
        })
        .map(|(_, value)| *value)
        .reduce(|a, b| a + b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_answer_loopback_callers_with_routes_never_raw_paths() {
    let (base, state, _dir) = start(&[]).await;
    let client = client();
    // Traffic to count: a health probe, a dashboard read (a clinic query and a cache miss, then
    // a hit), and a scanner's made-up addresses.
    client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .expect("healthz");
    for _ in 0..2 {
        let answer = client
            .get(format!("{base}/api/v1/dashboard"))
            .send()
            .await
            .expect("dashboard");
        assert_eq!(answer.status(), StatusCode::OK);
    }
    for n in 0..5 {
        client
            .get(format!("{base}/wp-admin/setup-{n}.php"))
            .send()
            .await
            .expect("scanner");
    }
    // A message waiting, due a minute ago: the oldest due message's age is at least that.
    let due = state.clock.real_now() - chrono::Duration::minutes(1);
    queue_hello(&state, "manual:metrics:1", due).await;

    let answer = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        answer.headers()
    );
    let text = answer.text().await.expect("body");
    let samples = parse_exposition(&text);
    assert!(
        at_least(
            &samples,
            "nabd_http_requests_total",
            &[("route", "/healthz"), ("status", "2xx"), ("method", "GET")],
            1.0
        ),
        "{text}"
    );
    assert!(
        at_least(
            &samples,
            "nabd_http_request_duration_seconds_count",
            &[("route", "/api/v1/dashboard")],
            2.0
        ),
        "{text}"
    );
    // The scanner's five addresses are one label, and none of them appears.
    assert!(
        at_least(
            &samples,
            "nabd_http_requests_total",
            &[("route", "unmatched")],
            5.0
        ),
        "{text}"
    );
    assert!(!text.contains("wp-admin"), "{text}");
    assert_eq!(
        value_of(
            &samples,
            "nabd_outbox_messages",
            &[("kind", "manual"), ("state", "queued")]
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        value_of(
            &samples,
            "nabd_outbox_messages",
            &[("kind", "reminder"), ("state", "sent")]
        ),
        Some(0.0),
        "every kind and state is listed, zero included: {text}"
    );
    assert!(
        at_least(&samples, "nabd_outbox_oldest_due_age_seconds", &[], 59.0),
        "{text}"
    );
    assert!(
        at_least(
            &samples,
            "nabd_dashboard_cache_total",
            &[("result", "hit")],
            1.0
        ),
        "{text}"
    );
    assert!(
        at_least(
            &samples,
            "nabd_clinic_query_duration_seconds_count",
            &[("query", "revenue_by_day"), ("outcome", "ok")],
            1.0
        ),
        "{text}"
    );
    assert_eq!(value_of(&samples, "nabd_live_instances", &[]), Some(1.0));

    // A request a reverse proxy forwarded is not a direct one.
    let forwarded = client
        .get(format!("{base}/metrics"))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .expect("forwarded");
    assert_eq!(forwarded.status(), StatusCode::FORBIDDEN);
    let forwarded = client
        .get(format!("{base}/metrics"))
        .header("forwarded", "for=203.0.113.7")
        .send()
        .await
        .expect("forwarded");
    assert_eq!(forwarded.status(), StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_metrics_token_only_its_bearer_reads_the_metrics() {
    let token = "prometheus-scraper-2026";
    let (base, _state, _dir) = start(&["--metrics-token", token]).await;
    let client = client();
    let anonymous = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("answer");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(anonymous.headers().contains_key("www-authenticate"));
    let wrong = client
        .get(format!("{base}/metrics"))
        .bearer_auth("prometheus-scraper-2025")
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let right = client
        .get(format!("{base}/metrics"))
        .bearer_auth(token)
        .header("x-forwarded-for", "10.0.0.9")
        .send()
        .await
        .expect("answer");
    assert_eq!(right.status(), StatusCode::OK);
    assert!(!parse_exposition(&right.text().await.expect("body")).is_empty());
}

async fn sign_in(client: &reqwest::Client, base: &str, username: &str) -> String {
    common::session_cookie(client, base, username, PASSWORD).await
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_addresses_lead_to_the_canonical_pages() {
    let (base, _state, _dir) = start(&[]).await;
    let client = client();
    let get = |path: &str, cookie: Option<&str>, language: Option<&str>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(language) = language {
            request = request.header("accept-language", language);
        }
        request.send()
    };
    // A trailing slash: the same address without it, the query kept.
    let slash = get("/en/", None, None).await.expect("answer");
    assert_eq!(slash.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(location(&slash), "/en");
    let home = get("/en", None, None).await.expect("answer");
    assert_eq!(home.status(), StatusCode::OK);
    let slash = get("/ar/clinic-dashboard/?doctor=1", None, None)
        .await
        .expect("answer");
    assert_eq!(location(&slash), "/ar/clinic-dashboard?doctor=1");
    let slash = get("/api/v1/dashboard/", None, None).await.expect("answer");
    assert_eq!(location(&slash), "/api/v1/dashboard");
    let sneaky = get("//evil.example/", None, None).await.expect("answer");
    assert_eq!(location(&sneaky), "/evil.example");

    // Signed out: the admin area's usual names lead to the sign-in page, in the browser's
    // language.
    for path in ["/admin", "/login", "/dashboard", "/en/admin"] {
        let answer = get(path, None, None).await.expect("answer");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&answer), "/en/admin/sign-in", "{path}");
    }
    let arabic = get("/admin", None, Some("ar-SA,ar;q=0.9"))
        .await
        .expect("answer");
    assert_eq!(location(&arabic), "/ar/admin/sign-in");
    let signed_out_page = get("/en/admin/sign-in", None, None).await.expect("answer");
    assert_eq!(signed_out_page.status(), StatusCode::OK);

    // Signed in: an admin to the inbox, a viewer to the campaign report.
    let admin = sign_in(&client, &base, "manager").await;
    let answer = get("/login", Some(&admin), None).await.expect("answer");
    assert_eq!(location(&answer), "/en/admin/inbox");
    let answer = get("/ar/dashboard", Some(&admin), None)
        .await
        .expect("answer");
    assert_eq!(location(&answer), "/ar/admin/inbox");
    let viewer = sign_in(&client, &base, "owner").await;
    let answer = get("/admin", Some(&viewer), None).await.expect("answer");
    assert_eq!(location(&answer), "/en/marketing-report");
}

fn meta_description(html: &str) -> Option<String> {
    let start = html.find("<meta name=\"description\" content=\"")?;
    let rest = &html[start + "<meta name=\"description\" content=\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_describes_itself_in_its_language() {
    let (base, _state, _dir) = start(&[]).await;
    let client = client();
    for (path, expected) in [
        ("/en/clinic-dashboard", "live figures"),
        ("/en", "live figures"),
        ("/ar/clinic-dashboard", "عيادة"),
        ("/en/admin/sign-in", "live figures"),
    ] {
        let html = client
            .get(format!("{base}{path}"))
            .send()
            .await
            .expect("page")
            .text()
            .await
            .expect("html");
        let description = meta_description(&html).unwrap_or_else(|| panic!("{path}: none"));
        assert!(description.contains(expected), "{path}: {description}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_log_shows_the_clinic_time_and_says_which() {
    let (base, state, _dir) = start(&[]).await;
    // Due at 09:31:30 in Riyadh: 06:31:30 UTC.
    let due = chrono::DateTime::parse_from_rfc3339("2026-01-05T06:31:30Z")
        .expect("instant")
        .with_timezone(&chrono::Utc);
    let due = state
        .clock
        .real_instant_of(due.with_timezone(&chrono_tz::Asia::Riyadh));
    queue_hello(&state, "manual:time:1", due).await;
    let client = client();
    let admin = sign_in(&client, &base, "manager").await;
    let rows: Value = client
        .get(format!("{base}/api/v1/admin/messages"))
        .header("cookie", &admin)
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let scheduled = rows[0]["scheduled_at"].as_str().expect("scheduled_at");
    assert!(scheduled.starts_with("2026-01-05T09:31"), "{scheduled}");
    assert!(scheduled.ends_with("+03:00"), "{scheduled}");
    let page = client
        .get(format!("{base}/en/admin/messages"))
        .header("cookie", &admin)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(page.contains("2026-01-05 09:31"), "the local time is shown");
    assert!(!page.contains("06:31"), "no UTC time is shown");
    assert!(page.contains("UTC+03:00"), "the page says which time zone");
}

/// Runs the `nabd` binary to completion with `env`; returns (success, stdout, stderr).
fn run_nabd(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    let output = common::nabd_command(dir, args, env)
        .stdin(Stdio::null())
        .output()
        .expect("nabd runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn items(report: &Value) -> Vec<(String, String, String, String)> {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["section"].as_str().unwrap_or_default().to_owned(),
                item["subject"].as_str().unwrap_or_default().to_owned(),
                item["level"].as_str().unwrap_or_default().to_owned(),
                item["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_passes_on_the_demo_clinic_and_says_what_it_found() {
    let dir = tempfile::tempdir().expect("dir");
    let (seeded, _, stderr) = run_nabd(
        dir.path(),
        &[
            "demo",
            "seed",
            "--out",
            "clinic.db",
            "--patients",
            "40",
            "--today",
            "2026-01-05",
        ],
        &[],
    );
    assert!(seeded, "{stderr}");
    let env = [
        ("NABD_DATABASE_URL", "sqlite://nabd.db"),
        ("NABD_CLINIC_URL", "sqlite://clinic.db"),
        ("NABD_NOW", "2026-01-05T09:00"),
    ];
    let (ok, stdout, stderr) = run_nabd(dir.path(), &["check", "--json"], &env);
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}{stderr}"));
    assert!(ok, "{stdout}{stderr}");
    assert_eq!(report["ok"], true);
    let items = items(&report);
    let failed: Vec<_> = items.iter().filter(|i| i.2 == "fail").collect();
    assert!(failed.is_empty(), "{failed:?}");
    let find = |section: &str, subject: &str| {
        items
            .iter()
            .find(|i| i.0 == section && i.1 == subject)
            .unwrap_or_else(|| panic!("{section} / {subject} missing: {items:?}"))
            .clone()
    };
    let appointments = find("clinic database", "appointment");
    assert!(appointments.3.contains("rows"), "{appointments:?}");
    assert_eq!(
        find("clinic database", "index appointment (pt_id, app_dt)").2,
        "ok"
    );
    assert_eq!(find("clinic database", "read only").2, "ok");
    assert!(
        find("clinic database", "newest appointment.app_dt")
            .3
            .starts_with("20")
    );
    // Nothing was created: the app database does not exist yet, and check says so.
    assert_eq!(find("app database", "opens").2, "note");
    assert!(!dir.path().join("nabd.db").exists());
    let reminders = find("schedules", "reminders");
    assert!(
        reminders.3.starts_with("next 2026-01-05 09:15:00"),
        "{reminders:?}"
    );
    let template = find("templates", "reminder_confirmed (ar)");
    assert!(template.3.contains("سارة"), "{template:?}");
    // The table for people says the same.
    let (ok, table, _) = run_nabd(dir.path(), &["check"], &env);
    assert!(ok);
    assert!(table.contains("no problem found"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_finds_a_missing_table_and_column_on_sql_server_and_a_bridge_that_is_down() {
    let dir = tempfile::tempdir().expect("dir");
    let url = common::start_tds_server().await;
    let config = tiberius::Config::from_ado_string(&url).expect("ado");
    // A PMS whose appointment table lacks app_dt and that has no receipts table.
    common::run_statements(
        &config,
        &[
            "CREATE TABLE doctor (id INT PRIMARY KEY, name_a NVARCHAR(100), name_e NVARCHAR(100))"
                .to_owned(),
            "CREATE TABLE patient (id INT PRIMARY KEY, name_a NVARCHAR(200), name_e NVARCHAR(200),
                mobile VARCHAR(40), trans_dt DATETIME)"
                .to_owned(),
            "CREATE TABLE appointment (id INT PRIMARY KEY, pt_id INT, pt_name NVARCHAR(200),
                mobile VARCHAR(40), doc_id INT, doc_nm NVARCHAR(100), from_tm NVARCHAR(8),
                to_tm NVARCHAR(8), app_status INT, trans_dt DATETIME)"
                .to_owned(),
            "CREATE TABLE invoice_h (id INT PRIMARY KEY, inv_dt DATETIME, cash DECIMAL(19, 4),
                span DECIMAL(19, 4), pt_id INT, doc_id INT)"
                .to_owned(),
            "CREATE INDEX invoice_h_inv_dt ON invoice_h (inv_dt)".to_owned(),
            "INSERT INTO doctor (id, name_a, name_e) VALUES (1, N'د. سارة', N'Dr. Sara')"
                .to_owned(),
        ],
    )
    .await;
    // A port nothing listens on: the bridge is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let bridge = format!("http://{closed}");
    let env = [
        ("NABD_DATABASE_URL", "sqlite://nabd.db"),
        ("NABD_CLINIC_URL", url.as_str()),
        ("NABD_WHATSAPP_PROVIDER", "whatsapp-web"),
        ("NABD_WHATSAPP_WEB_URL", bridge.as_str()),
    ];
    let (ok, stdout, stderr) = run_nabd(dir.path(), &["check", "--json"], &env);
    assert!(!ok, "a broken setup exits non-zero: {stdout}");
    let report: Value =
        serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}{stderr}"));
    assert_eq!(report["ok"], false);
    let items = items(&report);
    let failed: Vec<(&str, &str)> = items
        .iter()
        .filter(|i| i.2 == "fail")
        .map(|i| (i.0.as_str(), i.1.as_str()))
        .collect();
    assert!(
        failed.contains(&("clinic database", "appointment.app_dt")),
        "{failed:?} in {items:?}"
    );
    assert!(
        failed.contains(&("clinic database", "receipts")),
        "{failed:?}"
    );
    assert!(
        failed.contains(&("whatsapp", "provider whatsapp-web")),
        "{failed:?}"
    );
    let level = |subject: &str| {
        items
            .iter()
            .find(|i| i.1 == subject)
            .map(|i| i.2.clone())
            .unwrap_or_else(|| panic!("{subject} missing: {items:?}"))
    };
    // What is there is judged too: a datetime (nullable, so noted), an index present, one
    // missing.
    assert_eq!(level("invoice_h.inv_dt"), "note");
    let inv_dt = items
        .iter()
        .find(|i| i.1 == "invoice_h.inv_dt")
        .map(|i| i.3.clone())
        .unwrap_or_default();
    assert!(
        inv_dt.contains("datetime") && inv_dt.contains("nullable"),
        "{inv_dt}"
    );
    assert_eq!(level("index invoice_h (inv_dt)"), "ok");
    assert_eq!(level("index invoice_h (doc_id)"), "warn");
    assert_eq!(level("doctor"), "ok");
    let (_, table, _) = run_nabd(dir.path(), &["check"], &env);
    assert!(table.contains("FAIL"), "{table}");
    assert!(table.contains("problems found"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reads_a_ready_bridge_without_sending() {
    let dir = tempfile::tempdir().expect("dir");
    common::sqlite_clinic(&dir.path().join("clinic.db"), CLINIC).await;
    let (bridge_url, bridge) = start_bridge().await;
    let env = [
        ("NABD_DATABASE_URL", "sqlite://nabd.db"),
        ("NABD_CLINIC_URL", "sqlite://clinic.db"),
        ("NABD_WHATSAPP_PROVIDER", "whatsapp-web"),
        ("NABD_WHATSAPP_WEB_URL", bridge_url.as_str()),
    ];
    let (ok, stdout, _) = run_nabd(dir.path(), &["check", "--json"], &env);
    assert!(ok, "{stdout}");
    let report: Value = serde_json::from_str(&stdout).expect("json");
    let provider = items(&report)
        .into_iter()
        .find(|i| i.1 == "provider whatsapp-web")
        .expect("provider item");
    assert_eq!(provider.2, "ok", "{provider:?}");
    assert!(
        bridge.lock().expect("lock").received.is_empty(),
        "nothing sent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_with_their_fields() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("serve.log");
    // Port 0: the address is read from the log, so no other test can take it first.
    let child = common::nabd_command(
        dir.path(),
        &["serve"],
        &[
            ("NABD_ADDR", "127.0.0.1:0"),
            ("NABD_DATABASE_URL", "sqlite://nabd.db"),
            ("NABD_LOG_FORMAT", "json"),
            ("NABD_JOBS_ENABLED", "false"),
        ],
    )
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(&log).expect("log"))
    .spawn()
    .expect("serve");
    let server = Killed(child);
    let parse = |text: &str| -> Vec<Value> {
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
            .collect()
    };
    let serving_at = |lines: &[Value]| {
        lines.iter().find_map(|line| {
            line["fields"]["message"]
                .as_str()?
                .strip_prefix("Nabd is serving at ")
                .map(str::to_owned)
        })
    };
    let started = Instant::now();
    let base = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        // Only whole lines: the last one may still be being written.
        let whole = text.rsplit_once('\n').map_or("", |(whole, _)| whole);
        if let Some(base) = serving_at(&parse(whole)) {
            break base;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never served: {text}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let health = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(health.status(), StatusCode::OK);
    terminate(server);
    let text = std::fs::read_to_string(&log).expect("log");
    let lines = parse(&text);
    let serving = lines
        .iter()
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Nabd is serving at"))
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(serving["level"], "INFO");
    assert!(serving["timestamp"].is_string());
    assert!(serving["target"].is_string());

    // A process that cannot start says why in JSON too.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = common::nabd_command(
        dir.path(),
        &["serve"],
        &[
            ("NABD_ADDR", addr.as_str()),
            ("NABD_DATABASE_URL", "sqlite://nabd.db"),
            ("NABD_LOG_FORMAT", "json"),
            ("NABD_JOBS_ENABLED", "false"),
        ],
    )
    .output()
    .expect("runs");
    assert!(!output.status.success());
    let lines = parse(&String::from_utf8_lossy(&output.stderr));
    let stopped = lines.last().expect("a line");
    assert_eq!(stopped["level"], "ERROR");
    assert!(
        stopped["fields"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot listen")),
        "{stopped}"
    );
}

/// Stops a served process the way systemd does (SIGTERM), and waits for it to finish.
fn terminate(mut server: Killed) {
    let pid = server.0.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = server.0.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server did not stop on SIGTERM within 60 s");
}

/// Counts the outbox's rows per state in the SQLite database `file`.
async fn states_in(file: &Path) -> HashMap<String, i64> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", file.display()))
        .await
        .expect("open");
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT state, COUNT(*) FROM outbox WHERE kind = 'broadcast' GROUP BY state",
    )
    .fetch_all(&pool)
    .await
    .expect("states");
    pool.close().await;
    rows.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_during_a_broadcast_restores_without_sending_anything_twice() {
    const NUMBERS: usize = 12;
    let dir = tempfile::tempdir().expect("dir");
    common::sqlite_clinic(&dir.path().join("clinic.db"), CLINIC).await;
    let (bridge_url, bridge) = start_bridge().await;
    let addr = common::free_addr();
    let base = format!("http://{addr}");
    let env: Vec<(&str, &str)> = vec![
        ("NABD_ADDR", &addr),
        ("NABD_DATABASE_URL", "sqlite://nabd.db"),
        ("NABD_CLINIC_URL", "sqlite://clinic.db"),
        ("NABD_WHATSAPP_PROVIDER", "whatsapp-web"),
        ("NABD_WHATSAPP_WEB_URL", &bridge_url),
        ("NABD_SENDING_HOURS_OTHER", "00:00-23:59"),
        ("NABD_BROADCAST_STAGGER_SECONDS", "1-1"),
        ("NABD_SCHEDULE_OUTBOX_SWEEP", "*/2 * * * * *"),
        ("NABD_HEARTBEAT_SECS", "1"),
        ("NABD_ADMIN_SLOWDOWN_MAX_SECS", "0"),
    ];
    let serve = |log: &str| {
        let child = common::nabd_command(dir.path(), &["serve"], &env)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join(log)).expect("log"))
            .spawn()
            .expect("serve");
        Killed(child)
    };
    let wait_ready = || async {
        let started = Instant::now();
        loop {
            if let Ok(answer) = reqwest::get(format!("{base}/readyz")).await
                && answer.status() == StatusCode::OK
            {
                return;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let server = serve("first.log");
    wait_ready().await;
    let mut create = common::nabd_command(dir.path(), &["admin", "create-user", "manager"], &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("create-user");
    {
        use std::io::Write;
        let mut stdin = create.stdin.take().expect("stdin");
        writeln!(stdin, "{PASSWORD}").expect("password");
    }
    assert!(create.wait().expect("created").success());

    // A broadcast to twelve numbers, one a second.
    let client = client();
    let cookie = common::session_cookie(&client, &base, "manager", PASSWORD).await;
    let me: Value = client
        .get(format!("{base}/api/v1/admin/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("json");
    let csrf = me["csrf"]
        .as_str()
        .expect("the session's CSRF token")
        .to_owned();
    let numbers: Vec<String> = (0..NUMBERS)
        .map(|n| format!("050{:07}", 2_000_000 + n))
        .collect();
    let post = |path: String, body: Value| {
        client
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .header("origin", &base)
            .header("x-csrf-token", &csrf)
            .json(&body)
            .send()
    };
    let draft: Value = post(
        "/api/v1/admin/broadcasts".to_owned(),
        json!({ "numbers": numbers.join("\n"), "message": "The clinic is closed on Friday." }),
    )
    .await
    .expect("draft")
    .json()
    .await
    .expect("json");
    let id = draft["id"].as_i64().unwrap_or_else(|| panic!("{draft}"));
    let sent = post(format!("/api/v1/admin/broadcasts/{id}/send"), json!({}))
        .await
        .expect("send");
    assert_eq!(sent.status(), StatusCode::ACCEPTED);

    // The backup is taken with the broadcast a few messages in.
    let started = Instant::now();
    while bridge.lock().expect("lock").received.len() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the broadcast never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (backed_up, stdout, stderr) =
        run_nabd(dir.path(), &["backup", "--out", "backups/during.db"], &env);
    assert!(backed_up, "{stdout}{stderr}");
    assert!(stdout.contains("wrote backups/during.db"), "{stdout}");
    let at_backup = states_in(&dir.path().join("backups/during.db")).await;
    let unfinished = at_backup.get("queued").copied().unwrap_or(0)
        + at_backup.get("sending").copied().unwrap_or(0);
    assert!(
        unfinished >= 1,
        "the backup caught the broadcast mid-way: {at_backup:?}"
    );
    // A second backup to the same file is refused, never overwritten.
    let (again, _, stderr) = run_nabd(dir.path(), &["backup", "--out", "backups/during.db"], &env);
    assert!(!again);
    assert!(stderr.contains("already exists"), "{stderr}");

    // No restore while Nabd runs on the target.
    let (refused, _, stderr) = run_nabd(
        dir.path(),
        &["restore", "--from", "backups/during.db", "--force"],
        &env,
    );
    assert!(!refused);
    assert!(stderr.contains("is running on the target"), "{stderr}");

    // The broadcast finishes; Nabd stops (SIGTERM, as systemd stops it).
    let started = Instant::now();
    while bridge.lock().expect("lock").received.len() < NUMBERS {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the broadcast never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    terminate(server);

    // The target moved on since the backup: refused without --force, which says what is lost.
    let (refused, _, stderr) = run_nabd(
        dir.path(),
        &["restore", "--from", "backups/during.db"],
        &env,
    );
    assert!(!refused);
    assert!(stderr.contains("--force"), "{stderr}");
    let (restored, stdout, stderr) = run_nabd(
        dir.path(),
        &["restore", "--from", "backups/during.db", "--force"],
        &env,
    );
    assert!(restored, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "{unfinished} unfinished messages are now uncertain"
        )),
        "{stdout}"
    );
    let after = states_in(&dir.path().join("nabd.db")).await;
    assert_eq!(after.get("queued"), None, "{after:?}");
    assert_eq!(after.get("sending"), None, "{after:?}");
    assert_eq!(
        after.get("uncertain").copied(),
        Some(unfinished),
        "{after:?}"
    );

    // Nabd runs again on the restored database: the uncertain messages wait for an admin.
    let server = serve("second.log");
    wait_ready().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let received: Vec<String> = bridge
        .lock()
        .expect("lock")
        .received
        .iter()
        .map(|(to, _)| to.clone())
        .collect();
    let mut distinct = received.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(received.len(), NUMBERS, "nothing sent twice: {received:?}");
    assert_eq!(distinct.len(), NUMBERS);
    let log: Value = client
        .get(format!("{base}/api/v1/admin/messages?state=uncertain"))
        .header(
            "cookie",
            common::session_cookie(&client, &base, "manager", PASSWORD).await,
        )
        .send()
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let listed = log.as_array().expect("rows");
    assert_eq!(listed.len() as i64, unfinished);
    assert!(
        listed[0]["error"]
            .as_str()
            .is_some_and(|why| why.contains("restored from a backup")),
        "{log}"
    );
    terminate(server);
}

#[tokio::test]
async fn a_resumed_restore_keeps_the_queue_and_scheduled_backups_keep_the_newest() {
    use nabd::platform::backup;
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/nabd.db", dir.path().display());
    let db = nabd::platform::store::open(&url).await.expect("db");
    let clock = nabd::platform::clock::Clock::system(chrono_tz::Asia::Riyadh);
    let instance = nabd::platform::instance::Instance::start(&db, clock, Duration::from_secs(1))
        .await
        .expect("instance");
    let config = <nabd::cli::Cli as clap::Parser>::parse_from(["nabd"]).config;
    let outbox = nabd::messaging::outbox::Outbox::new(
        db.clone(),
        nabd::messaging::provider::Provider::Log,
        clock,
        std::sync::Arc::new(config.messaging),
        None,
        instance.clone(),
    );
    let later = chrono::Utc::now() + chrono::Duration::hours(2);
    let messages: Vec<_> = (0..3)
        .map(|n| {
            nabd::messaging::outbox::NewMessage::free_text(
                nabd::messaging::Kind::Manual,
                nabd::platform::phone::Mobile::parse(&format!("050000000{n}"), Default::default())
                    .expect("mobile"),
                format!("message {n}"),
                nabd::messaging::Language::En,
                format!("manual:resume:{n}"),
                later,
                clock.today(),
            )
        })
        .collect();
    outbox.enqueue(&messages).await.expect("queued");
    sqlx::query("UPDATE outbox SET state = 'sending' WHERE idempotency_key = 'manual:resume:0'")
        .execute(match &db {
            nabd::platform::store::Db::Sqlite(pool) => pool,
            nabd::platform::store::Db::Postgres(_) => panic!("a SQLite test"),
        })
        .await
        .expect("sending");
    let made = backup::backup(&db, &dir.path().join("b.db"))
        .await
        .expect("backup");
    assert!(made.bytes > 0);
    instance.stop().await.expect("stopped");
    db.close().await;
    let restored = backup::restore(
        &dir.path().join("b.db"),
        &url,
        backup::RestoreOptions {
            force: false,
            resume: true,
            heartbeat: Duration::from_secs(1),
            now: chrono::Utc::now(),
        },
    )
    .await
    .expect("restored");
    assert_eq!((restored.uncertain, restored.kept_queued), (1, 2));

    // The scheduled backups: the newest `keep` stay, other files are never touched.
    let db = nabd::platform::store::open(&url).await.expect("db");
    let folder = dir.path().join("backups");
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::write(folder.join("before-upgrade.db"), b"kept by hand").expect("file");
    for hour in [1, 2, 3] {
        let local = chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(hour, 30, 0))
            .expect("time");
        backup::scheduled(&db, &folder, 2, local)
            .await
            .expect("scheduled");
    }
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .expect("list")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "before-upgrade.db",
            "nabd-20260105-023000.db",
            "nabd-20260105-033000.db"
        ]
    );
    db.close().await;
}
