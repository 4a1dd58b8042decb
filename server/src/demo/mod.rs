//! The embedded demo clinic: a SQLite database with exactly the clinic data contract's tables,
//! generated deterministically from a seed and dated relative to "today", so that the
//! dashboard, reminders, feedback and the reactivation campaign have real work at once.
//!
//! Shape (for the default 6,000 patients): 8 doctors (one with an empty `name_a`), three years
//! of history, about 10 appointments per patient (so `--patients 300000` gives about 3
//! million), Fridays closed, working hours 09:00-21:00, every status, invoices (cash and card)
//! and receipts in SAR, mobiles in every local form (some malformed, some missing, some shared
//! by a family), a quarter of the older patients lapsed for over a year, and today's
//! appointments placed around "now": some starting within two and four hours, some that ended
//! one to two hours ago.

mod names;

use crate::gateway::sqlite::{INDEXES, TABLES};
use anyhow::Context;
use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Weekday};
use indicatif::{ProgressBar, ProgressStyle};
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// The SQLite file to write (replaced atomically when done).
    pub out: PathBuf,
    /// The random seed: the same seed, size and dates give the same clinic.
    pub seed: u64,
    /// How many patients.
    pub patients: u32,
    /// The clinic-local date the history ends on.
    pub today: NaiveDate,
    /// The clinic-local time today's appointments are placed around.
    pub now: NaiveTime,
    /// Draw a progress bar on the terminal.
    pub progress: bool,
}

/// How many rows of each table were written, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub doctors: u64,
    pub patients: u64,
    pub appointments: u64,
    pub invoices: u64,
    pub receipts: u64,
    pub elapsed_ms: u128,
}

const YEARS_OF_HISTORY: i64 = 3;
const DAYS_BOOKED_AHEAD: i64 = 14;
/// Mean days between two visits of an active patient (about 10 visits per patient overall).
const DAYS_BETWEEN_VISITS: f64 = 52.0;
/// Half-hour slots from 09:00 to 20:30.
const SLOTS: u32 = 24;
const FIRST_SLOT_MINUTES: u32 = 9 * 60;
/// Statuses as the default configuration reads them.
const UNCONFIRMED: i64 = 0;
const CONFIRMED: i64 = 1;
const ATTENDED: i64 = 2;
const CANCELLED: i64 = 3;
const NO_SHOW: i64 = 4;
/// Rows per multi-row INSERT.
const BATCH: usize = 400;

struct Patient {
    name_a: String,
    name_e: Option<String>,
    mobile: Option<String>,
    registered: NaiveDateTime,
    last_active: NaiveDate,
    doctor: u8,
}

#[derive(Clone, Copy)]
struct Appointment {
    patient: u32,
    doctor: u8,
    start: NaiveDateTime,
    minutes: u16,
    status: i64,
    ended: bool,
    booked: NaiveDateTime,
}

