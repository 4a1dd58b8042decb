//! The do-not-contact list: numbers added (normalised) and restored, both audited, and lists
//! imported from a CSV file.

use super::*;

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

    let pool = common::postgres::connect(&app.db_url).await;
    let audit: Vec<(String, String, String)> = nabd::db!(
        &pool,
        fetch_all,
        sqlx::query_as("SELECT username, action, detail FROM audit_log ORDER BY id")
    )
    .expect("audit");
    let actions: Vec<_> = audit
        .iter()
        .map(|(u, a, d)| (u.as_str(), a.as_str(), d.as_str()))
        .collect();
    assert_eq!(
        actions,
        [
            ("manager", "signed_in", "from 127.0.0.1"),
            ("manager", "number_excluded", "+966501234567"),
            ("manager", "number_restored", "+966501234567"),
        ]
    );
}

#[tokio::test]
async fn a_csv_import_excludes_every_mobile_and_reports_the_rest() {
    let app = start().await;
    let pool = common::postgres::connect(&app.db_url).await;
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
    let listed: Vec<(String, Option<String>, String)> = nabd::db!(&pool, fetch_all, sqlx::query_as(
        "SELECT mobile, reason, source FROM do_not_contact WHERE restored_at IS NULL ORDER BY mobile",
    ))
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
    let audited: i64 = nabd::db!(
        &pool,
        fetch_one,
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'number_excluded'")
    )
    .expect("count");
    assert_eq!(audited, 2);
}
