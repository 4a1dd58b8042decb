//! Step 3: who came back. Contacted (sent) and holdout patients who booked after their contact,
//! within the attribution window, are marked returned, and their revenue since is kept up to
//! date.

use super::Campaign;
use crate::gateway::ClinicGateway;
use crate::messaging::RunError;
use crate::platform::text::without_bidi_controls;
use crate::platform::time::{parse_stamp, stamp};
use chrono::{Duration as Span, NaiveDate};
use std::collections::HashMap;

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
pub async fn run(campaign: &Campaign) -> Result<TrackReport, RunError> {
    let messaging = &campaign.messaging;
    let clock = messaging.outbox.clock();
    let db = messaging.outbox.db();
    let window = Span::days(i64::from(campaign.config.campaign_attribution_days));
    // language=SQL
    let watched: Vec<WatchedRow> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT p.id, p.patient_id,
                COALESCE(m.sent_at, p.held_at) AS contacted_at,
                p.converted_at IS NOT NULL AS converted
         FROM campaign_patients p LEFT JOIN message_outcomes m ON m.message_id = p.message_id
         WHERE (p.state = 'held' AND p.held_at IS NOT NULL)
            OR (p.state = 'queued' AND m.sent = 1 AND m.sent_at IS NOT NULL)",
        )
    )?;
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
            let done = crate::db!(db, execute, sqlx::query(
                "UPDATE campaign_patients SET converted_at = $1, conversion_appointment_id = $2,
                     conversion_date = $3, conversion_doctor_id = $4, conversion_doctor_name = $5,
                     tracked_at = $6
                 WHERE id = $7 AND converted_at IS NULL",
            )
            .bind(
                booking
                    .booked_at
                    .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string()),
            )
            .bind(booking.appointment_id)
            .bind(booking.date.to_string())
            .bind(booking.doctor_id)
            .bind(without_bidi_controls(&booking.doctor_name))
            .bind(stamp(now))
            .bind(row.id))?;
            report.converted += u32::try_from(done).unwrap_or(0);
        }
    }
    // Revenue since returning, for every returned patient (it grows as they keep coming).
    // language=SQL
    let returned: Vec<(i64, i64, String, Option<i64>)> =
        crate::db!(db, fetch_all, sqlx::query_as(
        "SELECT id, patient_id, conversion_date, revenue_since_halalas FROM campaign_patients
         WHERE converted_at IS NOT NULL",
    ))?;
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
                crate::db!(
                    db,
                    execute,
                    sqlx::query(
                        "UPDATE campaign_patients SET revenue_since_halalas = $1 WHERE id = $2"
                    )
                    .bind(halalas)
                    .bind(row_id)
                )?;
                report.revenue_updated += 1;
            }
        }
    }
    Ok(report)
}
