//! Signing in and out: the session cookie, the sign-in limit, CSRF and cross-site refusals,
//! sessions that survive a restart, and users made from the command line.

use super::*;

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

    let pool = common::postgres::connect(&app.db_url).await;
    let excluded: i64 = nabd::db!(
        &pool,
        fetch_one,
        sqlx::query_scalar("SELECT COUNT(*) FROM do_not_contact")
    )
    .expect("count");
    assert_eq!(excluded, 0, "nothing was changed");
}

#[tokio::test]
async fn a_session_survives_a_restart_and_ends_at_sign_out() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    // A second server on the same database: the session is in the database, not in memory.
    let dir = tempfile::tempdir().expect("dir");
    let addr = common::spawn_nabd(&[
        "nabd",
        "--addr",
        "127.0.0.1:0",
        "--database-url",
        &app.db_url,
        "--jobs-enabled",
        "false",
    ])
    .await;
    let restarted = App {
        base: format!("http://{addr}"),
        client: app.client.clone(),
        db_url: app.db_url.clone(),
        _database: common::postgres::AppDatabase {
            url: app.db_url.clone(),
            server: app._database.server.clone(),
        },
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
async fn a_refused_sign_in_leaves_the_browsers_live_session_alone() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    // A sign-in from the browser that holds `session`.
    let sign_in_again = |password: &'static str| {
        app.client
            .post(app.url("/api/v1/admin/sign-in"))
            .header("origin", &app.base)
            .header("cookie", &session.cookie)
            .json(&json!({ "username": "manager", "password": password }))
            .send()
    };
    let refused = sign_in_again("a wrong guess").await.expect("answers");
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.get("/api/v1/admin/me", Some(&session)).await.status(),
        StatusCode::OK,
        "the session the browser had is still alive"
    );
    let replaced = sign_in_again("correct horse battery")
        .await
        .expect("answers");
    assert_eq!(replaced.status(), StatusCode::OK);
    assert_eq!(
        app.get("/api/v1/admin/me", Some(&session)).await.status(),
        StatusCode::UNAUTHORIZED,
        "a successful sign-in replaces it"
    );
}

/// Nabd behind a reverse proxy on loopback, with users, and no slowdown unless `extra` says.
async fn behind_proxy(extra: &[&str]) -> App {
    let mut args = vec!["--jobs-enabled", "false", "--trusted-proxies", "127.0.0.1"];
    args.extend_from_slice(extra);
    if !extra.contains(&"--admin-slowdown-max-secs") {
        args.extend_from_slice(&["--admin-slowdown-max-secs", "0"]);
    }
    with_users(start_with(tempfile::tempdir().expect("temp dir"), &args).await).await
}

impl App {
    async fn sign_in_from(&self, client_ip: &str, username: &str, password: &str) -> StatusCode {
        self.client
            .post(self.url("/api/v1/admin/sign-in"))
            .header("origin", &self.base)
            .header("x-forwarded-for", client_ip)
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("answers")
            .status()
    }
}

#[tokio::test]
async fn concurrent_guesses_get_no_more_password_checks_than_the_limits() {
    let app = start().await;
    // 30 at once at one user from one address: 5 are checked, the rest refused.
    let attempts = (0..30).map(|_| app.sign_in("manager", "a wrong guess"));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|response| response.status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((checked, refused), (5, 25), "{statuses:?}");

    // 60 at once from one address at sixty names: 20 are checked.
    let app = start().await;
    let names: Vec<String> = (0..60).map(|n| format!("user{n}")).collect();
    let attempts = names.iter().map(|name| app.sign_in(name, "a wrong guess"));
    let statuses: Vec<StatusCode> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|response| response.status())
        .collect();
    let checked = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!(checked, 20, "{statuses:?}");
}

#[tokio::test]
async fn nobody_can_lock_the_real_admin_out_from_another_address() {
    let app = behind_proxy(&[]).await;
    for _ in 0..5 {
        assert_eq!(
            app.sign_in_from("203.0.113.7", "manager", "a wrong guess")
                .await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    // The guesser's address is blocked for that name...
    assert_eq!(
        app.sign_in_from("203.0.113.7", "manager", "correct horse battery")
            .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // ...the admin at the desk, through the same proxy, is not.
    assert_eq!(
        app.sign_in_from("198.51.100.2", "manager", "correct horse battery")
            .await,
        StatusCode::OK
    );
    // The audit log names each client's own address, not the proxy's.
    let db = common::postgres::connect(&app.db_url).await;
    let rows: Vec<(String, String)> = nabd::db!(
        &db,
        fetch_all,
        sqlx::query_as("SELECT action, detail FROM audit_log ORDER BY id")
    )
    .expect("audit");
    assert_eq!(rows.len(), 7);
    assert_eq!(
        rows[0],
        (
            "sign_in_refused".to_owned(),
            "\"manager\" from 203.0.113.7".to_owned()
        )
    );
    assert_eq!(
        rows[6],
        ("signed_in".to_owned(), "from 198.51.100.2".to_owned())
    );
}

#[tokio::test]
async fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
    // No trusted proxies: the header is anyone's to send, so it changes nothing.
    let app = start().await;
    for n in 0..5 {
        assert_eq!(
            app.sign_in_from(&format!("203.0.113.{n}"), "manager", "a wrong guess")
                .await,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    assert_eq!(
        app.sign_in_from("198.51.100.2", "manager", "correct horse battery")
            .await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn a_username_that_keeps_failing_is_slowed_down_not_locked() {
    let app = behind_proxy(&["--admin-slowdown-max-secs", "2"]).await;
    let timed = |ip: &'static str, password: &'static str| {
        let app = &app;
        async move {
            let start = std::time::Instant::now();
            let status = app.sign_in_from(ip, "manager", password).await;
            (status, start.elapsed())
        }
    };
    let (status, first) = timed("203.0.113.1", "a wrong guess").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, second) = timed("203.0.113.2", "a wrong guess").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, third) = timed("203.0.113.3", "correct horse battery").await;
    assert_eq!(status, StatusCode::OK, "slowed, never locked");
    assert!(second >= std::time::Duration::from_secs(1), "{second:?}");
    assert!(third >= std::time::Duration::from_secs(2), "{third:?}");
    assert!(first < std::time::Duration::from_secs(1), "{first:?}");
    // The success cleared the name's failures: the next check is not slowed.
    let (_, after) = timed("203.0.113.4", "correct horse battery").await;
    assert!(after < std::time::Duration::from_secs(1), "{after:?}");
}
