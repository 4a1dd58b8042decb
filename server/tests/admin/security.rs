//! What an outside probe found, each closed: server functions that change something refuse a
//! caller without the session's token (a form post with only the cookie, or a wrong token),
//! and every server function answers a refusal with the status the JSON API would (401, 403,
//! 409, 413, 422), never 500.

use super::*;

/// Every server function that changes something.
const CHANGING: [&str; 10] = [
    "/api/admin/sign-out",
    "/api/admin/exclusions/add",
    "/api/admin/exclusions/restore",
    "/api/admin/exclusions/import",
    "/api/admin/messages/resolve",
    "/api/admin/broadcasts/review",
    "/api/admin/broadcasts/send",
    "/api/admin/broadcasts/cancel",
    "/api/admin/inbox/reply",
    "/api/admin/inbox/handled",
];

impl App {
    /// A form post to a server function, as a browser without JavaScript sends it.
    async fn form(
        &self,
        path: &str,
        session: Option<&Session>,
        origin: bool,
        body: &str,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if origin {
            request = request.header("origin", &self.base);
        }
        if let Some(session) = session {
            request = request.header("cookie", &session.cookie);
        }
        request.send().await.expect("answers")
    }

    async fn excluded(&self, session: &Session) -> usize {
        let list: Value = self
            .get("/api/v1/admin/exclusions", Some(session))
            .await
            .json()
            .await
            .expect("json");
        list["total"].as_u64().unwrap_or_default() as usize
    }
}

