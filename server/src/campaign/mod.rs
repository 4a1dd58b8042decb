//! The reactivation campaign, in three steps that the scheduler runs daily and the CLI runs by
//! hand: **select** lapsed patients into a daily batch (a random share held out as a control
//! group), **queue** personal messages to the others through the outbox, staggered, and
//! **track** who of either group booked again within the attribution window. Each step run
//! twice changes nothing the second time.
//!
//! Selection order: lifetime revenue, highest first (then patient id), among patients whose
//! last visit is more than `NABD_CAMPAIGN_LAPSED_DAYS` ago, with nothing booked ahead, a valid
//! mobile not on the do-not-contact list, not staged within the cooldown (by patient or by
//! mobile), and one patient per mobile.

pub mod report;

use crate::config::campaign::CampaignConfig;
use crate::gateway::{ClinicGateway, LapsedPatient, LapsedQuery};
use crate::messaging::exclusions;
use crate::messaging::outbox::{NewMessage, stagger};
use crate::messaging::template::{Bilingual, Template, TemplateError, params_in_order};
use crate::messaging::{Kind, Language, Messaging, RunError};
use crate::platform::phone::{Mobile, Region};
use crate::platform::time::{parse_stamp, stamp};
use chrono::{Datelike, Duration as Span, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// The placeholders a campaign message may use, in the Cloud API template's order.
pub const CAMPAIGN_PLACEHOLDERS: [&str; 3] = ["patient_name", "doctor_name", "months_away"];

/// What the campaign steps share.
#[derive(Clone)]
pub struct Campaign {
    pub messaging: Messaging,
    pub config: Arc<CampaignConfig>,
    pub template: Arc<Bilingual>,
}

impl Campaign {
    /// Builds the campaign over the messaging services; an error names a bad template setting.
    pub fn new(messaging: Messaging, config: CampaignConfig) -> Result<Self, TemplateError> {
        let template = Bilingual {
            ar: Template::parse(
                "NABD_TEMPLATE_CAMPAIGN_AR",
                &config.template_campaign_ar,
                &CAMPAIGN_PLACEHOLDERS,
            )?,
            en: Template::parse(
                "NABD_TEMPLATE_CAMPAIGN_EN",
                &config.template_campaign_en,
                &CAMPAIGN_PLACEHOLDERS,
            )?,
        };
        Ok(Self {
            messaging,
            config: Arc::new(config),
            template: Arc::new(template),
        })
    }
}

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
    let recent: Vec<(i64, String)> = sqlx::query_as(
        "SELECT p.patient_id, p.mobile FROM campaign_patients p
         JOIN campaign_batches b ON b.id = p.batch_id
         WHERE b.batch_day >= ?",
    )
    .bind(since.to_string())
    .fetch_all(db)
    .await?;
    Ok(Exclusions {
        excluded_mobiles: excluded,
        recent_patients: recent.iter().map(|(id, _)| *id).collect(),
        recent_mobiles: recent.into_iter().map(|(_, mobile)| mobile).collect(),
    })
}

/// Step 1: selects today's batch (once per clinic day).
pub async fn select(campaign: &Campaign) -> Result<SelectReport, RunError> {
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
    let batch_id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO campaign_batches (batch_day, selected_at, holdout_share, seed, considered, skipped)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (batch_day) DO NOTHING RETURNING id",
    )
    .bind(today.to_string())
    .bind(&now)
    .bind(f64::from(config.campaign_holdout_percent) / 100.0)
    .bind(i64::try_from(seed).unwrap_or(i64::MAX))
    .bind(i64::from(considered))
    .bind(serde_json::to_string(&skipped).unwrap_or_else(|_| "{}".into()))
    .fetch_optional(&mut *tx)
    .await?;
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
        sqlx::query(
            "INSERT INTO campaign_patients (batch_id, patient_id, name_ar, name_en, mobile,
                 last_visit, last_doctor_id, last_doctor_name, lifetime_halalas, holdout)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(batch_id)
        .bind(chosen.patient.patient_id)
        .bind(&chosen.patient.name_ar)
        .bind(&chosen.patient.name_en)
        .bind(chosen.mobile.e164())
        .bind(chosen.patient.last_visit.to_string())
        .bind(doctor_id)
        .bind(doctor_name)
        .bind(chosen.patient.lifetime_halalas)
        .bind(holdout)
        .execute(&mut *tx)
        .await?;
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
    let row: Option<(i64, i64, i64, String, i64)> = sqlx::query_as(
        "SELECT b.seed, b.considered,
                (SELECT COUNT(*) FROM campaign_patients p WHERE p.batch_id = b.id),
                b.skipped,
                (SELECT COUNT(*) FROM campaign_patients p WHERE p.batch_id = b.id AND p.holdout = 1)
         FROM campaign_batches b WHERE b.batch_day = ?",
    )
    .bind(today.to_string())
    .fetch_optional(campaign.messaging.outbox.db())
    .await?;
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