/// Generates the demo clinic described in the module docs into `options.out`.
pub async fn seed(options: &SeedOptions) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let now = options.today.and_time(options.now);

    let patients = generate_patients(&mut rng, options.patients, options.today);
    let mut appointments = generate_history(&mut rng, &patients, options.today, now);
    appointments.extend(generate_today(&mut rng, &patients, options.today, now));
    appointments.sort_by_key(|a| (a.start, a.patient));

    let temp = temp_path(&options.out);
    if temp.exists() {
        std::fs::remove_file(&temp).with_context(|| format!("cannot remove {}", temp.display()))?;
    }
    if let Some(folder) = options.out.parent()
        && !folder.as_os_str().is_empty()
    {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
    }
    let connect = SqliteConnectOptions::new()
        .filename(&temp)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Off)
        .synchronous(SqliteSynchronous::Off);
    let mut conn = SqliteConnection::connect_with(&connect)
        .await
        .with_context(|| format!("cannot create {}", temp.display()))?;
    sqlx::raw_sql(TABLES).execute(&mut conn).await?;

    let total_rows = patients.len() as u64 + appointments.len() as u64 * 2;
    let bar = if options.progress {
        let bar = ProgressBar::new(total_rows);
        bar.set_style(
            ProgressStyle::with_template("{msg:>14} [{bar:40}] {percent:>3}% {eta} left")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut tx = conn.begin().await?;
    insert_doctors(&mut tx).await?;
    bar.set_message("patients");
    insert_patients(&mut tx, &patients, &bar).await?;
    bar.set_message("appointments");
    insert_appointments(&mut tx, &patients, &appointments, &bar).await?;
    bar.set_message("payments");
    let (invoices, receipts) = insert_payments(&mut tx, &mut rng, &appointments, now, &bar).await?;
    tx.commit().await?;
    bar.set_message("indexes");
    sqlx::raw_sql(INDEXES).execute(&mut conn).await?;
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
    conn.close().await?;
    bar.finish_and_clear();

    std::fs::rename(&temp, &options.out)
        .with_context(|| format!("cannot move the clinic to {}", options.out.display()))?;
    Ok(SeedReport {
        doctors: names::DOCTORS.len() as u64,
        patients: patients.len() as u64,
        appointments: appointments.len() as u64,
        invoices,
        receipts,
        elapsed_ms: started.elapsed().as_millis(),
    })
}

fn temp_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn generate_patients(rng: &mut ChaCha8Rng, count: u32, today: NaiveDate) -> Vec<Patient> {
    let history_start = today - Duration::days(365 * YEARS_OF_HISTORY);
    let span_days = (today - history_start).num_days();
    let real_doctors = names::DOCTORS.len() as u8 - 1;
    let mut patients: Vec<Patient> = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let given = if rng.random_bool(0.5) {
            names::MALE.choose(rng)
        } else {
            names::FEMALE.choose(rng)
        };
        let father = names::MALE.choose(rng);
        let family = names::FAMILY.choose(rng);
        let (Some(given), Some(father), Some(family)) = (given, father, family) else {
            continue;
        };
        let name_a = format!("{} {} {}", given.0, father.0, family.0);
        let name_e = rng
            .random_bool(0.9)
            .then(|| format!("{} {} {}", given.1, father.1, family.1));
        // Patients register at the desk, so never on a Friday (closed) nor after today.
        let registered_day =
            open_day(history_start + Duration::days(rng.random_range(0..=span_days))).min(today);
        let registered = registered_day.and_time(time_of_day(rng, 8 * 60, 21 * 60));
        let days_known = (today - registered_day).num_days();
        // A quarter of the patients known for over 400 days stopped coming over a year ago.
        let last_active = if days_known > 400 && rng.random_bool(0.25) {
            registered_day + Duration::days(rng.random_range(0..=(days_known - 366)))
        } else {
            today + Duration::days(DAYS_BOOKED_AHEAD)
        };
        // Families share a phone: some patients reuse an earlier patient's number.
        let mobile = match patients.choose(rng) {
            Some(relative) if rng.random_bool(0.05) => relative.mobile.clone(),
            _ => mobile(rng),
        };
        patients.push(Patient {
            name_a,
            name_e,
            mobile,
            registered,
            last_active,
            doctor: rng.random_range(0..real_doctors),
        });
    }
    patients
}

/// A Saudi mobile in one of the forms PMS users type, sometimes malformed or missing.
fn mobile(rng: &mut ChaCha8Rng) -> Option<String> {
    let digits: String = (0..8)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect();
    let second = char::from(b'0' + [0u8, 3, 4, 5, 6, 9][rng.random_range(0..6)]);
    let form = rng.random_range(0..100);
    Some(match form {
        0..45 => format!("05{second}{}", &digits[1..]),
        45..60 => format!("5{second}{}", &digits[1..]),
        60..75 => format!("9665{second}{}", &digits[1..]),
        75..85 => format!("+966 5{second} {} {}", &digits[1..4], &digits[4..]),
        85..92 => format!("05{second}-{}-{}", &digits[1..4], &digits[4..]),
        92..96 => ["05123", "N/A", "0000000", "٠٥٥١٢٣٤٥٦"][rng.random_range(0..4)].to_owned(),
        _ => return None,
    })
}

