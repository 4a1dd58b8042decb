//! The real server on a free loopback port, with a fresh app database per test, spoken to over
//! real HTTP.

mod common;

use reqwest::StatusCode;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION};
use std::net::SocketAddr;
use tempfile::TempDir;

struct TestApp {
    addr: SocketAddr,
    client: reqwest::Client,
    _dir: TempDir,
}

impl TestApp {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request")
    }
}

async fn spawn_app(extra: &[&str]) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite://{}/nabd.db", dir.path().display());
    let mut args = vec!["nabd", "--addr", "127.0.0.1:0", "--database-url", &db];
    args.extend_from_slice(extra);
    let addr = common::spawn_nabd(&args).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        addr,
        client,
        _dir: dir,
    }
}

/// Creates a clinic database with the contract's tables and no rows.
async fn empty_clinic(url: &str) {
    use sqlx::sqlite::SqliteConnectOptions;
    use std::str::FromStr;
    let options = SqliteConnectOptions::from_str(url)
        .expect("url")
        .create_if_missing(true);
    let pool = sqlx::SqlitePool::connect_with(options)
        .await
        .expect("create");
    sqlx::raw_sql(nabd::gateway::sqlite::SCHEMA)
        .execute(&pool)
        .await
        .expect("schema");
    pool.close().await;
}

#[tokio::test]
async fn healthz_answers_while_the_process_runs() {
    let app = spawn_app(&[]).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_says_which_database_is_not_reachable() {
    let app = spawn_app(&[]).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["app_database"]["ok"], true);
    assert_eq!(body["clinic_database"]["ok"], false);
    assert!(
        body["clinic_database"]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("NABD_CLINIC_URL")
    );

    let missing = "sqlite:///nonexistent/folder/clinic.db";
    let app = spawn_app(&["--clinic-url", missing]).await;
    let body: serde_json::Value = app.get("/readyz").await.json().await.expect("json");
    assert_eq!(body["status"], "not_ready");
    assert_eq!(body["clinic_database"]["ok"], false);
}

#[tokio::test]
async fn readyz_is_ready_when_both_databases_answer() {
    let clinic_dir = tempfile::tempdir().expect("temp dir");
    let clinic_path = clinic_dir.path().join("clinic.db");
    let clinic = format!("sqlite://{}", clinic_path.display());
    empty_clinic(&clinic).await;
    let app = spawn_app(&["--clinic-url", &clinic]).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["status"], "ready");
}

#[tokio::test]
async fn the_dashboard_api_answers_figures_and_refuses_bad_doctors() {
    let clinic_dir = tempfile::tempdir().expect("temp dir");
    let clinic = format!("sqlite://{}/clinic.db", clinic_dir.path().display());
    empty_clinic(&clinic).await;
    let app = spawn_app(&["--clinic-url", &clinic, "--now", "2026-01-05T10:30"]).await;

    let response = app.get("/api/v1/dashboard").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["as_of"], "2026-01-05T10:30:00+03:00");
    assert_eq!(body["currency"], "SAR");
    assert_eq!(body["revenue_today"], 0.0);
    assert_eq!(body["monthly_revenue"].as_array().map(Vec::len), Some(12));
    assert_eq!(body["patient_mix"].as_array().map(Vec::len), Some(30));

    let malformed = app.get("/api/v1/dashboard?doctor=abc").await;
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = malformed.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("whole number")
    );

    let unknown = app.get("/api/v1/dashboard?doctor=999").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_dashboard_api_answers_503_when_the_clinic_database_is_down() {
    let app = spawn_app(&["--clinic-url", "sqlite:///nonexistent/clinic.db"]).await;
    let response = app.get("/api/v1/dashboard").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("unavailable")
    );
}

#[tokio::test]
async fn the_root_redirects_by_cookie_then_browser_language_then_english() {
    let app = spawn_app(&[]).await;
    let location = |response: &reqwest::Response| {
        response.headers()[LOCATION]
            .to_str()
            .expect("ascii")
            .to_owned()
    };

    let plain = app.get("/").await;
    assert!(plain.status().is_redirection());
    assert_eq!(location(&plain), "/en");

    let arabic_browser = app
        .client
        .get(app.url("/"))
        .header(ACCEPT_LANGUAGE, "ar-SA,ar;q=0.9,en;q=0.4")
        .send()
        .await
        .expect("request");
    assert_eq!(location(&arabic_browser), "/ar");

    let english_cookie = app
        .client
        .get(app.url("/clinic-dashboard?doctor=3"))
        .header(ACCEPT_LANGUAGE, "ar")
        .header(COOKIE, "i18n_pref_locale=en")
        .send()
        .await
        .expect("request");
    assert_eq!(location(&english_cookie), "/en/clinic-dashboard?doctor=3");
}

