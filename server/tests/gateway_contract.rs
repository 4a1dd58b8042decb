//! The clinic gateway's contract, written once: small hand-made clinics and the answers every
//! adapter must give on them. Runs against the SQLite adapter, against a real TDS server on
//! loopback (iridium, speaking SQL Server's wire protocol to tiberius), and against a real SQL
//! Server when `NABD_TEST_MSSQL_URL` names a disposable database.

mod common;

use chrono::NaiveDate;
use nabd::dashboard::{Periods, compute, fetch};
use nabd::gateway::mssql::MssqlGateway;
use nabd::gateway::sqlite::{SCHEMA, SqliteGateway};
use nabd::gateway::{
    BookedAppointment, ClinicGateway, DailyRevenue, Days, Doctor, DoctorRevenue, LapsedPatient,
    LapsedQuery, PatientRevenue,
};
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
/// Patient 13 has an English name in every fixture (the others have none), which the look-up
/// of an appointment carries.
fn english_name(patient_id: i64) -> Option<&'static str> {
    (patient_id == 13).then_some("Laila")
}

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
    /// (appointment id, trans_dt) where the booking time is not 08:00 on the appointment's day
    booked: Vec<(i64, &'static str)>,
}

impl Fixture {
    /// When appointment `id` (on `app_dt`) was booked.
    fn booked_at(&self, id: i64, app_dt: &str) -> String {
        self.booked
            .iter()
            .find(|(appointment, _)| *appointment == id)
            .map_or_else(|| format!("{app_dt} 08:00:00"), |(_, at)| (*at).to_owned())
    }
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
        sqlx::query(
            "INSERT INTO patient (id, name_a, name_e, mobile, trans_dt) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(name_a)
        .bind(english_name(*id))
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
        .bind(fixture.booked_at(*id, app_dt))
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
            // a patient the PMS has no row for: not new, so returning
            (105, 99, 2, "2026-01-04", "09:00:00", Some("09:30:00"), 2),
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
        booked: Vec::new(),
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
    let rows = fetch(gateway, &periods, &[3], None, None)
        .await
        .expect("rows");
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

    let booked = gateway
        .appointments_on(today())
        .await
        .expect("today's book");
    let summary: Vec<(i64, String, Option<String>, i64)> = booked
        .iter()
        .map(|a| {
            (
                a.id,
                a.starts.format("%H:%M").to_string(),
                a.ends.map(|t| t.format("%H:%M").to_string()),
                a.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (100, "10:00".into(), None, 1),
            (101, "11:00".into(), None, 0),
            (102, "12:00".into(), None, 3),
        ],
        "every appointment of the day, by start time, whatever its status"
    );
    assert_eq!(
        booked[0],
        BookedAppointment {
            id: 100,
            patient_id: 10,
            patient_name: "x".into(),
            patient_name_en: None,
            mobile: None,
            doctor_id: 1,
            doctor_name: "x".into(),
            date: today(),
            starts: chrono::NaiveTime::from_hms_opt(10, 0, 0).expect("time"),
            ends: None,
            status: 1,
            booked_at: date(2026, 1, 5).and_hms_opt(8, 0, 0),
        }
    );
    let ended = gateway
        .appointments_on(date(2026, 1, 1))
        .await
        .expect("new year's day");
    assert_eq!(ended.len(), 1);
    assert_eq!(
        gateway.appointment(103).await.expect("look-up"),
        Some(ended[0].clone()),
        "the look-up by id reads what the day's book reads"
    );
    assert_eq!(ended[0].patient_name_en.as_deref(), Some("Laila"));
    assert_eq!(ended[0].date, date(2026, 1, 1));
    assert_eq!(
        gateway
            .appointment(102)
            .await
            .expect("look-up")
            .map(|a| a.status),
        Some(3),
        "any status"
    );
    assert_eq!(
        gateway.appointment(999).await.expect("look-up"),
        None,
        "gone"
    );
    assert_eq!(
        ended[0].ends,
        chrono::NaiveTime::from_hms_opt(9, 30, 0),
        "to_tm is read"
    );

    let rows = fetch(gateway, &periods, &[3], Some(2), None)
        .await
        .expect("rows");
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
        figures.avg_revenue_per_appointment_30d, 180.0,
        "719.99 / 4 rounds to 180.00"
    );
    assert_eq!(
        figures.returning_share_30d, 0.75,
        "3 of 4: the patient without a row counts as returning"
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
    let unknown_patient = figures
        .patient_mix
        .iter()
        .find(|day| day.date == "2026-01-04")
        .expect("in window");
    assert_eq!((unknown_patient.new, unknown_patient.returning), (0, 1));

    // Mobiles as the desk typed them: spaces and "+" are read through; a malformed or missing
    // mobile matches nothing.
    let region = nabd::platform::phone::Region::default();
    let spaced = nabd::platform::phone::Mobile::parse("0557654321", region).expect("valid");
    let found = nabd::gateway::patients_by_mobile(gateway, &spaced, region)
        .await
        .expect("look-up");
    assert_eq!(found.iter().map(|p| p.patient_id).collect::<Vec<_>>(), [11]);
    let local = nabd::platform::phone::Mobile::parse("966551234567", region).expect("valid");
    let found = nabd::gateway::patients_by_mobile(gateway, &local, region)
        .await
        .expect("look-up");
    assert_eq!(found.iter().map(|p| p.patient_id).collect::<Vec<_>>(), [10]);
}

/// Patients around the 365-day line, with future bookings, shared visits and revenue, for the
/// reactivation campaign's reads. "Today" is 2026-01-05; lapsed means no visit since 2025-01-05.
fn lapsed_clinic() -> Fixture {
    Fixture {
        doctors: vec![(1, "د. سارة", Some("Dr. Sara")), (2, "د. خالد", None)],
        patients: vec![
            (20, "قديم", Some("0501000001"), "2023-01-01 09:00:00"),
            (21, "على الحافة", Some("0501000002"), "2023-01-01 09:00:00"),
            (22, "قبل الحافة", Some("0501000003"), "2023-01-01 09:00:00"),
            (23, "حجز قادم", Some("0501000004"), "2023-01-01 09:00:00"),
            (24, "حجز ملغى", Some("0501000005"), "2023-01-01 09:00:00"),
            (
                25,
                "لم يحضر أبداً",
                Some("0501000006"),
                "2023-01-01 09:00:00",
            ),
            (26, "زيارتان", None, "2023-01-01 09:00:00"),
        ],
        appointments: vec![
            (200, 20, 1, "2024-06-01", "09:00:00", Some("09:30:00"), 2),
            (201, 20, 2, "2024-12-01", "10:00:00", Some("10:30:00"), 2),
            // a cancellation and a no-show later than the last visit are not visits
            (202, 20, 1, "2025-03-01", "10:00:00", None, 3),
            (203, 20, 1, "2025-04-01", "10:00:00", None, 4),
            // last visit exactly 365 days before today: not lapsed
            (210, 21, 1, "2025-01-05", "10:00:00", Some("10:30:00"), 2),
            // one day more: lapsed
            (220, 22, 1, "2025-01-04", "10:00:00", Some("10:30:00"), 2),
            // lapsed, but booked ahead (and a cancelled booking, which is no booking)
            (230, 23, 1, "2024-01-01", "10:00:00", Some("10:30:00"), 2),
            (231, 23, 2, "2026-02-01", "11:00:00", None, 0),
            (232, 23, 2, "2026-02-02", "11:00:00", None, 3),
            // lapsed, and the only booking ahead is cancelled
            (240, 24, 2, "2024-02-01", "10:00:00", Some("10:30:00"), 1),
            (241, 24, 2, "2026-02-01", "10:00:00", None, 3),
            // never visited: only a cancellation
            (250, 25, 1, "2024-02-01", "10:00:00", None, 3),
            // two visits on the last day: the later one's doctor is the last doctor
            (260, 26, 2, "2024-05-05", "15:00:00", Some("15:30:00"), 2),
            (261, 26, 1, "2024-05-05", "09:00:00", Some("09:30:00"), 2),
            // a patient the PMS has no row for: nobody to write to
            (270, 27, 1, "2024-03-03", "09:00:00", Some("09:30:00"), 2),
        ],
        invoices: vec![
            (2000, "2024-06-01 09:40:00", 200.0, 0.0, 20, 1),
            (2001, "2024-12-01 10:40:00", 250.0, 50.0, 20, 2),
            (2002, "2024-02-01 10:40:00", 200.0, 0.0, 24, 2),
            (2003, "2025-01-05 10:40:00", 999.0, 0.0, 21, 1),
        ],
        receipts: vec![
            (600, "2024-12-02 12:00:00", 100.0, 20, 2),
            (601, "2024-05-05 16:00:00", 100.0, 26, 2),
        ],
        booked: vec![
            (231, "2026-01-04 16:00:00"),
            (232, "2026-01-04 17:00:00"),
            (241, "2026-01-03 10:00:00"),
        ],
    }
}

async fn check_lapsed_clinic<G: ClinicGateway>(gateway: &G) {
    let query = |limit, offset| LapsedQuery {
        today: today(),
        last_visit_before: date(2025, 1, 5),
        not_visits: vec![3, 4],
        cancelled: vec![3],
        limit,
        offset,
    };
    let first = gateway.lapsed_patients(&query(2, 0)).await.expect("lapsed");
    let ids = |page: &[LapsedPatient]| page.iter().map(|p| p.patient_id).collect::<Vec<_>>();
    assert_eq!(ids(&first), [20, 24], "highest lifetime revenue first");
    assert_eq!(
        first[0],
        LapsedPatient {
            patient_id: 20,
            name_ar: "قديم".into(),
            name_en: None,
            mobile: Some("0501000001".into()),
            last_visit: date(2024, 12, 1),
            lifetime_halalas: 60_000,
        }
    );
    assert_eq!(first[1].lifetime_halalas, 20_000);
    let rest = gateway
        .lapsed_patients(&query(10, 2))
        .await
        .expect("lapsed");
    assert_eq!(ids(&rest), [26, 22], "then by revenue, ties by patient id");
    assert_eq!(rest[0].lifetime_halalas, 10_000);
    assert_eq!(rest[1].last_visit, date(2025, 1, 4));
    assert!(
        gateway
            .lapsed_patients(&query(10, 4))
            .await
            .expect("lapsed")
            .is_empty(),
        "21 (365 days exactly), 23 (booked ahead), 25 (never visited) and 27 (no patient row) \
         are not listed"
    );

    let visits = gateway
        .last_visits(&[20, 26, 22, 99], today(), &[3, 4])
        .await
        .expect("last visits");
    let visits: Vec<_> = visits
        .iter()
        .map(|v| (v.patient_id, v.date, v.doctor_id))
        .collect();
    assert_eq!(
        visits,
        [
            (20, date(2024, 12, 1), 2),
            (22, date(2025, 1, 4), 1),
            (26, date(2024, 5, 5), 2)
        ]
    );

    let since = date(2026, 1, 4).and_hms_opt(12, 0, 0).expect("valid");
    let bookings = gateway
        .bookings_since(&[23, 24, 20], since, &[3])
        .await
        .expect("bookings");
    let bookings: Vec<_> = bookings
        .iter()
        .map(|b| {
            (
                b.appointment_id,
                b.patient_id,
                b.date,
                b.doctor_id,
                b.booked_at,
            )
        })
        .collect();
    assert_eq!(
        bookings,
        [(
            231,
            23,
            date(2026, 2, 1),
            2,
            date(2026, 1, 4).and_hms_opt(16, 0, 0)
        )]
    );

    let revenue = gateway
        .revenue_since(&[20, 24, 26], date(2024, 11, 1))
        .await
        .expect("revenue");
    assert_eq!(revenue, [(20, 40_000)]);

    // Look-up by mobile, whatever form the desk typed: 0501000001 is +966501000001.
    let region = nabd::platform::phone::Region::default();
    let mobile = nabd::platform::phone::Mobile::parse("+966 50 100 0001", region).expect("valid");
    let found = nabd::gateway::patients_by_mobile(gateway, &mobile, region)
        .await
        .expect("look-up");
    assert_eq!(found.iter().map(|p| p.patient_id).collect::<Vec<_>>(), [20]);
    assert_eq!(found[0].name_ar, "قديم");
    let nobody = nabd::platform::phone::Mobile::parse("0559999999", region).expect("valid");
    assert!(
        nabd::gateway::patients_by_mobile(gateway, &nobody, region)
            .await
            .expect("look-up")
            .is_empty()
    );
    assert!(
        gateway
            .revenue_since(&[], date(2024, 11, 1))
            .await
            .expect("none")
            .is_empty()
    );
}

#[tokio::test]
async fn sqlite_lapsed_patients_bookings_and_revenue_since_follow_the_contract() {
    check_lapsed_clinic(&sqlite_clinic(&lapsed_clinic()).await).await;
}

#[tokio::test]
async fn sqlite_an_empty_clinic_gives_zeros() {
    check_empty_clinic(&sqlite_clinic(&Fixture::default()).await).await;
}

#[tokio::test]
async fn sqlite_a_small_clinic_gives_the_hand_computed_figures() {
    check_small_clinic(&sqlite_clinic(&small_clinic()).await).await;
}

// ---------------------------------------------------------------------------------------------
// SQL Server: iridium on loopback, and a real server when NABD_TEST_MSSQL_URL is set.
// ---------------------------------------------------------------------------------------------

/// Column types for the SQL Server fixtures. iridium mishandles `DATE`/`DATETIME2` columns and
/// decimal parameters, so its fixtures use `DATETIME` for dates and times-of-day as text and
/// insert money as literals; a real SQL Server gets the PMS's own types.
struct Dialect {
    date: &'static str,
    time: &'static str,
    money: &'static str,
    /// Drop the tables first (a real server keeps them between runs; iridium starts empty).
    drop_first: bool,
}

const IRIDIUM: Dialect = Dialect {
    date: "DATETIME",
    time: "NVARCHAR(8)",
    money: "DECIMAL(19, 4)",
    drop_first: false,
};

const REAL_MSSQL: Dialect = Dialect {
    date: "DATE",
    time: "TIME",
    money: "MONEY",
    drop_first: true,
};

fn text(value: &str) -> String {
    format!("N'{}'", value.replace('\'', "''"))
}

fn opt_text(value: Option<&str>) -> String {
    value.map_or_else(|| "NULL".to_owned(), text)
}

/// The fixture as T-SQL statements (test data only: these literals are the test's own).
fn mssql_statements(fixture: &Fixture, dialect: &Dialect) -> Vec<String> {
    let Dialect {
        date,
        time,
        money,
        drop_first,
    } = dialect;
    let mut statements = Vec::new();
    if *drop_first {
        for table in ["doctor", "patient", "appointment", "invoice_h", "receipts"] {
            statements.push(format!(
                "IF OBJECT_ID(N'{table}', N'U') IS NOT NULL DROP TABLE {table}"
            ));
        }
    }
    statements.extend([
        "CREATE TABLE doctor (id INT PRIMARY KEY, name_a NVARCHAR(100), name_e NVARCHAR(100))"
            .to_owned(),
        "CREATE TABLE patient (id INT PRIMARY KEY, name_a NVARCHAR(200), name_e NVARCHAR(200),
            mobile VARCHAR(40), trans_dt DATETIME)"
            .to_owned(),
        format!(
            "CREATE TABLE appointment (id INT PRIMARY KEY, pt_id INT, pt_name NVARCHAR(200),
                mobile VARCHAR(40), doc_id INT, doc_nm NVARCHAR(100), app_dt {date},
                from_tm {time}, to_tm {time}, app_status INT, trans_dt DATETIME)"
        ),
        format!(
            "CREATE TABLE invoice_h (id INT PRIMARY KEY, inv_dt DATETIME, cash {money},
                span {money}, pt_id INT, doc_id INT)"
        ),
        format!(
            "CREATE TABLE receipts (id INT PRIMARY KEY, rcpt_dt DATETIME, amount {money},
                pt_id INT, doc_id INT)"
        ),
    ]);
    for (id, name_a, name_e) in &fixture.doctors {
        statements.push(format!(
            "INSERT INTO doctor (id, name_a, name_e) VALUES ({id}, {}, {})",
            text(name_a),
            opt_text(*name_e)
        ));
    }
    for (id, name_a, mobile, trans_dt) in &fixture.patients {
        statements.push(format!(
            "INSERT INTO patient (id, name_a, name_e, mobile, trans_dt) VALUES ({id}, {}, {}, {}, {})",
            text(name_a),
            opt_text(english_name(*id)),
            opt_text(*mobile),
            text(trans_dt)
        ));
    }
    for (id, pt_id, doc_id, app_dt, from_tm, to_tm, status) in &fixture.appointments {
        statements.push(format!(
            "INSERT INTO appointment (id, pt_id, pt_name, doc_id, doc_nm, app_dt, from_tm, to_tm,
                app_status, trans_dt)
             VALUES ({id}, {pt_id}, N'x', {doc_id}, N'x', {}, {}, {}, {status}, {})",
            text(app_dt),
            text(from_tm),
            opt_text(*to_tm),
            text(&fixture.booked_at(*id, app_dt))
        ));
    }
    for (id, inv_dt, cash, span, pt_id, doc_id) in &fixture.invoices {
        statements.push(format!(
            "INSERT INTO invoice_h (id, inv_dt, cash, span, pt_id, doc_id)
             VALUES ({id}, {}, {cash:.2}, {span:.2}, {pt_id}, {doc_id})",
            text(inv_dt)
        ));
    }
    for (id, rcpt_dt, amount, pt_id, doc_id) in &fixture.receipts {
        statements.push(format!(
            "INSERT INTO receipts (id, rcpt_dt, amount, pt_id, doc_id)
             VALUES ({id}, {}, {amount:.2}, {pt_id}, {doc_id})",
            text(rcpt_dt)
        ));
    }
    statements
}

