//! Step 1: who is lapsed, and today's batch of them. The rules are plain functions over plain
//! data ([`lapsed_before`], [`choose`], [`holdout`]); [`run`] reads the clinic and the app
//! database around them and stages the batch once per clinic day.

use super::Campaign;
use crate::gateway::{ClinicGateway, LapsedPatient, LapsedQuery};
use crate::messaging::RunError;
use crate::messaging::exclusions;
use crate::platform::phone::{Mobile, Region};
use crate::platform::text::without_bidi_controls;
use crate::platform::time::stamp;
use chrono::{Datelike, Duration as Span, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};

/// Returns the date a last visit must be before for the patient to count as lapsed: a visit
/// exactly `days` days ago is not lapsed, one a day earlier is.
pub fn lapsed_before(today: NaiveDate, days: u32) -> NaiveDate {
    today - Span::days(i64::from(days))
}

/// Why a lapsed patient was left out of a batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Skipped {
    pub no_mobile: u32,
    pub shared_mobile: u32,
    pub excluded: u32,
    pub cooldown: u32,
}

/// A lapsed patient chosen for a batch, with their normalised mobile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chosen {
    pub patient: LapsedPatient,
    pub mobile: Mobile,
}

/// What rules out a patient besides the clinic's data: the do-not-contact list and who the
/// campaign staged within its cooldown.
#[derive(Debug, Default)]
pub struct Exclusions {
    pub excluded_mobiles: HashSet<String>,
    pub recent_patients: HashSet<i64>,
    pub recent_mobiles: HashSet<String>,
}

/// Walks `page` in order and adds to `chosen` every patient the rules allow, until `want` are
/// chosen. `chosen` carries the batch so far (one patient per mobile across pages).
pub fn choose(
    page: Vec<LapsedPatient>,
    rules_out: &Exclusions,
    region: Region,
    want: usize,
    chosen: &mut Vec<Chosen>,
    skipped: &mut Skipped,
) {
    for patient in page {
        if chosen.len() >= want {
            return;
        }
        let Ok(mobile) = Mobile::parse_optional(patient.mobile.as_deref(), region) else {
            skipped.no_mobile += 1;
            continue;
        };
        if rules_out.excluded_mobiles.contains(mobile.e164()) {
            skipped.excluded += 1;
        } else if rules_out.recent_patients.contains(&patient.patient_id)
            || rules_out.recent_mobiles.contains(mobile.e164())
        {
            skipped.cooldown += 1;
        } else if chosen.iter().any(|c| c.mobile == mobile) {
            // Families share a phone: the first (highest revenue) patient speaks for it.
            skipped.shared_mobile += 1;
        } else {
            chosen.push(Chosen { patient, mobile });
        }
    }
}

/// Draws which of `count` patients are held out: `percent` of them, the fraction rounded up
/// or down at random so that small batches hold out the right share on average; who is drawn
/// at random. The same seed gives the same draw.
pub fn holdout(count: usize, percent: u32, seed: u64) -> Vec<bool> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let exact = count as f64 * f64::from(percent) / 100.0;
    let mut held = exact.floor() as usize;
    if rng.random::<f64>() < exact - exact.floor() {
        held += 1;
    }
    let mut flags: Vec<bool> = (0..count).map(|index| index < held).collect();
    flags.shuffle(&mut rng);
    flags
}

/// Whole months between a last visit and today.
pub fn months_away(last_visit: NaiveDate, today: NaiveDate) -> u32 {
    let months = (today.year() - last_visit.year()) * 12 + today.month() as i32
        - last_visit.month() as i32
        - i32::from(today.day() < last_visit.day());
    u32::try_from(months.max(0)).unwrap_or(0)
}

/// What a select run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]

pub struct SelectReport {
    pub batch_day: String,
    /// False when today's batch already existed (nothing changed).
    pub new: bool,
    pub staged: u32,
    pub holdout: u32,
    pub considered: u32,
    pub seed: u64,
    pub skipped: Skipped,
}

