//! The admin surface over real HTTP, one module per feature: who may reach what, sessions, the
//! do-not-contact list, the campaign report, the message log and broadcasts. This file holds
//! what they share: Nabd on a fresh database with an admin and a viewer, and a signed-in
//! browser.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod broadcasts;
mod csrf;
mod exclusions;
mod messages;
mod report;
mod security;
mod sessions;

use reqwest::StatusCode;
use serde_json::{Value, json};

struct App {
    base: String,
    client: reqwest::Client,
    db_url: String,
    _database: common::postgres::AppDatabase,
    _dir: tempfile::TempDir,
}

async fn start_at(dir: tempfile::TempDir) -> App {
    // No sign-in slowdown here: the tests that are about it set their own.
    start_with(
        dir,
        &["--jobs-enabled", "false", "--admin-slowdown-max-secs", "0"],
    )
    .await
}

async fn start_with(dir: tempfile::TempDir, extra: &[&str]) -> App {
    if std::env::var_os("NABD_TEST_TRACE").is_some() {
        static TRACE: std::sync::Once = std::sync::Once::new();
        TRACE.call_once(|| nabd::init_tracing(nabd::config::LogFormat::Text));
    }
    let database = common::postgres::app_database(dir.path()).await;
    let db_url = database.url.clone();
    let mut args = vec!["nabd", "--addr", "127.0.0.1:0", "--database-url", &db_url];
    args.extend_from_slice(extra);
    let addr = common::spawn_nabd(&args).await;
    App {
        base: format!("http://{addr}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A request that never gets its answer fails the test instead of holding the run.
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("client"),
        db_url,
        _database: database,
        _dir: dir,
    }
}

async fn start() -> App {
    with_users(start_at(tempfile::tempdir().expect("temp dir")).await).await
}

async fn with_users(app: App) -> App {
    let db = common::postgres::connect(&app.db_url).await;
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
        request
            .send()
            .await
            .unwrap_or_else(|error| panic!("GET {path} got no answer: {error}"))
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

/// A server function called as a browser's form post would, with or without a session.
async fn call_server_fn(
    app: &App,
    endpoint: &str,
    form: &[(&str, &str)],
    session: Option<&Session>,
) -> reqwest::Response {
    // A signed-in page's forms carry the session's token in a hidden field.
    let mut fields: Vec<(&str, &str)> = form.to_vec();
    if let Some(session) = session {
        fields.push(("csrf", &session.csrf));
    }
    let mut request = app
        .client
        .post(app.url(endpoint))
        .header("origin", &app.base)
        .form(&fields);
    if let Some(session) = session {
        request = request.header("cookie", &session.cookie);
    }
    request.send().await.expect("answers")
}