fn time_of_day(rng: &mut ChaCha8Rng, from_minutes: u32, to_minutes: u32) -> NaiveTime {
    let minutes = rng.random_range(from_minutes..to_minutes);
    NaiveTime::from_hms_opt(minutes / 60, minutes % 60, rng.random_range(0..60))
        .unwrap_or(NaiveTime::MIN)
}

fn slot_time(slot: u32) -> NaiveTime {
    let minutes = FIRST_SLOT_MINUTES + slot * 30;
    NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN)
}

fn open_day(date: NaiveDate) -> NaiveDate {
    if date.weekday() == Weekday::Fri {
        date + Duration::days(1)
    } else {
        date
    }
}

fn generate_history(
    rng: &mut ChaCha8Rng,
    patients: &[Patient],
    today: NaiveDate,
    now: NaiveDateTime,
) -> Vec<Appointment> {
    let mut appointments = Vec::with_capacity(patients.len() * 11);
    let real_doctors = names::DOCTORS.len() as u8 - 1;
    for (index, patient) in patients.iter().enumerate() {
        let first = patient.registered.date();
        let span = (patient.last_active - first).num_days().max(0);
        let visits = 1 + (span as f64 / DAYS_BETWEEN_VISITS * rng.random_range(0.5..1.5)) as i64;
        for visit in 0..visits {
            let date = if visit == 0 {
                first
            } else {
                open_day(first + Duration::days(rng.random_range(1..=span.max(1))))
            };
            // Today is placed around "now" by `generate_today`.
            if date == today {
                continue;
            }
            let start = date.and_time(slot_time(rng.random_range(0..SLOTS)));
            let doctor = if rng.random_bool(0.8) {
                patient.doctor
            } else {
                rng.random_range(0..real_doctors)
            };
            let booked = if visit == 0 {
                patient.registered.min(start)
            } else {
                let ahead = Duration::days(rng.random_range(1..=30));
                (start - ahead)
                    .date()
                    .and_time(time_of_day(rng, 8 * 60, 20 * 60))
            };
            let status = if date < today {
                match rng.random_range(0..100) {
                    0..85 => ATTENDED,
                    85..90 => NO_SHOW,
                    _ => CANCELLED,
                }
            } else {
                match rng.random_range(0..100) {
                    0..50 => CONFIRMED,
                    50..95 => UNCONFIRMED,
                    _ => CANCELLED,
                }
            };
            appointments.push(Appointment {
                patient: index as u32,
                doctor,
                start,
                minutes: [30u16, 30, 30, 45, 60][rng.random_range(0..5)],
                status,
                ended: status == ATTENDED && start < now,
                booked: booked.min(now),
            });
        }
    }
    appointments
}