/// What a queue run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct QueueReport {
    pub queued: u32,
    /// Holdout patients whose would-be contact time was recorded.
    pub held: u32,
    /// Staged patients excluded since they were selected.
    pub excluded: u32,
    /// Staged patients left for a later day by the daily cap.
    pub waiting: u32,
}

impl std::fmt::Display for QueueReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} messages queued, {} control patients recorded, {} excluded since selection, \
             {} waiting for the daily cap",
            self.queued, self.held, self.excluded, self.waiting
        )
    }
}

#[derive(sqlx::FromRow)]
struct StagedRow {
    id: i64,
    name_ar: String,
    name_en: Option<String>,
    mobile: String,
    last_visit: String,
    last_doctor_id: Option<i64>,
    last_doctor_name: Option<String>,
    holdout: bool,
    batch_day: String,
}

/// Step 2: queues a personal message for each staged, non-holdout patient (within the daily
/// cap, staggered) and records the holdout patients' would-be contact time.
pub async fn queue(campaign: &Campaign) -> Result<QueueReport, RunError> {
    let messaging = &campaign.messaging;
    let clock = messaging.outbox.clock();
    let db = messaging.outbox.db();
    let today = clock.today();
    let now = clock.real_now();
    let mut report = QueueReport::default();
    // language=SQL
    let staged: Vec<StagedRow> = sqlx::query_as(
        "SELECT p.id, p.name_ar, p.name_en, p.mobile, p.last_visit, p.last_doctor_id,
                p.last_doctor_name, p.holdout, b.batch_day
         FROM campaign_patients p JOIN campaign_batches b ON b.id = p.batch_id
         WHERE p.state = 'staged' AND b.batch_day <= ?
         ORDER BY b.batch_day, p.lifetime_halalas DESC, p.id",
    )
    .bind(today.to_string())
    .fetch_all(db)
    .await?;
    let already_today = messaging.outbox.count_on_day(Kind::Campaign, today).await?;
    let mut room = i64::from(campaign.config.campaign_daily_cap)
        .saturating_sub(already_today)
        .max(0);
    let doctors = messaging.doctor_names().await?;
    let language = messaging.language;
    let mut messages = Vec::new();
    let mut rows = Vec::new();
    for row in staged {
        if row.holdout {
            // language=SQL
            sqlx::query(
                "UPDATE campaign_patients SET state = 'held', held_at = ? WHERE id = ? AND state = 'staged'",
            )
            .bind(stamp(now))
            .bind(row.id)
            .execute(db)
            .await?;
            report.held += 1;
            continue;
        }
        let Ok(mobile) = Mobile::parse(&row.mobile, messaging.region) else {
            continue;
        };
        if exclusions::is_excluded(db, &mobile, Kind::Campaign).await? {
            // language=SQL
            sqlx::query("UPDATE campaign_patients SET state = 'excluded' WHERE id = ?")
                .bind(row.id)
                .execute(db)
                .await?;
            report.excluded += 1;
            continue;
        }
        if room == 0 {
            report.waiting += 1;
            continue;
        }
        room -= 1;
        let name = match language {
            Language::En => row.name_en.clone().filter(|n| !n.trim().is_empty()),
            Language::Ar => None,
        }
        .unwrap_or_else(|| row.name_ar.clone());
        let doctor = doctors.name(
            row.last_doctor_id.unwrap_or_default(),
            language,
            row.last_doctor_name.as_deref().unwrap_or_default(),
        );
        let last_visit = NaiveDate::parse_from_str(&row.last_visit, "%Y-%m-%d").unwrap_or(today);
        let values = HashMap::from([
            ("patient_name", name.trim().to_owned()),
            ("doctor_name", doctor),
            (
                "months_away",
                app::format::digits(
                    match language {
                        Language::Ar => app::i18n::Locale::ar,
                        Language::En => app::i18n::Locale::en,
                    },
                    &months_away(last_visit, today).to_string(),
                ),
            ),
        ]);
        messages.push(NewMessage {
            kind: Kind::Campaign,
            to: mobile,
            body: campaign.template.get(language).render(&values),
            language,
            template_key: Some("campaign".to_owned()),
            params: params_in_order(&CAMPAIGN_PLACEHOLDERS, &values),
            key: format!("campaign:{}", row.id),
            not_before: now,
            expires_at: None,
            clinic_day: today,
            batch: Some(format!("campaign:{}", row.batch_day)),
        });
        rows.push(row.id);
    }
    let times = stagger(
        now,
        messages.len(),
        &campaign.config.campaign_stagger_seconds,
        &mut rand::rng(),
    );
    for (message, at) in messages.iter_mut().zip(times) {
        message.not_before = at;
    }
    let queued = messaging.outbox.enqueue(&messages).await?;
    for (row_id, done) in rows.iter().zip(&queued) {
        // language=SQL
        sqlx::query(
            "UPDATE campaign_patients SET state = 'queued', message_id = ? WHERE id = ? AND state = 'staged'",
        )
        .bind(done.id)
        .bind(row_id)
        .execute(db)
        .await?;
        report.queued += u32::from(done.new);
    }
    Ok(report)
}