#[tokio::test]
async fn a_page_remembers_its_language_for_the_bare_address() {
    let app = spawn_app(&[]).await;
    let page = |path: &'static str, cookie: Option<&'static str>| {
        let mut request = app.client.get(app.url(path));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send()
    };
    let set_cookie = |response: &reqwest::Response| {
        response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|value| value.to_str().expect("ascii").to_owned())
            .collect::<Vec<_>>()
    };
    // An Arabic page to a new visitor: remembered, site-wide, for a year.
    let arabic = page("/ar", None).await.expect("request");
    assert_eq!(arabic.status(), StatusCode::OK);
    assert_eq!(
        set_cookie(&arabic),
        ["i18n_pref_locale=ar; Path=/; Max-Age=31536000; SameSite=Lax"]
    );
    // With that cookie the bare address opens in Arabic, and Arabic pages set nothing more.
    let root = page("/", Some("i18n_pref_locale=ar"))
        .await
        .expect("request");
    assert_eq!(root.headers()[LOCATION], "/ar");
    let again = page("/ar", Some("i18n_pref_locale=ar"))
        .await
        .expect("request");
    assert!(set_cookie(&again).is_empty());
    // An English page changes what is remembered; a missing page remembers nothing.
    let english = page("/en", Some("i18n_pref_locale=ar"))
        .await
        .expect("request");
    assert_eq!(
        set_cookie(&english),
        ["i18n_pref_locale=en; Path=/; Max-Age=31536000; SameSite=Lax"]
    );
    let missing = page("/ar/no-such-page", None).await.expect("request");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(set_cookie(&missing).is_empty());
}

#[tokio::test]
async fn the_seed_systems_public_urls_keep_working() {
    let app = spawn_app(&[]).await;
    let arabic = app.get("/clinic-dashboard/ar").await;
    assert_eq!(arabic.headers()[LOCATION], "/ar/clinic-dashboard");
    let report = app.get("/marketing-report").await;
    assert_eq!(report.headers()[LOCATION], "/en/marketing-report");
}