/// Today's book, arranged around `now` so that reminders (starting within 2 and 4 hours) and
/// feedback requests (ended 1 to 2 hours ago) have work the moment Nabd starts.
fn generate_today(
    rng: &mut ChaCha8Rng,
    patients: &[Patient],
    today: NaiveDate,
    now: NaiveDateTime,
) -> Vec<Appointment> {
    let active: Vec<u32> = patients
        .iter()
        .enumerate()
        .filter(|(_, patient)| patient.last_active > today && patient.registered.date() < today)
        .map(|(index, _)| index as u32)
        .collect();
    if active.is_empty() {
        return Vec::new();
    }
    let per_day = (patients.len() / 110).max(12);
    let day_start = today.and_time(NaiveTime::MIN);
    let day_end = day_start + Duration::minutes(23 * 60 + 30);
    let around_now = |offset_minutes: i64| {
        let at = now + Duration::minutes(offset_minutes);
        let at = at.clamp(day_start, day_end);
        // Whole minutes, as a receptionist books.
        at.with_second(0).unwrap_or(at)
    };
    let mut book = Vec::with_capacity(per_day);
    for n in 0..per_day {
        let Some(&patient) = active.choose(rng) else {
            break;
        };
        let (start, minutes) = match n % 6 {
            // starting within the next two hours
            0 => (around_now(rng.random_range(15..115)), 30),
            // within the next four hours
            1 => (around_now(rng.random_range(125..235)), 30),
            // ended one to two hours ago
            2 => (around_now(-rng.random_range(95..115)), 30),
            _ => (today.and_time(slot_time(rng.random_range(0..SLOTS))), 30),
        };
        let end = start + Duration::minutes(minutes);
        let status = if end <= now {
            if rng.random_bool(0.9) {
                ATTENDED
            } else {
                NO_SHOW
            }
        } else if start <= now {
            CONFIRMED
        } else {
            match rng.random_range(0..100) {
                0..55 => CONFIRMED,
                55..95 => UNCONFIRMED,
                _ => CANCELLED,
            }
        };
        // Some are booked at the last minute (under two hours ahead: no reminder).
        let booked = if rng.random_bool(0.15) {
            start - Duration::minutes(rng.random_range(20..110))
        } else {
            start - Duration::days(rng.random_range(1..=20))
        };
        book.push(Appointment {
            patient,
            doctor: patients[patient as usize].doctor,
            start,
            minutes: minutes as u16,
            status,
            ended: status == ATTENDED,
            booked: booked.min(now),
        });
    }
    book
}

fn datetime(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

async fn insert_doctors(conn: &mut SqliteConnection) -> anyhow::Result<()> {
    let mut query = QueryBuilder::<Sqlite>::new("INSERT INTO doctor (id, name_a, name_e) ");
    query.push_values(
        names::DOCTORS.iter().enumerate(),
        |mut row, (index, doctor)| {
            row.push_bind(index as i64 + 1)
                .push_bind(doctor.0)
                .push_bind(doctor.1);
        },
    );
    query.build().execute(conn).await?;
    Ok(())
}

async fn insert_patients(
    conn: &mut SqliteConnection,
    patients: &[Patient],
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    for (chunk_index, chunk) in patients.chunks(BATCH).enumerate() {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO patient (id, name_a, name_e, mobile, trans_dt) ",
        );
        query.push_values(chunk.iter().enumerate(), |mut row, (offset, patient)| {
            row.push_bind((chunk_index * BATCH + offset + 1) as i64)
                .push_bind(patient.name_a.clone())
                .push_bind(patient.name_e.clone())
                .push_bind(patient.mobile.clone())
                .push_bind(datetime(patient.registered));
        });
        query.build().execute(&mut *conn).await?;
        bar.inc(chunk.len() as u64);
    }
    Ok(())
}

async fn insert_appointments(
    conn: &mut SqliteConnection,
    patients: &[Patient],
    appointments: &[Appointment],
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    for (chunk_index, chunk) in appointments.chunks(BATCH).enumerate() {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO appointment (id, pt_id, pt_name, mobile, doc_id, doc_nm, app_dt, \
             from_tm, to_tm, app_status, trans_dt) ",
        );
        query.push_values(chunk.iter().enumerate(), |mut row, (offset, a)| {
            let patient = &patients[a.patient as usize];
            let doctor = names::DOCTORS[a.doctor as usize];
            let end = a.start + Duration::minutes(i64::from(a.minutes));
            row.push_bind((chunk_index * BATCH + offset + 1) as i64)
                .push_bind(i64::from(a.patient) + 1)
                .push_bind(patient.name_a.clone())
                .push_bind(patient.mobile.clone())
                .push_bind(i64::from(a.doctor) + 1)
                .push_bind(doctor.0)
                .push_bind(a.start.format("%Y-%m-%d").to_string())
                .push_bind(a.start.format("%H:%M:%S").to_string())
                .push_bind(a.ended.then(|| end.format("%H:%M:%S").to_string()))
                .push_bind(a.status)
                .push_bind(datetime(a.booked));
        });
        query.build().execute(&mut *conn).await?;
        bar.inc(chunk.len() as u64);
    }
    Ok(())
}

