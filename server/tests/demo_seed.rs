//! The demo clinic generator: the contract's tables, deterministic for a seed, and dated so
//! that every feature has work "now".

use chrono::{NaiveDate, NaiveTime};
use nabd::dashboard::{Periods, compute, fetch};
use nabd::demo::{SeedOptions, seed};
use nabd::gateway::sqlite::SqliteGateway;
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

fn options(out: &Path, seed_value: u64) -> SeedOptions {
    SeedOptions {
        out: out.to_path_buf(),
        seed: seed_value,
        patients: 600,
        today: NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"),
        now: NaiveTime::from_hms_opt(12, 0, 0).expect("time"),
        progress: false,
    }
}

async fn open(path: &Path) -> SqlitePool {
    SqlitePool::connect(&format!("sqlite://{}?mode=ro", path.display()))
        .await
        .expect("open the seeded clinic")
}

async fn scalar(pool: &SqlitePool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

async fn fingerprint(pool: &SqlitePool) -> Vec<(i64, i64, String, String, i64)> {
    sqlx::query_as("SELECT id, pt_id, app_dt, from_tm, app_status FROM appointment ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("appointments")
}

#[tokio::test]
async fn the_demo_clinic_has_work_for_every_feature_today() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("clinic.db");
    let report = seed(&options(&path, 7)).await.expect("seeds");
    assert_eq!(report.patients, 600);
    assert!(
        report.appointments > 4_000,
        "about 10 per patient: {report:?}"
    );
    let pool = open(&path).await;

    assert_eq!(scalar(&pool, "SELECT COUNT(*) FROM doctor").await, 8);
    assert_eq!(
        scalar(&pool, "SELECT COUNT(*) FROM doctor WHERE TRIM(name_a) = ''").await,
        1,
        "one placeholder doctor with an empty Arabic name"
    );
    assert_eq!(scalar(&pool, "SELECT COUNT(*) FROM patient").await, 600);
    assert!(scalar(&pool, "SELECT COUNT(*) FROM patient WHERE mobile IS NULL").await > 0);
    assert!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM patient WHERE mobile LIKE '+966 %'"
        )
        .await
            > 0
    );
    assert!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM patient WHERE mobile LIKE '9665%'"
        )
        .await
            > 0
    );
    assert!(scalar(&pool, "SELECT COUNT(*) FROM patient WHERE mobile = '05123' OR mobile = 'N/A' OR mobile = '0000000' OR mobile LIKE '٠%'").await > 0);
    assert!(
        scalar(&pool, "SELECT COUNT(*) FROM (SELECT mobile FROM patient WHERE mobile IS NOT NULL GROUP BY mobile HAVING COUNT(*) > 1)").await > 0,
        "some families share a phone"
    );

    // Reminders: appointments later today, unconfirmed and confirmed, within 2 and 4 hours.
    assert!(scalar(&pool, "SELECT COUNT(*) FROM appointment WHERE app_dt = '2026-01-05' AND app_status = 1 AND from_tm > '12:00:00' AND from_tm <= '14:00:00'").await > 0);
    assert!(scalar(&pool, "SELECT COUNT(*) FROM appointment WHERE app_dt = '2026-01-05' AND app_status IN (0, 1) AND from_tm > '14:00:00' AND from_tm <= '16:00:00'").await > 0);
    // Feedback: visits that ended one to two hours ago.
    assert!(scalar(&pool, "SELECT COUNT(*) FROM appointment WHERE app_dt = '2026-01-05' AND to_tm >= '10:00:00' AND to_tm < '11:00:00'").await > 0);
    // Reactivation: patients whose last visit is over a year old and who have nothing booked.
    assert!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM (SELECT pt_id FROM appointment WHERE app_status NOT IN (3)
             GROUP BY pt_id HAVING MAX(app_dt) < '2025-01-05')"
        )
        .await
            > 10
    );
    // Nothing happens on Fridays (the clinic is closed); 2026-01-02 is a Friday.
    assert_eq!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM appointment WHERE app_dt = '2026-01-02'"
        )
        .await,
        0
    );
    // Every attended visit has an invoice; nothing is paid in the future.
    assert!(scalar(&pool, "SELECT COUNT(*) FROM invoice_h").await > 3_000);
    assert_eq!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM invoice_h WHERE inv_dt > '2026-01-05 12:00:00'"
        )
        .await,
        0
    );
    assert_eq!(
        scalar(
            &pool,
            "SELECT COUNT(*) FROM receipts WHERE rcpt_dt > '2026-01-05 12:00:00'"
        )
        .await,
        0
    );

    let gateway = SqliteGateway::from_pool(pool, Duration::from_secs(10));
    let periods = Periods::for_today(NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"));
    let rows = fetch(&gateway, &periods, &[3], None, None)
        .await
        .expect("figures");
    let now = chrono::TimeZone::with_ymd_and_hms(&chrono_tz::Asia::Riyadh, 2026, 1, 5, 12, 0, 0)
        .single()
        .expect("now");
    let figures = compute(&rows, &periods, now, "SAR");
    assert!(figures.revenue_today > 0.0, "{figures:?}");
    assert!(figures.appointments_today >= 8, "{figures:?}");
    assert!(figures.new_patients_this_month > 0, "{figures:?}");
    assert_eq!(figures.doctors.len(), 7);
    assert!(
        figures
            .monthly_revenue
            .iter()
            .all(|month| month.revenue > 0.0)
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_clinic_and_another_seed_another() {
    let dir = tempfile::tempdir().expect("temp dir");
    let first = dir.path().join("a.db");
    let second = dir.path().join("b.db");
    let third = dir.path().join("c.db");
    seed(&options(&first, 1)).await.expect("seeds");
    seed(&options(&second, 1)).await.expect("seeds");
    seed(&options(&third, 2)).await.expect("seeds");
    let (a, b, c) = (
        fingerprint(&open(&first).await).await,
        fingerprint(&open(&second).await).await,
        fingerprint(&open(&third).await).await,
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[tokio::test]
async fn settled_days_are_read_from_the_clinic_once_and_open_days_every_time() {
    use nabd::dashboard::history::RevenueHistory;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("clinic.db");
    seed(&options(&path, 3)).await.expect("seeds");
    let pool = SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    let gateway = SqliteGateway::from_pool(pool.clone(), Duration::from_secs(10));
    let periods = Periods::for_today(NaiveDate::from_ymd_opt(2026, 1, 5).expect("date"));
    let history = RevenueHistory::new();
    let direct = fetch(&gateway, &periods, &[3], None, None)
        .await
        .expect("rows");
    let remembered = fetch(&gateway, &periods, &[3], None, Some(&history))
        .await
        .expect("rows");
    assert_eq!(
        remembered.revenue_12_months, direct.revenue_12_months,
        "the first read through the history is the clinic's"
    );

    // Money is added on a settled day (two months ago) and on an open one (today).
    for day in ["2025-11-03 10:00:00", "2026-01-05 09:00:00"] {
        sqlx::query(
            "INSERT INTO invoice_h (inv_dt, cash, span, pt_id, doc_id) VALUES (?, 1000, 0, 1, 1)",
        )
        .bind(day)
        .execute(&pool)
        .await
        .expect("a new invoice");
    }
    let day = |rows: &nabd::dashboard::Rows, date: &str| {
        rows.revenue_12_months
            .iter()
            .find(|row| row.date.to_string() == date)
            .map_or(0, |row| row.halalas)
    };
    let again = fetch(&gateway, &periods, &[3], None, Some(&history))
        .await
        .expect("rows");
    assert_eq!(
        day(&again, "2026-01-05"),
        day(&direct, "2026-01-05") + 100_000,
        "today is read from the clinic every time"
    );
    assert_eq!(
        day(&again, "2025-11-03"),
        day(&direct, "2025-11-03"),
        "a settled day is remembered, not read again"
    );
    let fresh = fetch(&gateway, &periods, &[3], None, None)
        .await
        .expect("rows");
    assert_eq!(
        day(&fresh, "2025-11-03"),
        day(&direct, "2025-11-03") + 100_000
    );
}
