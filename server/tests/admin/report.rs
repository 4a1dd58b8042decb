//! The campaign report: its server function, its page (names shown as text) and its CSV.

use super::*;

/// Records one messaged patient (sent on 5 January 2026) who returned, with these names as the
/// PMS spelled them.
async fn returned_patient(app: &App, name_ar: &str, name_en: &str, doctor: &str) {
    let pool = common::postgres::connect(&app.db_url).await;
    nabd::db!(&pool, execute, sqlx::raw_sql(
        "INSERT INTO campaign_batches (id, batch_day, selected_at, holdout_share, seed, considered)
         VALUES (1, '2026-01-05', '2026-01-05T02:00:00.000Z', 0.1, 7, 1);
         INSERT INTO outbox (id, kind, recipient, body, language, idempotency_key, not_before,
                             clinic_day, state, sent_at, created_at, updated_at)
         VALUES (1, 'campaign', '+966501234567', 'hi', 'en', 'campaign:1',
                 '2026-01-05T07:00:00.000Z', '2026-01-05', 'sent', '2026-01-05T07:00:01.000Z',
                 '2026-01-05T07:00:00.000Z', '2026-01-05T07:00:01.000Z');",
    ))
    .expect("fixture");
    nabd::platform::store::resync_ids(&pool).await.expect("ids");
    nabd::db!(
        &pool,
        execute,
        sqlx::query(
            "INSERT INTO campaign_patients (id, batch_id, patient_id, name_ar, name_en, mobile,
             last_visit, lifetime_halalas, holdout, state, message_id, converted_at,
             conversion_date, conversion_doctor_name, revenue_since_halalas)
         VALUES (1, 1, 42, $1, $2, '+966501234567', '2024-06-01', 1000, 0, 'queued', 1,
                 '2026-01-06 10:00:00', '2026-01-08', $3, 5000)",
        )
        .bind(name_ar)
        .bind(name_en)
        .bind(doctor)
    )
    .expect("fixture");
    pool.close().await;
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
    // A returned patient whose name in the PMS carries a script tag.
    returned_patient(
        &app,
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(2)>",
        "<b>Dr</b>",
    )
    .await;
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
    returned_patient(&app, "سارة, الأولى", "=cmd", "د. علي").await;
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
        "\"سارة, الأولى\",'=cmd,'+966••••••567,2026-01-05T10:00:01+03:00,2026-01-06 10:00:00,2026-01-08,د. علي,50.00"
    );
    assert_eq!(lines.len(), 2);
}