impl std::fmt::Display for SelectReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.new {
            "selected"
        } else {
            "already selected"
        };
        write!(
            f,
            "batch {} {what}: {} staged ({} held out as control), {} lapsed patients looked at; \
             left out: {} without a usable mobile, {} sharing a mobile, {} on the \
             do-not-contact list, {} in cooldown (seed {})",
            self.batch_day,
            self.staged,
            self.holdout,
            self.considered,
            self.skipped.no_mobile,
            self.skipped.shared_mobile,
            self.skipped.excluded,
            self.skipped.cooldown,
            self.seed
        )
    }
}

async fn load_exclusions(campaign: &Campaign, today: NaiveDate) -> Result<Exclusions, RunError> {
    let db = campaign.messaging.outbox.db();
    let excluded = exclusions::active_numbers(db).await?;
    let since = today - Span::days(i64::from(campaign.config.campaign_cooldown_days));
    // language=SQL
    let recent: Vec<(i64, String)> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT p.patient_id, p.mobile FROM campaign_patients p
         JOIN campaign_batches b ON b.id = p.batch_id
         WHERE b.batch_day >= $1",
        )
        .bind(since.to_string())
    )?;
    Ok(Exclusions {
        excluded_mobiles: excluded,
        recent_patients: recent.iter().map(|(id, _)| *id).collect(),
        recent_mobiles: recent.into_iter().map(|(_, mobile)| mobile).collect(),
    })
}

/// Step 1: selects today's batch (once per clinic day).
pub async fn run(campaign: &Campaign) -> Result<SelectReport, RunError> {
    let clock = campaign.messaging.outbox.clock();
    let today = clock.today();
    let db = campaign.messaging.outbox.db();
    if let Some(existing) = existing_batch(campaign, today).await? {
        return Ok(existing);
    }
    let config = &campaign.config;
    let statuses = &campaign.messaging.statuses;
    let want = config.campaign_batch_size as usize;
    let rules_out = load_exclusions(campaign, today).await?;
    let page_size = (want * 4).max(200);
    let mut query = LapsedQuery {
        today,
        last_visit_before: lapsed_before(today, config.campaign_lapsed_days),
        not_visits: [statuses.cancelled.clone(), statuses.no_show.clone()].concat(),
        cancelled: statuses.cancelled.clone(),
        limit: page_size as i64,
        offset: 0,
    };
    let mut chosen = Vec::with_capacity(want);
    let mut skipped = Skipped::default();
    while chosen.len() < want {
        let page = campaign.messaging.clinic.lapsed_patients(&query).await?;
        let exhausted = page.len() < page_size;
        choose(
            page,
            &rules_out,
            campaign.messaging.region,
            want,
            &mut chosen,
            &mut skipped,
        );
        if exhausted {
            break;
        }
        query.offset += page_size as i64;
    }
    // Every patient looked at was either chosen or left out for a reason.
    let considered = chosen.len() as u32 + skipped_total(&skipped);
    let ids: Vec<i64> = chosen.iter().map(|c| c.patient.patient_id).collect();
    let last_visits = campaign
        .messaging
        .clinic
        .last_visits(&ids, today, &query.not_visits)
        .await?;
    let doctors: HashMap<i64, (i64, String)> = last_visits
        .into_iter()
        .map(|v| (v.patient_id, (v.doctor_id, v.doctor_name)))
        .collect();
    let seed = config.campaign_seed.map_or_else(
        || rand::rng().random::<u64>() >> 1,
        |seed| seed ^ day_number(today),
    );
    let held = holdout(chosen.len(), config.campaign_holdout_percent, seed);
    let now = stamp(clock.real_now());
    let mut tx = db.begin().await?;
    // language=SQL
    let batch_id: Option<i64> = crate::conn!(tx, fetch_optional, sqlx::query_scalar(
        "INSERT INTO campaign_batches (batch_day, selected_at, holdout_share, seed, considered, skipped)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (batch_day) DO NOTHING RETURNING id",
    )
    .bind(today.to_string())
    .bind(&now)
    .bind(f64::from(config.campaign_holdout_percent) / 100.0)
    .bind(i64::try_from(seed).unwrap_or(i64::MAX))
    .bind(i64::from(considered))
    .bind(serde_json::to_string(&skipped).unwrap_or_else(|_| "{}".into())))?;
    let Some(batch_id) = batch_id else {
        // Another run selected today's batch meanwhile.
        drop(tx);
        return existing_batch(campaign, today)
            .await
            .map(Option::unwrap_or_default);
    };
    for (chosen, holdout) in chosen.iter().zip(&held) {
        let (doctor_id, doctor_name) = doctors
            .get(&chosen.patient.patient_id)
            .cloned()
            .map_or((None, None), |(id, name)| (Some(id), Some(name)));
        // language=SQL
        crate::conn!(
            tx,
            execute,
            sqlx::query(
                "INSERT INTO campaign_patients (batch_id, patient_id, name_ar, name_en, mobile,
                 last_visit, last_doctor_id, last_doctor_name, lifetime_halalas, holdout)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(batch_id)
            .bind(chosen.patient.patient_id)
            // Names are shown on the report page: no bidi control from the PMS may reorder it.
            .bind(without_bidi_controls(&chosen.patient.name_ar))
            .bind(chosen.patient.name_en.as_deref().map(without_bidi_controls))
            .bind(chosen.mobile.e164())
            .bind(chosen.patient.last_visit.to_string())
            .bind(doctor_id)
            .bind(doctor_name.as_deref().map(without_bidi_controls))
            .bind(chosen.patient.lifetime_halalas)
            .bind(i64::from(*holdout))
        )?;
    }
    tx.commit().await?;
    Ok(SelectReport {
        batch_day: today.to_string(),
        new: true,
        staged: chosen.len() as u32,
        holdout: held.iter().filter(|h| **h).count() as u32,
        considered,
        seed,
        skipped,
    })
}

