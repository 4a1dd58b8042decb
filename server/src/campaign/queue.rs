//! Step 2: a personal message for each staged patient outside the holdout, within the daily
//! cap, staggered through the outbox; the holdout patients get their would-be contact time.

use super::select::months_away;
use super::{CAMPAIGN_PLACEHOLDERS, Campaign};
use crate::messaging::exclusions;
use crate::messaging::outbox::{NewMessage, stagger};
use crate::messaging::template::params_in_order;
use crate::messaging::{Kind, Language, RunError};
use crate::platform::phone::Mobile;
use crate::platform::time::stamp;
use chrono::NaiveDate;
use std::collections::HashMap;

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
pub async fn run(campaign: &Campaign) -> Result<QueueReport, RunError> {
    let messaging = &campaign.messaging;
    let clock = messaging.outbox.clock();
    let db = messaging.outbox.db();
    let today = clock.today();
    let now = clock.real_now();
    let mut report = QueueReport::default();
    // language=SQL
    let staged: Vec<StagedRow> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT p.id, p.name_ar, p.name_en, p.mobile, p.last_visit, p.last_doctor_id,
                p.last_doctor_name, p.holdout = 1 AS holdout, b.batch_day
         FROM campaign_patients p JOIN campaign_batches b ON b.id = p.batch_id
         WHERE p.state = 'staged' AND b.batch_day <= $1
         ORDER BY b.batch_day, p.lifetime_halalas DESC, p.id",
        )
        .bind(today.to_string())
    )?;
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
            crate::db!(db, execute, sqlx::query(
                "UPDATE campaign_patients SET state = 'held', held_at = $1 WHERE id = $2 AND state = 'staged'",
            )
            .bind(stamp(now))
            .bind(row.id))?;
            report.held += 1;
            continue;
        }
        let Ok(mobile) = Mobile::parse(&row.mobile, messaging.region) else {
            continue;
        };
        if exclusions::is_excluded(db, &mobile, Kind::Campaign).await? {
            // language=SQL
            crate::db!(
                db,
                execute,
                sqlx::query("UPDATE campaign_patients SET state = 'excluded' WHERE id = $1")
                    .bind(row.id)
            )?;
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
            appointment_id: None,
            touch: None,
            campaign_patient_id: Some(row.id),
            broadcast_id: None,
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
        crate::db!(db, execute, sqlx::query(
            "UPDATE campaign_patients SET state = 'queued', message_id = $1 WHERE id = $2 AND state = 'staged'",
        )
        .bind(done.id)
        .bind(row_id))?;
        report.queued += u32::from(done.new);
    }
    Ok(report)
}