/// Starts an iridium TDS server on a free loopback port, TLS off, and loads `fixture`.
async fn iridium_clinic(fixture: &Fixture) -> MssqlGateway {
    let url = common::start_tds_server().await;
    let config = tiberius::Config::from_ado_string(&url).expect("ado string");
    common::run_statements(&config, &mssql_statements(fixture, &IRIDIUM)).await;
    MssqlGateway::from_config(config, 2, Duration::from_secs(10))
}

// Worker threads: the loopback TDS server must never share the only thread with its client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tds_an_empty_clinic_gives_zeros() {
    check_empty_clinic(&iridium_clinic(&Fixture::default()).await).await;
}

// Worker threads: the loopback TDS server must never share the only thread with its client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tds_lapsed_patients_bookings_and_revenue_since_follow_the_contract() {
    check_lapsed_clinic(&iridium_clinic(&lapsed_clinic()).await).await;
}

// Worker threads: the loopback TDS server must never share the only thread with its client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tds_a_small_clinic_gives_the_hand_computed_figures() {
    check_small_clinic(&iridium_clinic(&small_clinic()).await).await;
}

/// The real SQL Server named by `NABD_TEST_MSSQL_URL` (a disposable database: the fixtures drop
/// and create the contract's tables), loaded with `fixture`.
async fn real_mssql_clinic(fixture: &Fixture) -> Option<MssqlGateway> {
    let url = std::env::var("NABD_TEST_MSSQL_URL").ok()?;
    let config = tiberius::Config::from_ado_string(&url).expect("NABD_TEST_MSSQL_URL parses");
    common::run_statements(&config, &mssql_statements(fixture, &REAL_MSSQL)).await;
    Some(MssqlGateway::new(&url, 2, Duration::from_secs(30)).expect("gateway"))
}

/// One test for both fixtures, since they share the real server's tables.
#[tokio::test]
#[expect(
    clippy::print_stderr,
    reason = "a skipped run says so in the test output"
)]
async fn real_sql_server_gives_the_same_answers_when_configured() {
    let Some(gateway) = real_mssql_clinic(&Fixture::default()).await else {
        eprintln!("NABD_TEST_MSSQL_URL is not set: the real SQL Server run is skipped");
        return;
    };
    check_empty_clinic(&gateway).await;
    let Some(gateway) = real_mssql_clinic(&small_clinic()).await else {
        return;
    };
    check_small_clinic(&gateway).await;
    let Some(gateway) = real_mssql_clinic(&lapsed_clinic()).await else {
        return;
    };
    check_lapsed_clinic(&gateway).await;
}