fn skipped_total(skipped: &Skipped) -> u32 {
    skipped.no_mobile + skipped.shared_mobile + skipped.excluded + skipped.cooldown
}

fn day_number(day: NaiveDate) -> u64 {
    u64::try_from(day.num_days_from_ce()).unwrap_or(0)
}

async fn existing_batch(
    campaign: &Campaign,
    today: NaiveDate,
) -> Result<Option<SelectReport>, RunError> {
    // language=SQL
    let row: Option<(i64, i64, i64, String, i64)> = crate::db!(
        campaign.messaging.outbox.db(),
        fetch_optional,
        sqlx::query_as(
            "SELECT b.seed, b.considered,
                (SELECT COUNT(*) FROM campaign_patients p WHERE p.batch_id = b.id),
                b.skipped,
                (SELECT COUNT(*) FROM campaign_patients p WHERE p.batch_id = b.id AND p.holdout = 1)
         FROM campaign_batches b WHERE b.batch_day = $1",
        )
        .bind(today.to_string())
    )?;
    Ok(
        row.map(|(seed, considered, staged, skipped, held)| SelectReport {
            batch_day: today.to_string(),
            new: false,
            staged: u32::try_from(staged).unwrap_or(0),
            holdout: u32::try_from(held).unwrap_or(0),
            considered: u32::try_from(considered).unwrap_or(0),
            seed: u64::try_from(seed).unwrap_or(0),
            skipped: serde_json::from_str(&skipped).unwrap_or_default(),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid")
    }

    fn lapsed(id: i64, mobile: Option<&str>) -> LapsedPatient {
        LapsedPatient {
            patient_id: id,
            name_ar: format!("مريض {id}"),
            name_en: None,
            mobile: mobile.map(str::to_owned),
            last_visit: date(2024, 6, 1),
            lifetime_halalas: 1000 - id,
        }
    }

    fn run(page: Vec<LapsedPatient>, rules_out: &Exclusions, want: usize) -> (Vec<i64>, Skipped) {
        let mut chosen = Vec::new();
        let mut skipped = Skipped::default();
        choose(
            page,
            rules_out,
            Region::default(),
            want,
            &mut chosen,
            &mut skipped,
        );
        (
            chosen.iter().map(|c| c.patient.patient_id).collect(),
            skipped,
        )
    }

    #[test]
    fn the_lapsed_line_is_exactly_the_configured_number_of_days() {
        let today = date(2026, 1, 5);
        assert_eq!(lapsed_before(today, 365), date(2025, 1, 5));
        // last visit 2025-01-05 is not before the line (365 days ago): not lapsed;
        // 2025-01-04 is.
        assert!(date(2025, 1, 4) < lapsed_before(today, 365));
        assert!(date(2025, 1, 5) >= lapsed_before(today, 365));
    }

    #[test]
    fn one_patient_per_shared_mobile_and_none_without_a_usable_one() {
        let page = vec![
            lapsed(1, Some("0501111111")),
            lapsed(2, Some("+966 50 111 1111")), // the same phone, another family member
            lapsed(3, None),
            lapsed(4, Some("12")),
            lapsed(5, Some("0502222222")),
        ];
        let (ids, skipped) = run(page, &Exclusions::default(), 10);
        assert_eq!(ids, [1, 5]);
        assert_eq!(
            skipped,
            Skipped {
                no_mobile: 2,
                shared_mobile: 1,
                excluded: 0,
                cooldown: 0
            }
        );
    }

    #[test]
    fn the_exclusion_list_and_the_cooldown_leave_patients_out() {
        let rules_out = Exclusions {
            excluded_mobiles: HashSet::from(["+966501111111".to_owned()]),
            recent_patients: HashSet::from([2]),
            recent_mobiles: HashSet::from(["+966503333333".to_owned()]),
        };
        let page = vec![
            lapsed(1, Some("0501111111")),
            lapsed(2, Some("0502222222")),
            lapsed(3, Some("0503333333")),
            lapsed(4, Some("0504444444")),
        ];
        let (ids, skipped) = run(page, &rules_out, 10);
        assert_eq!(ids, [4]);
        assert_eq!((skipped.excluded, skipped.cooldown), (1, 2));
    }

    #[test]
    fn a_batch_stops_at_its_size_in_the_order_given() {
        let page = (1..=10)
            .map(|id| lapsed(id, Some(&format!("05000000{id:02}"))))
            .collect();
        let (ids, _) = run(page, &Exclusions::default(), 3);
        assert_eq!(ids, [1, 2, 3]);
    }

    #[test]
    fn the_holdout_share_holds_over_many_batches_and_a_seed_repeats_its_draw() {
        let mut held = 0;
        let mut total = 0;
        for seed in 0..2000 {
            let flags = holdout(7, 10, seed);
            held += flags.iter().filter(|h| **h).count();
            total += flags.len();
        }
        let share = held as f64 / total as f64;
        assert!((share - 0.10).abs() < 0.01, "share {share}");
        assert_eq!(holdout(50, 10, 42), holdout(50, 10, 42));
        assert_eq!(holdout(50, 10, 42).iter().filter(|h| **h).count(), 5);
        assert_ne!(holdout(50, 10, 42), holdout(50, 10, 43));
        assert!(holdout(50, 0, 1).iter().all(|h| !h));
    }

    #[test]
    fn months_away_counts_whole_months() {
        assert_eq!(months_away(date(2024, 6, 15), date(2026, 1, 5)), 18);
        assert_eq!(months_away(date(2024, 6, 5), date(2026, 1, 5)), 19);
        assert_eq!(months_away(date(2026, 1, 5), date(2026, 1, 5)), 0);
    }
}
