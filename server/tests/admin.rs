//! The admin surface over real HTTP: every admin endpoint refuses anonymous callers, sign-in
//! and its limit, sessions (cookie flags, surviving a restart, sign-out), CSRF and cross-site
//! refusals, roles, the do-not-contact list (normalised, audited) and the report endpoint.

mod common;

use clap::Parser;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::SqlitePool;

struct App {
    base: String,
    client: reqwest::Client,
    db_url: String,
    _dir: tempfile::TempDir,
}

async fn start_at(dir: tempfile::TempDir) -> App {
    start_with(dir, &["--jobs-enabled", "false"]).await
}

async fn start_with(dir: tempfile::TempDir, extra: &[&str]) -> App {
    let db_url = format!("sqlite://{}/nabd.db", dir.path().display());
    let mut args = vec!["nabd", "--addr", "127.0.0.1:0", "--database-url", &db_url];
    args.extend_from_slice(extra);
    let cli = nabd::cli::Cli::try_parse_from(args).expect("arguments");
    let app = nabd::web::Application::build(cli.config)
        .await
        .expect("builds");
    let addr = app.local_addr().expect("bound");
    tokio::spawn(app.run_until(std::future::pending()));
    App {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db_url,
        _dir: dir,
    }
}

async fn start() -> App {
    with_users(start_at(tempfile::tempdir().expect("temp dir")).await).await
}

async fn with_users(app: App) -> App {
    let db = SqlitePool::connect(&app.db_url).await.expect("db");
    let now = chrono::Utc::now();
    nabd::admin::create_user(
        &db,
        "manager",
        "correct horse battery",
        nabd::admin::Role::Admin,
        now,
    )
    .await
    .expect("admin");
    nabd::admin::create_user(
        &db,
        "owner",
        "staple paper clip",
        nabd::admin::Role::Viewer,
        now,
    )
    .await
    .expect("viewer");
    db.close().await;
    app
}

/// A signed-in browser: its session cookie and CSRF token.
struct Session {
    cookie: String,
    csrf: String,
}

impl App {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn sign_in(&self, username: &str, password: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/admin/sign-in"))
            .header("origin", &self.base)
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("answers")
    }

    async fn session(&self, username: &str, password: &str) -> Session {
        let response = self.sign_in(username, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        let cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("a session cookie")
            .to_owned();
        let body: Value = response.json().await.expect("json");
        Session {
            cookie,
            csrf: body["csrf"].as_str().expect("csrf").to_owned(),
        }
    }

    async fn get(&self, path: &str, session: Option<&Session>) -> reqwest::Response {
        let mut request = self.client.get(self.url(path));
        if let Some(session) = session {
            request = request.header("cookie", &session.cookie);
        }
        request.send().await.expect("answers")
    }

    /// A page's HTML.
    async fn html(&self, path: &str, session: Option<&Session>) -> String {
        self.get(path, session).await.text().await.expect("page")
    }

    async fn post(&self, path: &str, session: Option<&Session>, body: Value) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("origin", &self.base)
            .json(&body);
        if let Some(session) = session {
            request = request
                .header("cookie", &session.cookie)
                .header("x-csrf-token", &session.csrf);
        }
        request.send().await.expect("answers")
    }
}

#[tokio::test]
async fn every_admin_endpoint_refuses_an_anonymous_caller() {
    let app = start().await;
    for path in [
        "/api/v1/admin/me",
        "/api/v1/marketing/report",
        "/api/v1/admin/exclusions",
        "/api/v1/admin/messages",
    ] {
        let response = app.get(path, None).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "GET {path}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], "unauthenticated", "GET {path}");
    }
    for path in [
        "/api/v1/admin/sign-out",
        "/api/v1/admin/exclusions",
        "/api/v1/admin/exclusions/1/restore",
        "/api/v1/admin/messages/1/resolve",
    ] {
        let response = app
            .post(
                path,
                None,
                json!({ "mobile": "0501234567", "action": "sent" }),
            )
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "POST {path}");
    }
}

