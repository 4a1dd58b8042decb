//! The clinic gateway's contract, written once: small hand-made clinics and the answers every
//! adapter must give on them. Runs against the SQLite adapter here.

use chrono::NaiveDate;
use nabd::dashboard::{Periods, compute, fetch};
use nabd::gateway::sqlite::{SCHEMA, SqliteGateway};
use nabd::gateway::{ClinicGateway, DailyRevenue, Days, Doctor, DoctorRevenue, PatientRevenue};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::time::Duration;

/// (id, pt_id, doc_id, app_dt, from_tm, to_tm, status)
type AppointmentRow = (
    i64,
    i64,
    i64,
    &'static str,
    &'static str,
    Option<&'static str>,
    i64,
);

/// A hand-made clinic: rows of the contract's tables, as the PMS would hold them.
#[derive(Default, Clone)]
struct Fixture {
    /// (id, name_a, name_e)
    doctors: Vec<(i64, &'static str, Option<&'static str>)>,
    /// (id, name_a, mobile, trans_dt)
    patients: Vec<(i64, &'static str, Option<&'static str>, &'static str)>,
    appointments: Vec<AppointmentRow>,
    /// (id, inv_dt, cash, span, pt_id, doc_id)
    invoices: Vec<(i64, &'static str, f64, f64, i64, i64)>,
    /// (id, rcpt_dt, amount, pt_id, doc_id)
    receipts: Vec<(i64, &'static str, f64, i64, i64)>,
}

async fn sqlite_clinic(fixture: &Fixture) -> SqliteGateway {
    let options = SqliteConnectOptions::new().in_memory(true);
    // One connection: every query sees the same in-memory database.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .expect("in-memory sqlite");
    sqlx::raw_sql(SCHEMA).execute(&pool).await.expect("schema");
    for (id, name_a, name_e) in &fixture.doctors {
        sqlx::query("INSERT INTO doctor (id, name_a, name_e) VALUES (?, ?, ?)")
            .bind(id)
            .bind(name_a)
            .bind(name_e)
            .execute(&pool)
            .await
            .expect("doctor");
    }
    for (id, name_a, mobile, trans_dt) in &fixture.patients {
        sqlx::query("INSERT INTO patient (id, name_a, mobile, trans_dt) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(name_a)
            .bind(mobile)
            .bind(trans_dt)
            .execute(&pool)
            .await
            .expect("patient");
    }
    for (id, pt_id, doc_id, app_dt, from_tm, to_tm, status) in &fixture.appointments {
        sqlx::query(
            "INSERT INTO appointment (id, pt_id, pt_name, doc_id, doc_nm, app_dt, from_tm, to_tm,
                                      app_status, trans_dt)
             VALUES (?, ?, 'x', ?, 'x', ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(pt_id)
        .bind(doc_id)
        .bind(app_dt)
        .bind(from_tm)
        .bind(to_tm)
        .bind(status)
        .bind(format!("{app_dt} 08:00:00"))
        .execute(&pool)
        .await
        .expect("appointment");
    }
    for (id, inv_dt, cash, span, pt_id, doc_id) in &fixture.invoices {
        sqlx::query(
            "INSERT INTO invoice_h (id, inv_dt, cash, span, pt_id, doc_id) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(inv_dt)
        .bind(cash)
        .bind(span)
        .bind(pt_id)
        .bind(doc_id)
        .execute(&pool)
        .await
        .expect("invoice");
    }
    for (id, rcpt_dt, amount, pt_id, doc_id) in &fixture.receipts {
        sqlx::query(
            "INSERT INTO receipts (id, rcpt_dt, amount, pt_id, doc_id) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(rcpt_dt)
        .bind(amount)
        .bind(pt_id)
        .bind(doc_id)
        .execute(&pool)
        .await
        .expect("receipt");
    }
    SqliteGateway::from_pool(pool, Duration::from_secs(5))
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

/// "Today" in every fixture below.
fn today() -> NaiveDate {
    date(2026, 1, 5)
}

fn small_clinic() -> Fixture {
    Fixture {
        doctors: vec![
            (1, "د. سارة", Some("Dr. Sara")),
            (2, "د. خالد", None),
            (3, "", Some("Front desk")), // not a real doctor
        ],
        patients: vec![
            (10, "مريض قديم", Some("0551234567"), "2025-03-01 09:00:00"),
            (
                11,
                "مريض جديد",
                Some("+966 55 765 4321"),
                "2026-01-05 09:30:00",
            ),
            (12, "بلا موعد", None, "2026-01-02 10:00:00"),
            (13, "رقم خاطئ", Some("12-ab"), "2025-12-31 23:59:59"),
        ],
        appointments: vec![
            // today: one returning, one new, one cancelled (counts nowhere)
            (100, 10, 1, "2026-01-05", "10:00:00", None, 1),
            (101, 11, 2, "2026-01-05", "11:00:00", None, 0),
            (102, 13, 1, "2026-01-05", "12:00:00", None, 3),
            // earlier in the window: a no-show still counts as an appointment
            (103, 13, 2, "2026-01-01", "09:00:00", Some("09:30:00"), 4),
            // outside the 30-day window
            (104, 10, 1, "2025-12-06", "09:00:00", Some("09:30:00"), 2),
        ],
        invoices: vec![
            // the day boundary: 23:59:59 yesterday is not today
            (1000, "2026-01-04 23:59:59", 100.0, 0.0, 10, 1),
            (1001, "2026-01-05 00:00:00", 150.5, 49.5, 10, 1),
            // a patient with revenue and no appointment
            (1002, "2026-01-03 12:00:00", 0.0, 300.0, 12, 2),
            // revenue of the empty-named doctor: in totals, never in top doctors
            (1003, "2026-01-02 12:00:00", 20.0, 0.0, 13, 3),
            // two months ago: November 2025 has revenue, December 2025 none besides below
            (1004, "2025-11-15 10:00:00", 1000.0, 0.0, 10, 1),
        ],
        receipts: vec![
            // an invoice and a receipt on the same day are summed
            (500, "2026-01-05 18:00:00", 99.99, 11, 2),
        ],
    }
}

async fn check_empty_clinic<G: ClinicGateway>(gateway: &G) {
    let periods = Periods::for_today(today());
    assert_eq!(gateway.doctors().await.expect("doctors"), vec![]);
    assert_eq!(
        gateway
            .patient_revenue(periods.last_30_days, None)
            .await
            .expect("revenue"),
        PatientRevenue::default()
    );
    let rows = fetch(gateway, &periods, &[3], None).await.expect("rows");
    let figures = compute(&rows, &periods, now(), "SAR");
    assert_eq!(figures.revenue_today, 0.0);
    assert_eq!(figures.appointments_today, 0);
    assert_eq!(figures.new_patients_this_month, 0);
    assert_eq!(figures.avg_revenue_per_patient_30d, 0.0);
    assert_eq!(figures.monthly_revenue.len(), 12);
    assert!(figures.monthly_revenue.iter().all(|m| m.revenue == 0.0));
    assert_eq!(figures.patient_mix.len(), 30);
}

fn now() -> chrono::DateTime<chrono_tz::Tz> {
    use chrono::TimeZone;
    chrono_tz::Asia::Riyadh
        .with_ymd_and_hms(2026, 1, 5, 20, 0, 0)
        .single()
        .expect("valid")
}

async fn check_small_clinic<G: ClinicGateway>(gateway: &G) {
    let periods = Periods::for_today(today());

    assert_eq!(
        gateway.doctors().await.expect("doctors"),
        vec![
            Doctor {
                id: 1,
                name_ar: "د. سارة".into(),
                name_en: Some("Dr. Sara".into())
            },
            Doctor {
                id: 2,
                name_ar: "د. خالد".into(),
                name_en: None
            },
        ],
        "a doctor with an empty name_a is not a doctor"
    );

    assert_eq!(
        gateway.revenue_by_day(periods.today).await.expect("today"),
        vec![DailyRevenue {
            date: today(),
            halalas: 20_000 + 9_999
        }],
        "today starts at local midnight; a receipt and an invoice of one day add up"
    );

    let mut by_doctor = gateway
        .revenue_by_doctor(periods.last_30_days)
        .await
        .expect("by doctor");
    by_doctor.sort_by_key(|row| row.doctor_id);
    assert_eq!(
        by_doctor,
        vec![
            DoctorRevenue {
                doctor_id: 1,
                halalas: 10_000 + 20_000
            },
            DoctorRevenue {
                doctor_id: 2,
                halalas: 30_000 + 9_999
            },
            DoctorRevenue {
                doctor_id: 3,
                halalas: 2_000
            },
        ]
    );

    assert_eq!(
        gateway
            .patient_revenue(periods.last_30_days, None)
            .await
            .expect("all"),
        PatientRevenue {
            halalas: 71_999,
            patients: 4
        },
        "patients 10, 11, 12 (no appointment) and 13"
    );
    assert_eq!(
        gateway
            .patient_revenue(periods.last_30_days, Some(1))
            .await
            .expect("doctor 1"),
        PatientRevenue {
            halalas: 30_000,
            patients: 1
        }
    );
    assert_eq!(
        gateway
            .new_patients(Days::new(date(2026, 1, 1), date(2026, 1, 6)))
            .await
            .expect("new"),
        2,
        "registered 2026-01-02 and 2026-01-05; 2025-12-31 23:59:59 is last month"
    );

    let rows = fetch(gateway, &periods, &[3], Some(2)).await.expect("rows");
    let figures = compute(&rows, &periods, now(), "SAR");
    assert_eq!(figures.revenue_today, 299.99);
    assert_eq!(
        figures.appointments_today, 2,
        "the cancelled one is left out"
    );
    assert_eq!(figures.new_patients_this_month, 2);
    assert_eq!(
        figures.avg_revenue_per_patient_30d, 180.0,
        "719.99 / 4 rounds to 180.00"
    );
    assert_eq!(
        figures.avg_revenue_per_appointment_30d, 240.0,
        "719.99 / 3 rounds to 240.00"
    );
    assert_eq!(
        figures.returning_share_30d, 0.6667,
        "2 of 3 after registration"
    );
    assert_eq!(
        figures.doctor_avg_revenue_per_patient_30d,
        Some(200.0),
        "doctor 2: 399.99 from 2 patients is 199.995, rounded half away from zero"
    );
    let month = |name: &str| {
        figures
            .monthly_revenue
            .iter()
            .find(|m| m.month == name)
            .map(|m| m.revenue)
    };
    assert_eq!(month("2025-11"), Some(1000.0));
    assert_eq!(
        month("2025-12"),
        Some(0.0),
        "a month with no revenue shows 0"
    );
    assert_eq!(month("2026-01"), Some(719.99));
    assert_eq!(
        figures.monthly_revenue.last().map(|m| m.month.as_str()),
        Some("2026-01")
    );
    let top: Vec<i64> = figures.top_doctors.iter().map(|d| d.doctor_id).collect();
    assert_eq!(
        top,
        vec![2, 1],
        "highest first, the unnamed doctor left out"
    );
    let today_mix = figures.patient_mix.last().expect("30 days");
    assert_eq!((today_mix.new, today_mix.returning), (1, 1));
    let first_of_jan = figures
        .patient_mix
        .iter()
        .find(|day| day.date == "2026-01-01")
        .expect("in window");
    assert_eq!((first_of_jan.new, first_of_jan.returning), (0, 1));
}

#[tokio::test]
async fn sqlite_an_empty_clinic_gives_zeros() {
    check_empty_clinic(&sqlite_clinic(&Fixture::default()).await).await;
}

#[tokio::test]
async fn sqlite_a_small_clinic_gives_the_hand_computed_figures() {
    check_small_clinic(&sqlite_clinic(&small_clinic()).await).await;
}
