//! The message log: its filters and an admin's decision on an uncertain message.

use super::*;

#[tokio::test]
async fn the_message_log_filters_and_an_admin_resolves_an_uncertain_message() {
    let app = start().await;
    let pool = common::postgres::connect(&app.db_url).await;
    nabd::db!(&pool, execute, sqlx::raw_sql(
        "INSERT INTO outbox (id, kind, recipient, body, language, idempotency_key, not_before,
                             clinic_day, state, created_at, updated_at)
         VALUES (1, 'reminder', '+966501234567', 'r', 'ar', 'reminder:1', '2026-01-05T07:00:00.000Z',
                 '2026-01-05', 'uncertain', '2026-01-05T07:00:00.000Z', '2026-01-05T07:00:00.000Z'),
                (2, 'feedback', '+966551234567', 'f', 'ar', 'feedback:2', '2026-01-05T07:00:00.000Z',
                 '2026-01-05', 'sent', '2026-01-05T07:00:00.000Z', '2026-01-05T07:00:00.000Z');",
    ))
    .expect("fixture");
    nabd::platform::store::resync_ids(&pool).await.expect("ids");
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
    let state: String = nabd::db!(
        &pool,
        fetch_one,
        sqlx::query_scalar("SELECT state FROM outbox WHERE id = 1")
    )
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
    let audited: i64 = nabd::db!(
        &pool,
        fetch_one,
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'uncertain_marked_sent'")
    )
    .expect("count");
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn the_json_log_and_the_page_check_their_filters_the_same_way() {
    let app = start().await;
    let session = app.session("manager", "correct horse battery").await;
    for (query, code) in [
        ("state=lost", "bad_state"),
        ("kind=spam", "bad_kind"),
        ("to=12", "invalid"),
    ] {
        let response = app
            .get(&format!("/api/v1/admin/messages?{query}"), Some(&session))
            .await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{query}"
        );
        let body: Value = response.json().await.expect("json");
        assert_eq!(body["error"], code, "{query}");
        let page = call_server_fn(
            &app,
            "/api/admin/messages",
            &[(
                query.split('=').next().unwrap_or_default(),
                query.split('=').nth(1).unwrap_or_default(),
            )],
            Some(&session),
        )
        .await
        .text()
        .await
        .expect("body");
        assert!(page.contains("BadFilter"), "{query}: {page}");
    }
    let none: Value = app
        .get(
            "/api/v1/admin/messages?state=queued&kind=reminder",
            Some(&session),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(none, serde_json::json!([]));
}

#[tokio::test]
async fn the_log_says_which_touch_a_reminder_was_and_why_one_was_not_sent_in_both_languages() {
    let app = start().await;
    let pool = common::postgres::connect(&app.db_url).await;
    nabd::db!(
        &pool,
        execute,
        sqlx::raw_sql(
            "INSERT INTO outbox (id, kind, recipient, body, language, idempotency_key, not_before,
                             clinic_day, state, error, appointment_id, touch, created_at,
                             updated_at)
         VALUES (1, 'reminder', '+966501234567', 'r', 'ar',
                 'reminder:day_before:7:2026-01-06T09:00:1:966501234567',
                 '2026-01-05T15:00:00.000Z', '2026-01-05', 'skipped', 'appointment_changed', 7,
                 'day_before', '2026-01-05T07:00:00.000Z', '2026-01-05T15:00:00.000Z');",
        )
    )
    .expect("fixture");
    let session = app.session("manager", "correct horse battery").await;
    let english = app.html("/en/admin/messages", Some(&session)).await;
    assert!(english.contains("Reminder, day before"), "{english}");
    assert!(
        english.contains("Not sent: the appointment was cancelled, moved or changed since"),
        "{english}"
    );
    let arabic = app.html("/ar/admin/messages", Some(&session)).await;
    assert!(arabic.contains("قبل يوم"), "the touch in Arabic");
    assert!(
        arabic.contains("لم تُرسل: أُلغي الموعد أو نُقل أو تغيّر منذ جدولتها"),
        "the reason in Arabic"
    );
    let json: Value = app
        .get("/api/v1/admin/messages", Some(&session))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(json[0]["touch"], "day_before");
    assert_eq!(json[0]["error"], "appointment_changed");
}
