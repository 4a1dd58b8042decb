//! Broadcasts: reviewed, sent staggered, cancelled, audited, refused with clear errors, and
//! sent by the job runtime while skipping a number excluded since.

use super::*;

#[tokio::test]
async fn a_broadcast_is_reviewed_sent_staggered_and_cancelled_with_an_audit_trail() {
    let app = start().await;
    let pool = common::postgres::connect(&app.db_url).await;
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
    let queued: i64 = nabd::db!(
        &pool,
        fetch_one,
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox")
    )
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
    let rows: Vec<(String, String, String, String)> = nabd::db!(
        &pool,
        fetch_all,
        sqlx::query_as("SELECT kind, recipient, not_before, batch FROM outbox ORDER BY not_before")
    )
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
    nabd::db!(
        &pool,
        execute,
        sqlx::query("UPDATE outbox SET state = 'sent' WHERE recipient = '+966501234567'")
    )
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
    let state: String = nabd::db!(
        &pool,
        fetch_one,
        sqlx::query_scalar("SELECT state FROM outbox WHERE recipient = '+966531112222'")
    )
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
    let audit: Vec<(String, String)> = nabd::db!(
        &pool,
        fetch_all,
        sqlx::query_as(
            "SELECT action, detail FROM audit_log WHERE action LIKE 'broadcast%' ORDER BY id",
        )
    )
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
    let pool = common::postgres::connect(&app.db_url).await;
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
    let skipped: String = nabd::db!(
        &pool,
        fetch_one,
        sqlx::query_scalar(
            "SELECT recipient FROM outbox WHERE state = 'skipped' AND error LIKE 'do_not_contact%'",
        )
    )
    .expect("skipped");
    assert_eq!(skipped, "+966504444444");
}