#[tokio::test]
async fn a_server_function_that_changes_something_needs_the_sessions_token() {
    let app = start().await;
    let admin = app.session("manager", "correct horse battery").await;
    // Only the cookie, no Origin or Referer (the probe's form post): refused, nothing added.
    let bare = app
        .form(
            "/api/admin/exclusions/add",
            Some(&admin),
            false,
            "mobile=0501234567",
        )
        .await;
    assert_eq!(bare.status(), StatusCode::FORBIDDEN);
    // Same origin, a wrong token: refused.
    let wrong = app
        .form(
            "/api/admin/exclusions/add",
            Some(&admin),
            true,
            "mobile=0501234567&csrf=not-the-token",
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.excluded(&admin).await, 0);
    // Every changing server function refuses a call without it.
    for path in CHANGING {
        let refused = app.form(path, Some(&admin), true, "id=1").await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // The hidden field of the page's form, or the header of a fetch: accepted.
    let field = app
        .form(
            "/api/admin/exclusions/add",
            Some(&admin),
            true,
            &format!("mobile=0501234567&csrf={}", admin.csrf),
        )
        .await;
    assert_eq!(field.status(), StatusCode::OK);
    let header = app
        .client
        .post(app.url("/api/admin/exclusions/add"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &admin.cookie)
        .header("x-csrf-token", &admin.csrf)
        .body("mobile=0507654321")
        .send()
        .await
        .expect("answers");
    assert_eq!(header.status(), StatusCode::OK);
    assert_eq!(app.excluded(&admin).await, 2);
    // Reading needs no token, and the session still works after all this.
    let read = app
        .form("/api/admin/messages", Some(&admin), true, "")
        .await;
    assert_eq!(read.status(), StatusCode::OK);
    // The page's own form carries the token: the exclusions page holds it in a hidden field.
    let page = app.html("/en/admin/exclusions", Some(&admin)).await;
    assert!(
        page.contains(&format!(r#"name="csrf" value="{}""#, admin.csrf)),
        "the page's forms carry the token"
    );
}

#[tokio::test]
async fn server_functions_answer_refusals_with_the_json_apis_statuses() {
    let app = start().await;
    let admin = app.session("manager", "correct horse battery").await;
    let viewer = app.session("owner", "staple paper clip").await;
    let token = |session: &Session| format!("csrf={}", session.csrf);
    // No session: 401.
    let anonymous = app.form("/api/admin/messages", None, true, "").await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    // A viewer at an admin function: 403.
    let forbidden = app
        .form("/api/admin/messages", Some(&viewer), true, "")
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    // Bad input: 422; an unknown item: 404; too long: 413.
    let bad = app
        .form("/api/admin/messages", Some(&admin), true, "state=lost")
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let not_mobile = app
        .form(
            "/api/admin/exclusions/add",
            Some(&admin),
            true,
            &format!("mobile=12&{}", token(&admin)),
        )
        .await;
    assert_eq!(not_mobile.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing = app
        .form(
            "/api/admin/exclusions/restore",
            Some(&admin),
            true,
            &format!("id=999&{}", token(&admin)),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let long = "a".repeat(1_001);
    let too_long = app
        .form(
            "/api/admin/broadcasts/review",
            Some(&admin),
            true,
            &format!(
                "lang=en&numbers=0501234567&message={long}&{}",
                token(&admin)
            ),
        )
        .await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Arguments that cannot be read are bad input too, not a server error.
    let unreadable = app
        .form(
            "/api/admin/exclusions/restore",
            Some(&admin),
            true,
            &format!("id=not-a-number&{}", token(&admin)),
        )
        .await;
    assert_eq!(unreadable.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let missing_field = app
        .form("/api/admin/inbox/open", Some(&admin), true, "")
        .await;
    assert_eq!(missing_field.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A body over the limit is the caller's too.
    let huge = format!("kind={}", "a".repeat(3 * 1024 * 1024));
    let too_large = app
        .form("/api/admin/messages", Some(&admin), true, &huge)
        .await;
    assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let not_draft = app
        .form(
            "/api/admin/broadcasts/send",
            Some(&admin),
            true,
            &format!("id=999&{}", token(&admin)),
        )
        .await;
    assert_eq!(not_draft.status(), StatusCode::NOT_FOUND);
}

/// Nabd whose public address is `url`, with users.
async fn with_public_url(url: &str) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = [
        "--jobs-enabled",
        "false",
        "--admin-slowdown-max-secs",
        "0",
        "--public-url",
        url,
    ];
    with_users(start_with(dir, &args).await).await
}

/// Signs the manager in through `host` (as a proxy forwards it) and returns the `Set-Cookie`.
async fn session_cookie_through(
    app: &App,
    host: &str,
    origin: &str,
    proto: Option<&str>,
) -> String {
    let mut request = app
        .client
        .post(app.url("/api/v1/admin/sign-in"))
        .header("host", host)
        .header("origin", origin)
        .json(&json!({ "username": "manager", "password": "correct horse battery" }));
    if let Some(proto) = proto {
        request = request.header("x-forwarded-proto", proto);
    }
    let signed_in = request.send().await.expect("answers");
    assert_eq!(signed_in.status(), StatusCode::OK);
    signed_in
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn with_a_public_url_other_hosts_are_refused_and_its_scheme_decides_secure_cookies() {
    let app = with_public_url("https://dash.clinic.example").await;
    let get = |host: &'static str, path: &'static str| {
        let request = app.client.get(app.url(path)).header("host", host);
        async move { request.send().await.expect("answers").status() }
    };
    assert_eq!(
        get("rebind.evil.example", "/en/admin/sign-in").await,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(
        get("rebind.evil.example", "/api/v1/dashboard").await,
        StatusCode::MISDIRECTED_REQUEST
    );
    assert_eq!(
        get("dash.clinic.example", "/en/admin/sign-in").await,
        StatusCode::OK
    );
    // A monitor on the machine probes by its own address.
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    // Signed in over the proxy's plain HTTP hop: the cookie is Secure because the public address
    // is HTTPS, with no X-Forwarded-Proto to believe.
    let cookie = session_cookie_through(
        &app,
        "dash.clinic.example",
        "https://dash.clinic.example",
        None,
    )
    .await;
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn a_forwarded_scheme_is_not_believed_when_the_public_url_is_plain_http() {
    let app = with_public_url("http://nabd.local:8080").await;
    let cookie = session_cookie_through(
        &app,
        "nabd.local:8080",
        "http://nabd.local:8080",
        Some("https"),
    )
    .await;
    assert!(!cookie.contains("Secure"), "{cookie}");
    // Without NABD_PUBLIC_URL (local use) any host is served, as before.
    let local = start().await;
    let status = local
        .client
        .get(local.url("/en/admin/sign-in"))
        .header("host", "anything.example")
        .send()
        .await
        .expect("answers")
        .status();
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_the_api_cannot_read_gets_the_json_error_body_and_a_4xx() {
    let app = start().await;
    let admin = app.session("manager", "correct horse battery").await;
    let send = |request: reqwest::RequestBuilder| {
        request
            .header("cookie", &admin.cookie)
            .header("x-csrf-token", &admin.csrf)
            .header("origin", &app.base)
            .send()
    };
    let cases = [
        (
            "a body that is not JSON",
            send(
                app.client
                    .post(app.url("/api/v1/admin/exclusions"))
                    .header("content-type", "application/json")
                    .body("{\"mobile\": "),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "a field of the wrong type",
            send(
                app.client
                    .post(app.url("/api/v1/admin/exclusions"))
                    .json(&json!({ "mobile": 501234567 })),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "no JSON content type",
            send(
                app.client
                    .post(app.url("/api/v1/admin/exclusions"))
                    .body("mobile=0501234567"),
            )
            .await,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "a page that is not a number",
            send(app.client.get(app.url("/api/v1/admin/exclusions?page=two"))).await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "an id that is not a number",
            send(
                app.client
                    .post(app.url("/api/v1/admin/messages/seven/resolve"))
                    .json(&json!({ "action": "sent" })),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
        (
            "a date that is not one",
            send(
                app.client
                    .get(app.url("/api/v1/marketing/report?from=yesterday")),
            )
            .await,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (case, response, status) in cases {
        let response = response.expect("answers");
        assert_eq!(response.status(), status, "{case}");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|_| panic!("{case}: not JSON"));
        assert_eq!(body["error"], "bad_request", "{case}: {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{case}: {body}"
        );
    }
}