#[tokio::test]
async fn sign_in_sets_a_protected_session_cookie_and_a_wrong_password_is_refused() {
    let app = start().await;
    let wrong = app.sign_in("manager", "wrong password!").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = wrong.json().await.expect("json");
    assert_eq!(body["error"], "invalid_credentials");
    let unknown = app.sign_in("nobody", "wrong password!").await;
    let unknown: Value = unknown.json().await.expect("json");
    assert_eq!(unknown, body, "no hint whether the username exists");

    let response = app.sign_in("manager", "correct horse battery").await;
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("cookie")
        .to_owned();
    assert!(cookie.starts_with("nabd_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );

    let session = app.session("manager", "correct horse battery").await;
    let me: Value = app
        .get("/api/v1/admin/me", Some(&session))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["username"], "manager");
    assert_eq!(me["role"], "admin");
}

#[tokio::test]
async fn the_sign_in_limit_stops_guessing_with_a_clear_message() {
    let app = start().await;
    for _ in 0..5 {
        assert_eq!(
            app.sign_in("manager", "guess guess guess").await.status(),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let blocked = app.sign_in("manager", "correct horse battery").await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let body: Value = blocked.json().await.expect("json");
    assert_eq!(body["error"], "too_many_attempts");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("15 minutes")
    );
}

#[tokio::test]
async fn a_change_without_the_csrf_token_or_from_another_site_is_refused() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    let no_token = app
        .client
        .post(app.url("/api/v1/admin/exclusions"))
        .header("origin", &app.base)
        .header("cookie", &session.cookie)
        .json(&json!({ "mobile": "0501234567" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        no_token.json::<Value>().await.expect("json")["error"],
        "csrf"
    );

    let cross_site = app
        .client
        .post(app.url("/api/v1/admin/exclusions"))
        .header("origin", "https://evil.example")
        .header("cookie", &session.cookie)
        .header("x-csrf-token", &session.csrf)
        .json(&json!({ "mobile": "0501234567" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        cross_site.json::<Value>().await.expect("json")["error"],
        "cross_site"
    );

    let cross_site_sign_in = app
        .client
        .post(app.url("/api/v1/admin/sign-in"))
        .header("origin", "https://evil.example")
        .json(&json!({ "username": "manager", "password": "correct horse battery" }))
        .send()
        .await
        .expect("answers");
    assert_eq!(cross_site_sign_in.status(), StatusCode::FORBIDDEN);

    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    let excluded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM do_not_contact")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(excluded, 0, "nothing was changed");
}

#[tokio::test]
async fn an_admin_excludes_and_restores_a_number_and_both_are_audited() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    let bad = app
        .post(
            "/api/v1/admin/exclusions",
            Some(&session),
            json!({ "mobile": "05-12" }),
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.json::<Value>().await.expect("json")["error"], "invalid");

    let added = app
        .post(
            "/api/v1/admin/exclusions",
            Some(&session),
            json!({ "mobile": "050 123 4567", "reason": "asked at the desk" }),
        )
        .await;
    assert_eq!(added.status(), StatusCode::CREATED);
    assert_eq!(
        added.json::<Value>().await.expect("json")["mobile"],
        "+966501234567"
    );
    let again = app
        .post(
            "/api/v1/admin/exclusions",
            Some(&session),
            json!({ "mobile": "966501234567" }),
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "already excluded: nothing new"
    );

    let list: Value = app
        .get("/api/v1/admin/exclusions?search=1234", Some(&session))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["reason"], "asked at the desk");
    let id = list["items"][0]["id"].as_i64().expect("id");

    let restored = app
        .post(
            &format!("/api/v1/admin/exclusions/{id}/restore"),
            Some(&session),
            json!({}),
        )
        .await;
    assert_eq!(restored.status(), StatusCode::NO_CONTENT);
    let list: Value = app
        .get("/api/v1/admin/exclusions", Some(&session))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["total"], 0);

    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    let audit: Vec<(String, String, String)> =
        sqlx::query_as("SELECT username, action, detail FROM audit_log ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("audit");
    let actions: Vec<_> = audit
        .iter()
        .map(|(u, a, d)| (u.as_str(), a.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("manager", "signed_in", ""),
            ("manager", "number_excluded", "+966501234567"),
            ("manager", "number_restored", "+966501234567"),
        ]
    );
}

#[tokio::test]
async fn a_viewer_reads_the_report_but_cannot_change_or_list_numbers() {
    let app = start().await;
    let viewer = app.session("owner", "staple paper clip").await;
    let report = app.get("/api/v1/marketing/report", Some(&viewer)).await;
    assert_eq!(report.status(), StatusCode::OK);
    let report: Value = report.json().await.expect("json");
    assert_eq!(report["messaged"]["patients"], 0);
    assert_eq!(report["lift"]["verdict"], "too_small");
    assert_eq!(
        app.get("/api/v1/admin/exclusions", Some(&viewer))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(
            "/api/v1/admin/exclusions",
            Some(&viewer),
            json!({ "mobile": "0501234567" })
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_session_survives_a_restart_and_ends_at_sign_out() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    // A second server on the same database: the session is in the database, not in memory.
    let dir = tempfile::tempdir().expect("dir");
    let cli = nabd::cli::Cli::try_parse_from([
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &app.db_url,
        "--jobs-enabled",
        "false",
    ])
    .expect("arguments");
    let second = nabd::web::Application::build(cli.config)
        .await
        .expect("builds");
    let addr = second.local_addr().expect("bound");
    tokio::spawn(second.run_until(std::future::pending()));
    let restarted = App {
        base: format!("http://{addr}"),
        client: app.client.clone(),
        db_url: app.db_url.clone(),
        _dir: dir,
    };
    assert_eq!(
        restarted
            .get("/api/v1/admin/me", Some(&session))
            .await
            .status(),
        StatusCode::OK
    );
    let out = restarted
        .post("/api/v1/admin/sign-out", Some(&session), json!({}))
        .await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    let cleared = out
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(
        app.get("/api/v1/admin/me", Some(&session)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn users_are_created_and_their_passwords_set_from_the_command_line() {
    use std::io::Write;
    let app = start().await;
    let run = |args: &[&str], input: &str| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_nabd"))
            .args(args)
            .env("NABD_DATABASE_URL", &app.db_url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("nabd runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("password written");
        child.wait_with_output().expect("finishes")
    };
    let created = run(
        &["admin", "create-user", "reception", "--role", "viewer"],
        "front desk 2026\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert!(String::from_utf8_lossy(&created.stdout).contains("user reception created"));
    let me: Value = app
        .get(
            "/api/v1/admin/me",
            Some(&app.session("reception", "front desk 2026").await),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me["role"], "viewer");

    let weak = run(&["admin", "create-user", "intern"], "short\n");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 10 characters"));
    let twice = run(&["admin", "create-user", "reception"], "another long one\n");
    assert!(String::from_utf8_lossy(&twice.stderr).contains("already exists"));

    let reset = run(
        &["admin", "set-password", "reception"],
        "a brand new secret\n",
    );
    assert!(
        reset.status.success(),
        "{}",
        String::from_utf8_lossy(&reset.stderr)
    );
    assert_eq!(
        app.sign_in("reception", "front desk 2026").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.sign_in("reception", "a brand new secret")
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_report_server_function_answers_a_session_and_refuses_anyone_else() {
    let app = start().await;
    let form = [("query[page]", "1"), ("query[per_page]", "50")];
    let anonymous = app
        .client
        .post(app.url("/api/marketing-report"))
        .header("origin", &app.base)
        .form(&form)
        .send()
        .await
        .expect("answers");
    let body = anonymous.text().await.expect("body");
    assert!(body.contains("Unauthenticated"), "{body}");

    let session = app.session("owner", "staple paper clip").await;
    let report: Value = app
        .client
        .post(app.url("/api/marketing-report"))
        .header("origin", &app.base)
        .header("cookie", &session.cookie)
        .form(&form)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(report["currency"], "SAR");
    assert_eq!(report["messages"]["sent"], 0);

    let bad_date = app
        .client
        .post(app.url("/api/marketing-report"))
        .header("origin", &app.base)
        .header("cookie", &session.cookie)
        .form(&[
            ("query[page]", "1"),
            ("query[per_page]", "50"),
            ("query[from]", "5 Jan"),
        ])
        .send()
        .await
        .expect("answers")
        .text()
        .await
        .expect("body");
    assert!(bad_date.contains("BadDate"), "{bad_date}");

    let cross_site = app
        .client
        .post(app.url("/api/marketing-report"))
        .header("origin", "https://evil.example")
        .header("cookie", &session.cookie)
        .form(&form)
        .send()
        .await
        .expect("answers");
    assert_eq!(cross_site.status(), StatusCode::FORBIDDEN);
    let dashboard_from_elsewhere = app
        .client
        .post(app.url("/api/dashboard"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("answers");
    assert_eq!(dashboard_from_elsewhere.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_patient_name_with_markup_is_shown_as_text_on_the_report_page() {
    let app = start().await;
    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    // A returned patient whose name in the PMS carries a script tag.
    sqlx::raw_sql(
        "INSERT INTO campaign_batches (id, batch_day, selected_at, holdout_share, seed, considered)
         VALUES (1, '2026-01-05', '2026-01-05T02:00:00.000Z', 0.1, 7, 1);
         INSERT INTO outbox (id, kind, recipient, body, language, idempotency_key, not_before,
                             clinic_day, state, sent_at, created_at, updated_at)
         VALUES (1, 'campaign', '+966501234567', 'hi', 'en', 'campaign:1',
                 '2026-01-05T07:00:00.000Z', '2026-01-05', 'sent', '2026-01-05T07:00:01.000Z',
                 '2026-01-05T07:00:00.000Z', '2026-01-05T07:00:01.000Z');
         INSERT INTO campaign_patients (id, batch_id, patient_id, name_ar, name_en, mobile,
                 last_visit, lifetime_halalas, holdout, state, message_id, converted_at,
                 conversion_date, conversion_doctor_name, revenue_since_halalas)
         VALUES (1, 1, 42, '<script>alert(1)</script>', '<img src=x onerror=alert(2)>',
                 '+966501234567', '2024-06-01', 1000, 0, 'queued', 1, '2026-01-06 10:00:00',
                 '2026-01-08', '<b>Dr</b>', 5000);",
    )
    .execute(&pool)
    .await
    .expect("fixture");
    let session = app.session("owner", "staple paper clip").await;
    for lang in ["en", "ar"] {
        let html = app
            .html(&format!("/{lang}/marketing-report"), Some(&session))
            .await;
        assert!(
            !html.contains("<script>alert(1)"),
            "{lang}: the script tag is escaped"
        );
        assert!(
            !html.contains("<img src=x"),
            "{lang}: the img tag is escaped"
        );
        assert!(!html.contains("<b>Dr</b>"), "{lang}");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
                || html.contains("&lt;img src=x onerror=alert(2)&gt;"),
            "{lang}: the name is shown as text"
        );
        assert!(
            html.contains("+966••••••567"),
            "{lang}: the mobile is masked"
        );
        assert!(
            !html.contains("+966501234567"),
            "{lang}: the full mobile never reaches the page"
        );
    }
}

#[tokio::test]
async fn the_returned_patients_download_as_csv_for_signed_in_users_only() {
    let app = start().await;
    assert_eq!(
        app.get("/api/v1/marketing/returned.csv", None)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    sqlx::raw_sql(
        "INSERT INTO campaign_batches (id, batch_day, selected_at, holdout_share, seed, considered)
         VALUES (1, '2026-01-05', '2026-01-05T02:00:00.000Z', 0.1, 7, 1);
         INSERT INTO outbox (id, kind, recipient, body, language, idempotency_key, not_before,
                             clinic_day, state, sent_at, created_at, updated_at)
         VALUES (1, 'campaign', '+966501234567', 'hi', 'en', 'campaign:1',
                 '2026-01-05T07:00:00.000Z', '2026-01-05', 'sent', '2026-01-05T07:00:01.000Z',
                 '2026-01-05T07:00:00.000Z', '2026-01-05T07:00:01.000Z');
         INSERT INTO campaign_patients (id, batch_id, patient_id, name_ar, name_en, mobile,
                 last_visit, lifetime_halalas, holdout, state, message_id, converted_at,
                 conversion_date, conversion_doctor_name, revenue_since_halalas)
         VALUES (1, 1, 42, 'سارة, الأولى', '=cmd', '+966501234567', '2024-06-01', 1000, 0,
                 'queued', 1, '2026-01-06 10:00:00', '2026-01-08', 'د. علي', 5000);",
    )
    .execute(&pool)
    .await
    .expect("fixture");
    let session = app.session("owner", "staple paper clip").await;
    let response = app
        .get("/api/v1/marketing/returned.csv", Some(&session))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"]
            .to_str()
            .unwrap_or_default(),
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.expect("body");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "name_ar,name_en,mobile,contacted_at,returned_at,appointment_date,doctor,revenue"
    );
    assert_eq!(
        lines[1],
        "\"سارة, الأولى\",'=cmd,'+966••••••567,2026-01-05T07:00:01.000Z,2026-01-06 10:00:00,2026-01-08,د. علي,50.00"
    );
    assert_eq!(lines.len(), 2);
}

#[tokio::test]
async fn the_message_log_filters_and_an_admin_resolves_an_uncertain_message() {
    let app = start().await;
    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    sqlx::raw_sql(
        "INSERT INTO outbox (id, kind, recipient, body, language, idempotency_key, not_before,
                             clinic_day, state, created_at, updated_at)
         VALUES (1, 'reminder', '+966501234567', 'r', 'ar', 'reminder:1', '2026-01-05T07:00:00.000Z',
                 '2026-01-05', 'uncertain', '2026-01-05T07:00:00.000Z', '2026-01-05T07:00:00.000Z'),
                (2, 'feedback', '+966551234567', 'f', 'ar', 'feedback:2', '2026-01-05T07:00:00.000Z',
                 '2026-01-05', 'sent', '2026-01-05T07:00:00.000Z', '2026-01-05T07:00:00.000Z');",
    )
    .execute(&pool)
    .await
    .expect("fixture");
    let session = app.session("manager", "correct horse battery").await;
    let anonymous = call_server_fn(&app, "/api/admin/messages", &[], None).await;
    let anonymous = anonymous.text().await.expect("body");
    assert!(anonymous.contains("Unauthenticated"), "{anonymous}");

    let all: Value = call_server_fn(&app, "/api/admin/messages", &[], Some(&session))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(all.as_array().map(Vec::len), Some(2));
    let uncertain: Value = call_server_fn(
        &app,
        "/api/admin/messages",
        &[("state", "uncertain"), ("to", "0501234567")],
        Some(&session),
    )
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(uncertain[0]["id"], 1);
    assert_eq!(uncertain.as_array().map(Vec::len), Some(1));
    let bad: String = call_server_fn(
        &app,
        "/api/admin/messages",
        &[("kind", "spam")],
        Some(&session),
    )
    .await
    .text()
    .await
    .expect("body");
    assert!(bad.contains("BadFilter"), "{bad}");

    call_server_fn(
        &app,
        "/api/admin/messages/resolve",
        &[("id", "1"), ("action", "sent")],
        Some(&session),
    )
    .await;
    let state: String = sqlx::query_scalar("SELECT state FROM outbox WHERE id = 1")
        .fetch_one(&pool)
        .await
        .expect("state");
    assert_eq!(state, "sent");
    let again = call_server_fn(
        &app,
        "/api/admin/messages/resolve",
        &[("id", "1"), ("action", "requeue")],
        Some(&session),
    )
    .await
    .text()
    .await
    .expect("body");
    assert!(again.contains("NotUncertain"), "{again}");
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'uncertain_marked_sent'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(audited, 1);
}

/// A server function called as a browser's form post would, with or without a session.
async fn call_server_fn(
    app: &App,
    endpoint: &str,
    form: &[(&str, &str)],
    session: Option<&Session>,
) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url(endpoint))
        .header("origin", &app.base)
        .form(form);
    if let Some(session) = session {
        request = request.header("cookie", &session.cookie);
    }
    request.send().await.expect("answers")
}

#[tokio::test]
async fn every_admin_page_and_server_function_refuses_an_anonymous_visitor() {
    let app = start().await;
    for lang in ["en", "ar"] {
        let (notice, link) = match lang {
            "en" => ("Sign in to see this page.", "/en/admin/sign-in"),
            _ => ("سجّل الدخول لعرض هذه الصفحة.", "/ar/admin/sign-in"),
        };
        for page in [
            "marketing-report",
            "admin/exclusions",
            "admin/messages",
            "admin/broadcasts",
            "admin/broadcasts/1",
        ] {
            let response = app.get(&format!("/{lang}/{page}"), None).await;
            assert_eq!(response.status(), StatusCode::OK, "{lang}/{page}");
            let html = response.text().await.expect("page");
            assert!(html.contains(notice), "{lang}/{page} says to sign in");
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "{lang}/{page} links to the sign-in page"
            );
            assert!(!html.contains("<tbody>"), "{lang}/{page} shows no data");
        }
    }
    let calls: [(&str, &[(&str, &str)]); 12] = [
        (
            "/api/marketing-report",
            &[("query[page]", "1"), ("query[per_page]", "50")],
        ),
        ("/api/admin/exclusions", &[("page", "1")]),
        (
            "/api/admin/exclusions/add",
            &[("mobile", "0501234567"), ("reason", "")],
        ),
        ("/api/admin/exclusions/restore", &[("id", "1")]),
        (
            "/api/admin/exclusions/import",
            &[("numbers", "0501234567"), ("csv", ""), ("reason", "")],
        ),
        ("/api/admin/messages", &[]),
        (
            "/api/admin/messages/resolve",
            &[("id", "1"), ("action", "sent")],
        ),
        ("/api/admin/broadcasts", &[]),
        (
            "/api/admin/broadcasts/review",
            &[
                ("lang", "en"),
                ("numbers", "0501234567"),
                ("csv", ""),
                ("message", "hi"),
            ],
        ),
        ("/api/admin/broadcasts/get", &[("id", "1")]),
        ("/api/admin/broadcasts/send", &[("id", "1")]),
        ("/api/admin/broadcasts/cancel", &[("id", "1")]),
    ];
    for (endpoint, form) in calls {
        let response = call_server_fn(&app, endpoint, form, None).await;
        let body = response.text().await.expect("body");
        assert!(body.contains("Unauthenticated"), "{endpoint}: {body}");
    }
    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    for count in [
        "SELECT COUNT(*) FROM broadcasts",
        "SELECT COUNT(*) FROM outbox",
        "SELECT COUNT(*) FROM do_not_contact",
    ] {
        let rows: i64 = sqlx::query_scalar(count)
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(rows, 0, "nothing was written: {count}");
    }
}

#[tokio::test]
async fn a_broadcast_is_reviewed_sent_staggered_and_cancelled_with_an_audit_trail() {
    let app = start().await;
    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    let admin = app.session("manager", "correct horse battery").await;
    let viewer = app.session("owner", "staple paper clip").await;
    let excluded = app
        .post(
            "/api/v1/admin/exclusions",
            Some(&admin),
            json!({ "mobile": "0559876543" }),
        )
        .await;
    assert_eq!(excluded.status(), StatusCode::CREATED);

    let draft = json!({
        "numbers": "0501234567\n+966 50 123 4567, 12345\n0559876543\n0112345678",
        "csv": "name,mobile\nSara,0531112222\nAli,\n",
        "message": "عرض خاص على تنظيف الأسنان هذا الأسبوع",
    });
    let refused = app
        .post("/api/v1/admin/broadcasts", Some(&viewer), draft.clone())
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let reviewed = app
        .post("/api/v1/admin/broadcasts", Some(&admin), draft)
        .await;
    assert_eq!(reviewed.status(), StatusCode::CREATED);
    let reviewed: Value = reviewed.json().await.expect("json");
    let id = reviewed["id"].as_i64().expect("id");
    assert_eq!(reviewed["state"], "draft");
    assert_eq!(reviewed["language"], "ar");
    assert_eq!(
        reviewed["counts"],
        json!({ "total": 6, "valid": 2, "invalid": 2, "duplicates": 1, "excluded": 1 })
    );
    let invalid: Vec<(&str, &str)> = reviewed["invalid"]
        .as_array()
        .expect("invalid")
        .iter()
        .map(|r| {
            (
                r["input"].as_str().unwrap_or_default(),
                r["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(invalid[1], ("0112345678", "not_mobile"));
    assert_eq!(invalid[0].0, "12345");
    assert_eq!(reviewed["duplicates"][0]["line"], 2);
    assert_eq!(reviewed["duplicates"][0]["reason"], "1");
    assert_eq!(reviewed["excluded"][0]["mobile"], "+966559876543");
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(queued, 0, "a review sends nothing");

    // The review page shows it in both languages.
    let html = app
        .html(&format!("/en/admin/broadcasts/{id}"), Some(&admin))
        .await;
    assert!(
        html.contains("Send to every valid number (2)"),
        "the confirm button"
    );
    assert!(html.contains("A landline, not a mobile"), "the reason");
    assert!(html.contains("Same number as line 1"), "the duplicate");
    let html = app
        .html(&format!("/ar/admin/broadcasts/{id}"), Some(&admin))
        .await;
    assert!(
        html.contains("أرسل إلى كل الأرقام الصالحة (٢)"),
        "the confirm button in Arabic"
    );
    assert!(html.contains("عرض خاص على تنظيف الأسنان"), "the message");

    let sent = app
        .post(
            &format!("/api/v1/admin/broadcasts/{id}/send"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let again = app
        .post(
            &format!("/api/v1/admin/broadcasts/{id}/send"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT, "sent only once");
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("SELECT kind, recipient, not_before, batch FROM outbox ORDER BY not_before")
            .fetch_all(&pool)
            .await
            .expect("rows");
    let recipients: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(recipients, vec!["+966501234567", "+966531112222"]);
    assert!(
        rows.iter()
            .all(|r| r.0 == "broadcast" && r.3 == format!("broadcast:{id}"))
    );
    let at = |text: &str| chrono::DateTime::parse_from_rfc3339(text).expect("an instant");
    let gap = (at(&rows[1].2) - at(&rows[0].2)).num_seconds();
    assert!(
        (20..=60).contains(&gap),
        "spread out by the default 20-60 s: {gap}"
    );

    // One goes out; the other is cancelled.
    sqlx::query("UPDATE outbox SET state = 'sent' WHERE recipient = '+966501234567'")
        .execute(&pool)
        .await
        .expect("sent");
    let progress: Value = app
        .get(&format!("/api/v1/admin/broadcasts/{id}"), Some(&admin))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(progress["state"], "sending");
    assert_eq!(progress["progress"]["sent"], 1);
    assert_eq!(progress["progress"]["queued"], 1);
    let cancelled: Value = app
        .post(
            &format!("/api/v1/admin/broadcasts/{id}/cancel"),
            Some(&admin),
            json!({}),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(cancelled["cancelled"], 1);
    let state: String =
        sqlx::query_scalar("SELECT state FROM outbox WHERE recipient = '+966531112222'")
            .fetch_one(&pool)
            .await
            .expect("state");
    assert_eq!(state, "cancelled");
    let listed: Value = app
        .get("/api/v1/admin/broadcasts", Some(&admin))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(listed[0]["state"], "cancelled");
    assert_eq!(listed[0]["progress"]["cancelled"], 1);
    let audit: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, detail FROM audit_log WHERE action LIKE 'broadcast%' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert_eq!(
        audit,
        vec![
            (
                "broadcast_sent".to_owned(),
                format!("broadcast {id}: 2 messages queued")
            ),
            (
                "broadcast_cancelled".to_owned(),
                format!("broadcast {id}: 1 messages not sent")
            ),
        ]
    );
}

#[tokio::test]
async fn lists_that_are_not_numbers_and_empty_messages_get_clear_errors() {
    let app = start().await;
    let admin = app.session("manager", "correct horse battery").await;
    for (body, code) in [
        (
            json!({ "numbers": "hello\nworld", "message": "hi" }),
            "no_numbers",
        ),
        (
            json!({ "csv": "name,city\nSara,Riyadh\n", "message": "hi" }),
            "no_numbers",
        ),
        (
            json!({ "csv": "PK\u{3}\u{4}\u{0}\u{0}[Content_Types].xml", "message": "hi" }),
            "not_text",
        ),
        (
            json!({ "numbers": "0501234567", "message": "   " }),
            "empty_message",
        ),
        (
            json!({ "numbers": "0501234567", "message": "x".repeat(1001) }),
            "message_too_long",
        ),
    ] {
        let response = app
            .post("/api/v1/admin/broadcasts", Some(&admin), body.clone())
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}"
        );
        let error: Value = response.json().await.expect("json");
        assert_eq!(error["error"], code, "{body}");
    }
    // The page's server function answers in the page's language through the error kind.
    let response = call_server_fn(
        &app,
        "/api/admin/broadcasts/review",
        &[
            ("lang", "ar"),
            ("numbers", "hello"),
            ("csv", ""),
            ("message", "hi"),
        ],
        Some(&admin),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(response.text().await.expect("body").contains("NoNumbers"));
}

#[tokio::test]
async fn a_csv_import_excludes_every_mobile_and_reports_the_rest() {
    let app = start().await;
    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    let admin = app.session("manager", "correct horse battery").await;
    let csv = "\u{feff}الاسم,الجوال,ملاحظة\nسارة,0501234567,طلبت عدم التواصل\nعلي,0112345678,\nمنى,+966 55 987 6543,\nسارة,050 123 4567,\n";
    let imported: Value = app
        .post(
            "/api/v1/admin/exclusions/import",
            Some(&admin),
            json!({ "csv": csv, "reason": "old opt-out list" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(imported["added"], 2);
    assert_eq!(imported["already"], 1, "the repeated number");
    assert_eq!(imported["invalid_count"], 1);
    assert_eq!(imported["invalid"][0]["input"], "0112345678");
    assert_eq!(imported["invalid"][0]["line"], 3);
    let again: Value = app
        .post(
            "/api/v1/admin/exclusions/import",
            Some(&admin),
            json!({ "numbers": "0501234567, 0559876543" }),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["added"], 0);
    assert_eq!(again["already"], 2);
    let listed: Vec<(String, Option<String>, String)> = sqlx::query_as(
        "SELECT mobile, reason, source FROM do_not_contact WHERE restored_at IS NULL ORDER BY mobile",
    )
    .fetch_all(&pool)
    .await
    .expect("rows");
    assert_eq!(
        listed,
        vec![
            (
                "+966501234567".to_owned(),
                Some("old opt-out list".to_owned()),
                "import".to_owned()
            ),
            (
                "+966559876543".to_owned(),
                Some("old opt-out list".to_owned()),
                "import".to_owned()
            ),
        ]
    );
    let audited: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'number_excluded'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn a_confirmed_broadcast_goes_out_through_the_job_runtime_and_skips_a_number_excluded_since()
{
    let dir = tempfile::tempdir().expect("temp dir");
    let app = with_users(
        start_with(
            dir,
            &[
                "--broadcast-stagger-seconds",
                "0-1",
                "--now",
                "2026-01-05T12:00",
            ],
        )
        .await,
    )
    .await;
    let pool = SqlitePool::connect(&app.db_url).await.expect("db");
    let admin = app.session("manager", "correct horse battery").await;
    let reviewed: Value = app
        .post(
            "/api/v1/admin/broadcasts",
            Some(&admin),
            json!({
                "numbers": "0501111111\n0502222222\n0503333333\n0504444444",
                "message": "The clinic is open on Friday this week.",
            }),
        )
        .await
        .json()
        .await
        .expect("json");
    let id = reviewed["id"].as_i64().expect("id");
    assert_eq!(reviewed["language"], "en");
    // Excluded after the review: the outbox leaves it out at send time.
    app.post(
        "/api/v1/admin/exclusions",
        Some(&admin),
        json!({ "mobile": "0504444444" }),
    )
    .await;
    let sent = app
        .post(
            &format!("/api/v1/admin/broadcasts/{id}/send"),
            Some(&admin),
            json!({}),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let progress = loop {
        let view: Value = app
            .get(&format!("/api/v1/admin/broadcasts/{id}"), Some(&admin))
            .await
            .json()
            .await
            .expect("json");
        if view["state"] == "done" || std::time::Instant::now() > deadline {
            break view["progress"].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        progress,
        json!({ "queued": 0, "sent": 3, "failed": 0, "skipped": 1, "cancelled": 0 })
    );
    let skipped: String = sqlx::query_scalar(
        "SELECT recipient FROM outbox WHERE state = 'skipped' AND error LIKE 'do_not_contact%'",
    )
    .fetch_one(&pool)
    .await
    .expect("skipped");
    assert_eq!(skipped, "+966504444444");
}
