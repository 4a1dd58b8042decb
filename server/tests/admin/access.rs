//! Who may reach what: every admin endpoint, page and server function refuses an anonymous
//! caller, and a viewer reads reports but changes nothing.

use super::*;

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
    let pool = common::postgres::connect(&app.db_url).await;
    for count in [
        "SELECT COUNT(*) FROM broadcasts",
        "SELECT COUNT(*) FROM outbox",
        "SELECT COUNT(*) FROM do_not_contact",
    ] {
        let rows: i64 = nabd::db!(&pool, fetch_one, sqlx::query_scalar(count)).expect("count");
        assert_eq!(rows, 0, "nothing was written: {count}");
    }
}