#[tokio::test]
async fn arabic_pages_arrive_right_to_left_from_the_server() {
    let app = spawn_app(&[]).await;
    let response = app.get("/ar/clinic-dashboard").await;
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("body");
    assert!(html.contains(r#"lang="ar""#), "{html}");
    assert!(html.contains(r#"dir="rtl""#), "{html}");
    assert!(html.contains("لوحة مؤشرات العيادة"), "{html}");
    assert!(
        html.contains(r#"href="/en/clinic-dashboard""#),
        "switch keeps the page: {html}"
    );

    let html = app.get("/en").await.text().await.expect("body");
    assert!(html.contains(r#"lang="en""#), "{html}");
    assert!(html.contains(r#"dir="ltr""#), "{html}");
    assert!(html.contains("Welcome to Nabd"), "{html}");
}

#[tokio::test]
async fn an_unknown_page_is_a_translated_404() {
    let app = spawn_app(&[]).await;
    let response = app.get("/ar/no-such-page").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let html = response.text().await.expect("body");
    assert!(html.contains("الصفحة غير موجودة"), "{html}");
}

#[tokio::test]
async fn the_app_database_is_created_with_its_migrations() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/nested/app.db", dir.path().display());
    let pool = nabd::platform::store::open(&url)
        .await
        .expect("opens and migrates");
    let tables: Vec<(String,)> = nabd::db!(
        &pool,
        fetch_all,
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    )
    .expect("query");
    assert!(tables.iter().any(|(name,)| name == "do_not_contact"));
}

/// Starts a TDS server (SQL Server's wire protocol) on loopback with one doctor and the
/// contract's money tables, and returns its ADO.NET connection string.
async fn tds_clinic() -> String {
    let url = common::start_tds_server().await;
    let config = tiberius::Config::from_ado_string(&url).expect("ado string");
    common::run_statements(
        &config,
        &[
            "CREATE TABLE doctor (id INT PRIMARY KEY, name_a NVARCHAR(100), name_e NVARCHAR(100))"
                .to_owned(),
            "INSERT INTO doctor (id, name_a, name_e) VALUES (7, N'د. هند', N'Dr. Hind')".to_owned(),
        ],
    )
    .await;
    url
}

// Worker threads: the loopback TDS server must never share the only thread with its client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sql_server_clinic_is_read_over_its_wire_protocol() {
    let url = tds_clinic().await;
    let app = spawn_app(&["--clinic-url", &url]).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn an_unreachable_sql_server_is_reported_not_ready() {
    let url = "server=tcp:127.0.0.1,1;database=pms;user id=ro;password=hunter2;encrypt=true";
    let app = spawn_app(&["--clinic-url", url, "--clinic-timeout-secs", "2"]).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let text = response.text().await.expect("body");
    assert!(text.contains("unreachable"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the password never leaks: {text}"
    );
    let api = app.get("/api/v1/dashboard").await;
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
}

/// Decodes a body by its `Content-Encoding` (reqwest here decodes nothing by itself).
async fn decoded(response: reqwest::Response) -> (Option<String>, String) {
    use std::io::Read;
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|value| value.to_str().expect("ascii").to_owned());
    let bytes = response.bytes().await.expect("body");
    let mut text = String::new();
    match encoding.as_deref() {
        Some("br") => {
            let mut raw = Vec::new();
            brotli::BrotliDecompress(&mut &bytes[..], &mut raw).expect("brotli");
            text = String::from_utf8(raw).expect("utf-8");
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_string(&mut text)
                .expect("gzip");
        }
        None => text = String::from_utf8(bytes.to_vec()).expect("utf-8"),
        Some(other) => panic!("unexpected encoding {other}"),
    }
    (encoding, text)
}

#[tokio::test]
async fn static_files_are_compressed_once_revalidated_and_never_stale() {
    let site = tempfile::tempdir().expect("site dir");
    std::fs::create_dir_all(site.path().join("pkg")).expect("pkg");
    let script = site.path().join("pkg/nabd.js");
    let first = "export function hydrate() { /* نبض */ }\n".repeat(400);
    std::fs::write(&script, &first).expect("write");
    let root = site.path().display().to_string();
    let app = spawn_app(&["--site-root", &root]).await;
    let get = |encoding: &'static str, tag: Option<String>| {
        let mut request = app
            .client
            .get(app.url("/pkg/nabd.js"))
            .header("accept-encoding", encoding);
        if let Some(tag) = tag {
            request = request.header("if-none-match", tag);
        }
        request.send()
    };
    // Compressed in the background after the start: the ETag says it is.
    let mut tries = 0;
    let response = loop {
        let response = get("gzip, deflate, br", None).await.expect("request");
        if response.headers().contains_key("etag") {
            break response;
        }
        tries += 1;
        assert!(tries < 100, "never precompressed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let tag = response.headers()["etag"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let (encoding, text) = decoded(response).await;
    assert_eq!(encoding.as_deref(), Some("br"));
    assert_eq!(text, first);
    // A revisit with the tag costs nothing.
    let again = get("br", Some(tag.clone())).await.expect("request");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    // gzip for clients without Brotli; the file itself for those with neither.
    let (encoding, text) = decoded(get("gzip", None).await.expect("request")).await;
    assert_eq!(
        (encoding.as_deref(), text.as_str()),
        (Some("gzip"), first.as_str())
    );
    let (encoding, text) = decoded(get("identity", None).await.expect("request")).await;
    assert_eq!((encoding, text.as_str()), (None, first.as_str()));
    // Rebuilt on disk (cargo leptos watch): the new file is served, never the old bytes.
    let second = "export function hydrate() { /* rebuilt */ }\n".repeat(300);
    std::fs::write(&script, &second).expect("rewrite");
    let response = get("br", Some(tag)).await.expect("request");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(decoded(response).await.1, second);
}

#[tokio::test]
async fn a_doctor_name_with_bidi_controls_cannot_reorder_the_public_board() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("clinic.db");
    // U+202E (right-to-left override) and an isolate around the English name: the PMS's text,
    // as an attacker with a desk account could type it.
    let pool = common::sqlite_clinic(
        &path,
        "INSERT INTO doctor VALUES (1, 'د. ' || char(8238) || 'علي', 'Dr. ' || char(8294) || 'Ali' || char(8297));
         INSERT INTO invoice_h VALUES (1, '2026-01-05 09:00:00', 100, 0, 1, 1);",
    )
    .await;
    pool.close().await;
    let clinic = format!("sqlite://{}", path.display());
    let app = spawn_app(&["--clinic-url", &clinic, "--now", "2026-01-05T12:00"]).await;
    for lang in ["en", "ar"] {
        let html = app
            .get(&format!("/{lang}/clinic-dashboard"))
            .await
            .text()
            .await
            .expect("page");
        assert!(
            !html.contains('\u{202E}') && !html.contains('\u{2066}') && !html.contains('\u{2069}'),
            "{lang}: no bidi control reaches the board"
        );
        assert!(
            html.contains("د. علي") || html.contains("Dr. Ali"),
            "{lang}: the doctor is still named"
        );
    }
}

#[tokio::test]
async fn clients_that_never_finish_their_headers_are_disconnected_and_others_still_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(&["--jobs-enabled", "false", "--header-read-timeout-secs", "1"]).await;
    let addr = app.addr;
    // Twenty slowloris connections: a request line and one header, then nothing.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: nabd\r\n")
            .await
            .expect("write");
        slow.push(stream);
    }
    let started = std::time::Instant::now();
    // Meanwhile a real client is served.
    let served = reqwest::get(format!("http://{addr}/healthz"))
        .await
        .expect("served");
    assert_eq!(served.status(), StatusCode::OK);
    // Each slow one is cut off after the timeout (an answer 408 or a closed socket).
    for mut stream in slow {
        let mut buffer = Vec::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            stream.read_to_end(&mut buffer),
        )
        .await;
        assert!(read.is_ok(), "a slow client was still held after 5 s");
    }
    let waited = started.elapsed();
    assert!(waited < std::time::Duration::from_secs(4), "{waited:?}");
    assert!(
        waited >= std::time::Duration::from_millis(900),
        "{waited:?}"
    );
}

/// The base64 SHA-256 of each inline script of `page`, as a CSP names it.
fn inline_hashes(page: &str) -> Vec<String> {
    use base64::Engine;
    use sha2::Digest;
    page.split("<script")
        .skip(1)
        .filter_map(|rest| {
            let (attributes, body) = rest.split_once('>')?;
            if attributes.contains("src=") {
                return None;
            }
            let (code, _) = body.split_once("</script")?;
            Some(base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(code)))
        })
        .collect()
}

#[tokio::test]
async fn pages_carry_a_script_policy_by_hash_and_may_not_be_framed() {
    let app = spawn_app(&["--jobs-enabled", "false"]).await;
    for path in [
        "/en/clinic-dashboard",
        "/ar/admin/sign-in",
        "/en/marketing-report",
    ] {
        let page = app.get(path).await;
        let headers = page.headers().clone();
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let policy = header("content-security-policy");
        let scripts = policy
            .split(';')
            .find(|directive| directive.trim().starts_with("script-src"))
            .unwrap_or_default()
            .to_owned();
        assert!(
            scripts.contains("'self'") && scripts.contains("'wasm-unsafe-eval'"),
            "{path}: {policy}"
        );
        assert!(!scripts.contains("unsafe-inline"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        let body = page.text().await.expect("page");
        let hashes = inline_hashes(&body);
        assert!(!hashes.is_empty(), "{path} has inline scripts to allow");
        for hash in hashes {
            assert!(
                scripts.contains(&format!("'sha256-{hash}'")),
                "{path}: {hash} not allowed"
            );
        }
    }
    // Admin pages and admin JSON are never kept by a browser or proxy.
    let admin = app.get("/en/admin/inbox").await;
    assert_eq!(
        admin
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    let json = app.get("/api/v1/admin/conversations").await;
    assert_eq!(json.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        json.headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("no-store")
    );
    // Static files are not sniffed either.
    let file = app.get("/assets/favicon.svg").await;
    assert_eq!(
        file.headers()
            .get("x-content-type-options")
            .and_then(|v| v.to_str().ok()),
        Some("nosniff")
    );
}

#[tokio::test]
async fn the_board_may_be_framed_by_the_clinics_signage_page_and_nothing_else_may() {
    let app = spawn_app(&[
        "--jobs-enabled",
        "false",
        "--dashboard-frame-ancestors",
        "https://signage.clinic.example",
    ])
    .await;
    let board = app.get("/en/clinic-dashboard?tv=1").await;
    let policy = board
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        policy.contains("frame-ancestors https://signage.clinic.example"),
        "{policy}"
    );
    assert!(board.headers().get("x-frame-options").is_none());
    let admin = app.get("/en/admin/sign-in").await;
    assert_eq!(
        admin
            .headers()
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
}
