//! The dashboard figures (design notes §3): which days each figure covers, the queries that
//! fetch them through the clinic gateway, and the arithmetic that turns rows into KPIs.

pub mod cache;
mod error;
pub mod history;

pub use error::FiguresError;

use crate::gateway::StatusCodes;
use crate::gateway::clinic::Clinic;
use crate::gateway::{
    ClinicGateway, DailyAppointments, DailyRevenue, Days, Doctor, DoctorRevenue, GatewayError,
    PatientRevenue,
};
use crate::platform::clock::Clock;
use crate::platform::text::without_bidi_controls;
use app::dashboard::{
    DashboardFigures, DoctorOption, DoctorRevenueRow, MonthRevenue, PatientMixDay,
};
use cache::FiguresCache;
use chrono::{DateTime, Datelike, Months, NaiveDate, SecondsFormat};
use chrono_tz::Tz;
use history::RevenueHistory;
use std::sync::Arc;

/// How many doctors "top doctors" shows.
const TOP_DOCTORS: usize = 10;

/// The clinic-local day ranges every figure is computed over, for one "today".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Periods {
    pub today: Days,
    /// Today and the 29 days before it.
    pub last_30_days: Days,
    /// From the 1st of this month to the end of today.
    pub this_month: Days,
    /// The 1st of the month 11 months ago to the end of this month.
    pub last_12_months: Days,
}

impl Periods {
    /// Returns the periods for the clinic-local date `today`.
    pub fn for_today(today: NaiveDate) -> Self {
        let tomorrow = today.succ_opt().unwrap_or(today);
        let first_of_month = today.with_day(1).unwrap_or(today);
        let first_of_next_month = first_of_month
            .checked_add_months(Months::new(1))
            .unwrap_or(tomorrow);
        let twelve_months_back = first_of_month
            .checked_sub_months(Months::new(11))
            .unwrap_or(first_of_month);
        Self {
            today: Days::new(today, tomorrow),
            last_30_days: Days::new(today - chrono::Days::new(29), tomorrow),
            this_month: Days::new(first_of_month, tomorrow),
            last_12_months: Days::new(twelve_months_back, first_of_next_month),
        }
    }
}

/// The rows the gateway returned for one dashboard, before any arithmetic.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    pub doctors: Vec<Doctor>,
    pub revenue_12_months: Vec<DailyRevenue>,
    pub revenue_by_doctor_30_days: Vec<DoctorRevenue>,
    pub patient_revenue_30_days: PatientRevenue,
    pub appointments_30_days: Vec<DailyAppointments>,
    pub new_patients_this_month: i64,
    pub doctor_patient_revenue_30_days: Option<PatientRevenue>,
}