struct Payment {
    at: NaiveDateTime,
    cash: f64,
    span: f64,
    patient: u32,
    doctor: u8,
}

/// Writes an invoice for every attended visit and receipts for some follow-up payments.
async fn insert_payments(
    conn: &mut SqliteConnection,
    rng: &mut ChaCha8Rng,
    appointments: &[Appointment],
    now: NaiveDateTime,
    bar: &ProgressBar,
) -> anyhow::Result<(u64, u64)> {
    const PRICES: [f64; 10] = [
        150.0, 200.0, 250.0, 300.0, 450.0, 600.0, 800.0, 1200.0, 1500.0, 2500.0,
    ];
    const WEIGHTS: [u32; 10] = [20, 18, 15, 12, 10, 8, 7, 5, 3, 2];
    let total_weight: u32 = WEIGHTS.iter().sum();
    let mut invoices = Vec::with_capacity(appointments.len());
    let mut receipts = Vec::new();
    for a in appointments.iter().filter(|a| a.ended) {
        let mut pick = rng.random_range(0..total_weight);
        let mut price = PRICES[0];
        for (candidate, weight) in PRICES.iter().zip(WEIGHTS) {
            if pick < weight {
                price = *candidate;
                break;
            }
            pick -= weight;
        }
        // Senior doctors charge more.
        let price = price * (1.0 + f64::from(6 - a.doctor.min(6)) * 0.05);
        let price = (price / 5.0).round() * 5.0;
        let (cash, span) = match rng.random_range(0..100) {
            0..45 => (price, 0.0),
            45..90 => (0.0, price),
            _ => {
                let cash = (price / 2.0).round();
                (cash, price - cash)
            }
        };
        let at = a.start + Duration::minutes(i64::from(a.minutes));
        invoices.push(Payment {
            at,
            cash,
            span,
            patient: a.patient,
            doctor: a.doctor,
        });
        if rng.random_bool(0.15) {
            let later = at.date() + Duration::days(rng.random_range(0..=20));
            let at = later.and_time(time_of_day(rng, 10 * 60, 20 * 60));
            if at <= now {
                let amount = f64::from(rng.random_range(2..=20u32)) * 50.0;
                receipts.push(Payment {
                    at,
                    cash: amount,
                    span: 0.0,
                    patient: a.patient,
                    doctor: a.doctor,
                });
            }
        }
    }
    invoices.sort_by_key(|p| p.at);
    receipts.sort_by_key(|p| p.at);

    for (chunk_index, chunk) in invoices.chunks(BATCH).enumerate() {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO invoice_h (id, inv_dt, cash, span, pt_id, doc_id) ",
        );
        query.push_values(chunk.iter().enumerate(), |mut row, (offset, p)| {
            row.push_bind((chunk_index * BATCH + offset + 1) as i64)
                .push_bind(datetime(p.at))
                .push_bind(p.cash)
                .push_bind(p.span)
                .push_bind(i64::from(p.patient) + 1)
                .push_bind(i64::from(p.doctor) + 1);
        });
        query.build().execute(&mut *conn).await?;
        bar.inc(chunk.len() as u64);
    }
    for (chunk_index, chunk) in receipts.chunks(BATCH).enumerate() {
        let mut query = QueryBuilder::<Sqlite>::new(
            "INSERT INTO receipts (id, rcpt_dt, amount, pt_id, doc_id) ",
        );
        query.push_values(chunk.iter().enumerate(), |mut row, (offset, p)| {
            row.push_bind((chunk_index * BATCH + offset + 1) as i64)
                .push_bind(datetime(p.at))
                .push_bind(p.cash)
                .push_bind(i64::from(p.patient) + 1)
                .push_bind(i64::from(p.doctor) + 1);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok((invoices.len() as u64, receipts.len() as u64))
}
