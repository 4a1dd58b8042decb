//! Upgrading a database that already holds messages: the conversations migration rebuilds the
//! outbox (its kind CHECK gains `reply`) with foreign keys pointing at it, keeps every row and
//! fills the new subject columns, and starts a conversation for each earlier reply.

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::str::FromStr;

#[tokio::test]
async fn the_conversations_migration_keeps_every_message_and_its_links() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/nabd.db", dir.path().display());
    let options = SqliteConnectOptions::from_str(&url)
        .expect("url")
        .create_if_missing(true)
        .foreign_keys(true);
    let db = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("db");
    let all = &nabd::platform::store::MIGRATOR;
    let before: Vec<_> = all
        .iter()
        .filter(|m| m.version < 20261201000003)
        .cloned()
        .collect();
    Migrator::with_migrations(before)
        .run(&db)
        .await
        .expect("the earlier migrations");
    sqlx::raw_sql(
        "INSERT INTO outbox (id, kind, recipient, body, language, idempotency_key, not_before,
             clinic_day, state, created_at, updated_at, batch, sent_at)
         VALUES (1, 'campaign', '+966501111111', 'come back', 'ar', 'campaign:7', 'x', '2026-01-05',
                 'sent', 'x', 'x', 'campaign:2026-01-05', '2026-01-05T09:00:00.000Z'),
                (2, 'broadcast', '+966502222222', 'news', 'ar', 'broadcast:3:966502222222', 'x',
                 '2026-01-05', 'queued', 'x', 'x', 'broadcast:3', NULL);
         INSERT INTO campaign_batches (id, batch_day, selected_at, holdout_share, seed, considered)
         VALUES (1, '2026-01-05', 'x', 0.1, 1, 1);
         INSERT INTO campaign_patients (id, batch_id, patient_id, name_ar, mobile, last_visit,
             lifetime_halalas, holdout, state, message_id)
         VALUES (7, 1, 70, 'سارة', '+966501111111', '2024-01-01', 0, 0, 'queued', 1);
         INSERT INTO inbound_messages (provider_message_id, sender, body, sent_at, received_at)
         VALUES ('wamid.OLD', '+966501111111', 'ابي احجز', '2026-01-05T10:00:00.000Z', 'x');",
    )
    .execute(&db)
    .await
    .expect("rows of the old shape");

    all.run(&db).await.expect("the conversations migration");

    let rows: Vec<(i64, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT id, kind, campaign_patient_id, broadcast_id FROM outbox ORDER BY id",
    )
    .fetch_all(&db)
    .await
    .expect("outbox");
    assert_eq!(
        rows,
        [
            (1, "campaign".to_owned(), Some(7), None),
            (2, "broadcast".to_owned(), None, Some(3)),
        ]
    );
    let linked: i64 = sqlx::query_scalar("SELECT message_id FROM campaign_patients WHERE id = 7")
        .fetch_one(&db)
        .await
        .expect("link");
    assert_eq!(linked, 1);
    let problems: Vec<(String, i64, String, i64)> = sqlx::query_as("PRAGMA foreign_key_check")
        .fetch_all(&db)
        .await
        .expect("check");
    assert!(problems.is_empty(), "{problems:?}");
    // The new kind is allowed now; an unknown one still is not.
    for (kind, allowed) in [("reply", true), ("gossip", false)] {
        let inserted = sqlx::query(
            "INSERT INTO outbox (kind, recipient, body, language, idempotency_key, not_before,
                 clinic_day, created_at, updated_at)
             VALUES (?, '+966501111111', 'hi', 'ar', ?, 'x', '2026-01-05', 'x', 'x')",
        )
        .bind(kind)
        .bind(format!("k:{kind}"))
        .execute(&db)
        .await;
        assert_eq!(inserted.is_ok(), allowed, "{kind}");
    }
    let (mobile, unread, text): (String, i64, String) =
        sqlx::query_as("SELECT mobile, unread, last_text FROM conversations")
            .fetch_one(&db)
            .await
            .expect("a conversation for the earlier reply");
    assert_eq!(
        (mobile.as_str(), unread, text.as_str()),
        ("+966501111111", 1, "ابي احجز")
    );
    let outcomes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM message_outcomes")
        .fetch_one(&db)
        .await
        .expect("the view is back");
    assert_eq!(outcomes, 3);
}