/// Fetches every row the dashboard needs, the queries running concurrently; with a
/// `history`, settled days' revenue it remembers is not read again.
pub async fn fetch<G: ClinicGateway>(
    gateway: &G,
    periods: &Periods,
    cancelled: &[i64],
    doctor_id: Option<i64>,
    history: Option<&history::RevenueHistory>,
) -> Result<Rows, GatewayError> {
    let doctor_revenue = async {
        match doctor_id {
            Some(id) => gateway
                .patient_revenue(periods.last_30_days, Some(id))
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    // The year of daily revenue is the largest read: its two halves go concurrently.
    let revenue = async {
        if let Some(history) = history {
            return history
                .revenue_by_day(gateway, periods.last_12_months, periods.today.from)
                .await;
        }
        let (older, newer) = periods.last_12_months.halves();
        let (mut older, newer) =
            tokio::try_join!(gateway.revenue_by_day(older), gateway.revenue_by_day(newer))?;
        older.extend(newer);
        Ok::<_, GatewayError>(older)
    };
    let (doctors, revenue, by_doctor, patients, appointments, new_patients, doctor) = tokio::try_join!(
        gateway.doctors(),
        revenue,
        gateway.revenue_by_doctor(periods.last_30_days),
        gateway.patient_revenue(periods.last_30_days, None),
        gateway.appointments_by_day(periods.last_30_days, cancelled),
        gateway.new_patients(periods.this_month),
        doctor_revenue,
    )?;
    Ok(Rows {
        doctors,
        revenue_12_months: revenue,
        revenue_by_doctor_30_days: by_doctor,
        patient_revenue_30_days: patients,
        appointments_30_days: appointments,
        new_patients_this_month: new_patients,
        doctor_patient_revenue_30_days: doctor,
    })
}

/// What the dashboard reads and keeps: the clinic, the clock, what each status code means, the
/// figures cache and the settled days already read.
#[derive(Clone)]
pub struct Board {
    pub clinic: Clinic,
    pub clock: Clock,
    pub statuses: Arc<StatusCodes>,
    /// The figures, computed at most once per TTL per doctor filter.
    pub cache: Arc<FiguresCache>,
    /// Settled days' revenue already read from the clinic.
    pub history: Arc<RevenueHistory>,
    /// ISO 4217 code of every money figure.
    pub currency: String,
    /// How often the page asks for fresh figures, in seconds.
    pub refresh_secs: u32,
}

impl Board {
    /// Computes the dashboard figures for now on Nabd's clock, optionally with one doctor's
    /// average; the one entry point of both the page's server function and the JSON API.
    pub async fn figures(&self, doctor_id: Option<i64>) -> Result<DashboardFigures, FiguresError> {
        self.cache
            .get(doctor_id, || self.compute_now(doctor_id))
            .await
    }

    /// Computes the figures from the clinic database, bypassing the cache.
    async fn compute_now(&self, doctor_id: Option<i64>) -> Result<DashboardFigures, FiguresError> {
        let now = self.clock.now();
        let periods = Periods::for_today(now.date_naive());
        let rows = fetch(
            &self.clinic,
            &periods,
            &self.statuses.cancelled,
            doctor_id,
            Some(&self.history),
        )
        .await?;
        if let Some(id) = doctor_id
            && !rows.doctors.iter().any(|doctor| doctor.id == id)
        {
            return Err(FiguresError::UnknownDoctor(id));
        }
        let mut figures = compute(&rows, &periods, now, &self.currency);
        figures.refresh_secs = self.refresh_secs;
        Ok(figures)
    }
}

/// Converts whole halalas to a currency amount with two decimals.
pub fn money(halalas: i64) -> f64 {
    halalas as f64 / 100.0
}

/// Divides money by a count, rounded to the nearest halala; 0 when the count is 0.
fn per(halalas: i64, count: i64) -> f64 {
    if count <= 0 {
        return 0.0;
    }
    let rounded = (halalas as f64 / count as f64).round() as i64;
    money(rounded)
}

/// Computes every figure from the rows, for the moment `now`.
pub fn compute(
    rows: &Rows,
    periods: &Periods,
    now: DateTime<Tz>,
    currency: &str,
) -> DashboardFigures {
    let today = periods.today.from;
    let revenue_today = rows
        .revenue_12_months
        .iter()
        .filter(|day| day.date == today)
        .map(|day| day.halalas)
        .sum();

    let mut monthly_revenue = Vec::with_capacity(12);
    let mut month = periods.last_12_months.from;
    while month < periods.last_12_months.to {
        let next = month
            .checked_add_months(Months::new(1))
            .unwrap_or(periods.last_12_months.to);
        let halalas = rows
            .revenue_12_months
            .iter()
            .filter(|day| day.date >= month && day.date < next)
            .map(|day| day.halalas)
            .sum();
        monthly_revenue.push(MonthRevenue {
            month: month.format("%Y-%m").to_string(),
            revenue: money(halalas),
        });
        month = next;
    }

    let mut top: Vec<(&Doctor, i64)> = rows
        .revenue_by_doctor_30_days
        .iter()
        .filter_map(|row| {
            let doctor = rows
                .doctors
                .iter()
                .find(|doctor| doctor.id == row.doctor_id)?;
            Some((doctor, row.halalas))
        })
        .collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.id.cmp(&b.0.id)));
    let top_doctors = top
        .into_iter()
        .take(TOP_DOCTORS)
        .map(|(doctor, halalas)| DoctorRevenueRow {
            doctor_id: doctor.id,
            name_ar: without_bidi_controls(&doctor.name_ar),
            name_en: doctor.name_en.as_deref().map(without_bidi_controls),
            revenue: money(halalas),
        })
        .collect();

    let mut patient_mix = Vec::with_capacity(30);
    let mut day = periods.last_30_days.from;
    while day < periods.last_30_days.to {
        let row = rows.appointments_30_days.iter().find(|row| row.date == day);
        let (total, new) = row.map_or((0, 0), |row| (row.total, row.new));
        patient_mix.push(PatientMixDay {
            date: day.format("%Y-%m-%d").to_string(),
            new,
            returning: total - new,
        });
        day = day.succ_opt().unwrap_or(periods.last_30_days.to);
    }

    let appointments_30: i64 = rows.appointments_30_days.iter().map(|row| row.total).sum();
    let after_registration: i64 = rows
        .appointments_30_days
        .iter()
        .map(|row| row.after_registration)
        .sum();
    let appointments_today = rows
        .appointments_30_days
        .iter()
        .filter(|row| row.date == today)
        .map(|row| row.total)
        .sum();
    let revenue_30 = rows.patient_revenue_30_days;

    DashboardFigures {
        as_of: now.to_rfc3339_opts(SecondsFormat::Secs, false),
        currency: currency.to_owned(),
        revenue_today: money(revenue_today),
        appointments_today,
        new_patients_this_month: rows.new_patients_this_month,
        avg_revenue_per_patient_30d: per(revenue_30.halalas, revenue_30.patients),
        avg_revenue_per_appointment_30d: per(revenue_30.halalas, appointments_30),
        returning_share_30d: if appointments_30 > 0 {
            ((after_registration as f64 / appointments_30 as f64) * 10_000.0).round() / 10_000.0
        } else {
            0.0
        },
        monthly_revenue,
        top_doctors,
        patient_mix,
        doctors: rows
            .doctors
            .iter()
            .map(|doctor| DoctorOption {
                id: doctor.id,
                name_ar: without_bidi_controls(&doctor.name_ar),
                name_en: doctor.name_en.as_deref().map(without_bidi_controls),
            })
            .collect(),
        doctor_avg_revenue_per_patient_30d: rows
            .doctor_patient_revenue_30_days
            .map(|revenue| per(revenue.halalas, revenue.patients)),
        refresh_secs: 60,
        stale: false,
        charts: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// Monday 5 January 2026, 10:00 in Riyadh: the moment these figures are computed for.
    fn monday_at_ten() -> DateTime<Tz> {
        chrono_tz::Asia::Riyadh
            .with_ymd_and_hms(2026, 1, 5, 10, 0, 0)
            .single()
            .expect("valid")
    }

    #[test]
    fn the_last_30_days_are_today_and_the_29_before_it() {
        let periods = Periods::for_today(date(2026, 3, 1));
        assert_eq!(
            periods.last_30_days,
            Days::new(date(2026, 1, 31), date(2026, 3, 2))
        );
        assert_eq!(
            periods.this_month,
            Days::new(date(2026, 3, 1), date(2026, 3, 2))
        );
        assert_eq!(
            periods.last_12_months,
            Days::new(date(2025, 4, 1), date(2026, 4, 1))
        );
    }

    #[test]
    fn halves_cover_the_range_without_overlap() {
        let year = Periods::for_today(date(2026, 1, 5)).last_12_months;
        let (a, b) = year.halves();
        assert_eq!((a.from, a.to, b.to), (year.from, b.from, year.to));
        let single = Days::new(date(2026, 1, 5), date(2026, 1, 6));
        let (a, b) = single.halves();
        assert_eq!(
            (a.from, a.to, b.from, b.to),
            (single.from, single.from, single.from, single.to)
        );
    }

    #[test]
    fn empty_rows_give_zeros_and_full_series() {
        let periods = Periods::for_today(date(2026, 1, 5));
        let now = monday_at_ten();
        let figures = compute(&Rows::default(), &periods, now, "SAR");
        assert_eq!(figures.revenue_today, 0.0);
        assert_eq!(figures.avg_revenue_per_patient_30d, 0.0);
        assert_eq!(figures.avg_revenue_per_appointment_30d, 0.0);
        assert_eq!(figures.returning_share_30d, 0.0);
        assert_eq!(figures.monthly_revenue.len(), 12);
        assert_eq!(figures.monthly_revenue[0].month, "2025-02");
        assert_eq!(figures.monthly_revenue[11].month, "2026-01");
        assert_eq!(figures.patient_mix.len(), 30);
        assert_eq!(figures.patient_mix[29].date, "2026-01-05");
        assert_eq!(figures.as_of, "2026-01-05T10:00:00+03:00");
    }

    #[test]
    fn a_doctor_name_cannot_reorder_the_board_with_bidi_controls() {
        let periods = Periods::for_today(date(2026, 1, 5));
        let now = monday_at_ten();
        let rows = Rows {
            doctors: vec![Doctor {
                id: 1,
                name_ar: "د. \u{202E}علي".into(),
                name_en: Some("Dr. \u{2066}Ali\u{2069}".into()),
            }],
            revenue_by_doctor_30_days: vec![DoctorRevenue {
                doctor_id: 1,
                halalas: 100,
            }],
            ..Rows::default()
        };
        let figures = compute(&rows, &periods, now, "SAR");
        assert_eq!(figures.doctors[0].name_ar, "د. علي");
        assert_eq!(figures.doctors[0].name_en.as_deref(), Some("Dr. Ali"));
        assert_eq!(figures.top_doctors[0].name_ar, "د. علي");
        assert_eq!(figures.top_doctors[0].name_en.as_deref(), Some("Dr. Ali"));
    }

    #[test]
    fn averages_round_to_the_halala_and_top_doctors_skip_unnamed_ones() {
        let periods = Periods::for_today(date(2026, 1, 5));
        let now = monday_at_ten();
        let rows = Rows {
            doctors: vec![Doctor {
                id: 1,
                name_ar: "د. سارة".into(),
                name_en: Some("Dr. Sara".into()),
            }],
            revenue_by_doctor_30_days: vec![
                DoctorRevenue {
                    doctor_id: 1,
                    halalas: 10_000,
                },
                DoctorRevenue {
                    doctor_id: 9,
                    halalas: 99_999,
                },
            ],
            patient_revenue_30_days: PatientRevenue {
                halalas: 10_000,
                patients: 3,
            },
            appointments_30_days: vec![DailyAppointments {
                date: date(2026, 1, 5),
                total: 3,
                new: 1,
                after_registration: 2,
            }],
            ..Rows::default()
        };
        let figures = compute(&rows, &periods, now, "SAR");
        assert_eq!(figures.avg_revenue_per_patient_30d, 33.33);
        assert_eq!(figures.avg_revenue_per_appointment_30d, 33.33);
        assert_eq!(figures.appointments_today, 3);
        assert_eq!(figures.returning_share_30d, 0.6667);
        assert_eq!(figures.top_doctors.len(), 1);
        assert_eq!(figures.top_doctors[0].revenue, 100.0);
        assert_eq!(figures.patient_mix[29].new, 1);
        assert_eq!(figures.patient_mix[29].returning, 2);
    }
}