/// What a track run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrackReport {
    /// Contacted or holdout patients whose window is still open or who converted.
    pub watched: u32,
    /// Newly converted this run.
    pub converted: u32,
    /// Converted patients whose revenue since returning was brought up to date.
    pub revenue_updated: u32,
}

impl std::fmt::Display for TrackReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} patients watched, {} newly returned, revenue brought up to date for {}",
            self.watched, self.converted, self.revenue_updated
        )
    }
}

#[derive(sqlx::FromRow)]
struct WatchedRow {
    id: i64,
    patient_id: i64,
    contacted_at: String,
    converted: bool,
}

/// Step 3: marks contacted (sent) and holdout patients who booked after the contact, within the
/// attribution window, as returned, and brings their revenue since returning up to date.
pub async fn track(campaign: &Campaign) -> Result<TrackReport, RunError> {
    let messaging = &campaign.messaging;
    let clock = messaging.outbox.clock();
    let db = messaging.outbox.db();
    let window = Span::days(i64::from(campaign.config.campaign_attribution_days));
    // language=SQL
    let watched: Vec<WatchedRow> = sqlx::query_as(
        "SELECT p.id, p.patient_id,
                COALESCE(m.sent_at, p.held_at) AS contacted_at,
                p.converted_at IS NOT NULL AS converted
         FROM campaign_patients p LEFT JOIN message_outcomes m ON m.message_id = p.message_id
         WHERE (p.state = 'held' AND p.held_at IS NOT NULL)
            OR (p.state = 'queued' AND m.sent AND m.sent_at IS NOT NULL)",
    )
    .fetch_all(db)
    .await?;
    let now = clock.real_now();
    let mut report = TrackReport::default();
    let open: Vec<&WatchedRow> = watched
        .iter()
        .filter(|row| {
            !row.converted && parse_stamp(&row.contacted_at).is_some_and(|at| at + window >= now)
        })
        .collect();
    report.watched = u32::try_from(open.len()).unwrap_or(0);
    let cancelled = messaging.statuses.cancelled.clone();
    if let Some(earliest) = open
        .iter()
        .filter_map(|row| parse_stamp(&row.contacted_at))
        .min()
    {
        let ids: Vec<i64> = open.iter().map(|row| row.patient_id).collect();
        let since = clock.local_at(earliest).naive_local();
        let bookings = messaging
            .clinic
            .bookings_since(&ids, since, &cancelled)
            .await?;
        for row in &open {
            let Some(contact) = parse_stamp(&row.contacted_at) else {
                continue;
            };
            let contact_local = clock.local_at(contact).naive_local();
            let deadline = contact_local + window;
            let Some(booking) = bookings.iter().find(|b| {
                b.patient_id == row.patient_id
                    && b.booked_at
                        .is_some_and(|at| at >= contact_local && at <= deadline)
            }) else {
                continue;
            };
            // language=SQL
            let done = sqlx::query(
                "UPDATE campaign_patients SET converted_at = ?, conversion_appointment_id = ?,
                     conversion_date = ?, conversion_doctor_id = ?, conversion_doctor_name = ?,
                     tracked_at = ?
                 WHERE id = ? AND converted_at IS NULL",
            )
            .bind(
                booking
                    .booked_at
                    .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string()),
            )
            .bind(booking.appointment_id)
            .bind(booking.date.to_string())
            .bind(booking.doctor_id)
            .bind(&booking.doctor_name)
            .bind(stamp(now))
            .bind(row.id)
            .execute(db)
            .await?;
            report.converted += u32::try_from(done.rows_affected()).unwrap_or(0);
        }
    }
    // Revenue since returning, for every returned patient (it grows as they keep coming).
    // language=SQL
    let returned: Vec<(i64, i64, String, Option<i64>)> = sqlx::query_as(
        "SELECT id, patient_id, conversion_date, revenue_since_halalas FROM campaign_patients
         WHERE converted_at IS NOT NULL",
    )
    .fetch_all(db)
    .await?;
    let mut by_date: HashMap<String, Vec<i64>> = HashMap::new();
    for (_, patient_id, date, _) in &returned {
        by_date.entry(date.clone()).or_default().push(*patient_id);
    }
    for (date, ids) in by_date {
        let Ok(from) = NaiveDate::parse_from_str(&date, "%Y-%m-%d") else {
            continue;
        };
        let revenue: HashMap<i64, i64> = messaging
            .clinic
            .revenue_since(&ids, from)
            .await?
            .into_iter()
            .collect();
        for (row_id, patient_id, row_date, current) in &returned {
            if *row_date != date {
                continue;
            }
            let halalas = revenue.get(patient_id).copied().unwrap_or(0);
            if *current != Some(halalas) {
                // language=SQL
                sqlx::query("UPDATE campaign_patients SET revenue_since_halalas = ? WHERE id = ?")
                    .bind(halalas)
                    .bind(row_id)
                    .execute(db)
                    .await?;
                report.revenue_updated += 1;
            }
        }
    }
    Ok(report)
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
