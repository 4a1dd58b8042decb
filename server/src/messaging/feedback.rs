//! Post-visit feedback requests: visits that ended (`to_tm` set) between one and two hours ago
//! get the feedback template with the clinic's review link; one per appointment, none to a
//! mobile that received one within the cooldown (default 120 days), one per mobile per run.
//! The scheduler runs it hourly; `nabd feedback send` runs it by hand.

use crate::gateway::{BookedAppointment, ClinicGateway, StatusCodes};
use crate::messaging::kind::Kind;
use crate::messaging::outbox::NewMessage;
use crate::messaging::template::{FEEDBACK_PLACEHOLDERS, params_in_order};
use crate::messaging::{Messaging, Pace, RunError, RunReport, patient_name};
use crate::platform::phone::{Mobile, MobileError, Region};
use chrono::{Duration as Span, NaiveDateTime};
use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

/// What the rules say about one appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Ask this mobile for feedback.
    Ask(Mobile),
    /// The visit has not ended, ended too recently or too long ago, or was cancelled.
    NotDue,
    /// Its mobile is missing or invalid.
    NoMobile(MobileError),
}

/// Applies the feedback rules to `appointment` at clinic-local `now`: its visit ended between
/// `after.start()` and `after.end()` minutes ago.
pub fn decide(
    appointment: &BookedAppointment,
    now: NaiveDateTime,
    after: &RangeInclusive<u32>,
    statuses: &StatusCodes,
    region: Region,
) -> Decision {
    let Some(ends) = appointment.ends else {
        return Decision::NotDue;
    };
    if statuses.cancelled.contains(&appointment.status)
        || statuses.no_show.contains(&appointment.status)
    {
        return Decision::NotDue;
    }
    let ended = appointment.date.and_time(ends);
    let ago = now - ended;
    if ago < Span::minutes(i64::from(*after.start()))
        || ago > Span::minutes(i64::from(*after.end()))
    {
        return Decision::NotDue;
    }
    match Mobile::parse_optional(appointment.mobile.as_deref(), region) {
        Ok(to) => Decision::Ask(to),
        Err(error) => Decision::NoMobile(error),
    }
}

/// Finds visits due a feedback request and queues the messages, staggered; with `dry_run`, only
/// reports what would be queued.
pub async fn run(messaging: &Messaging, dry_run: bool) -> Result<RunReport, RunError> {
    let clock = messaging.outbox.clock();
    let config = messaging.outbox.config();
    let now = clock.now();
    let local = now.naive_local();
    let today = local.date();
    let mut appointments = messaging.clinic.appointments_on(today).await?;
    // Shortly after midnight, the window reaches back into yesterday.
    let earliest = local - Span::minutes(i64::from(*config.feedback_after_minutes.end()));
    if earliest.date() < today {
        appointments.extend(messaging.clinic.appointments_on(earliest.date()).await?);
    }
    let doctors = messaging.doctor_names().await?;
    let cooldown_since = clock.real_now() - Span::days(i64::from(config.feedback_cooldown_days));
    let mut report = RunReport::default();
    let mut messages = Vec::new();
    let mut mobiles_this_run = HashSet::new();
    for appointment in &appointments {
        let to = match decide(
            appointment,
            local,
            &config.feedback_after_minutes,
            &messaging.statuses,
            messaging.region,
        ) {
            Decision::Ask(to) => to,
            Decision::NoMobile(error) => {
                tracing::info!(
                    appointment = appointment.id,
                    reason = %error,
                    "no feedback request: the appointment's mobile cannot be messaged"
                );
                report.skipped_no_mobile += 1;
                continue;
            }
            Decision::NotDue => continue,
        };
        let key = format!("feedback:{}", appointment.id);
        if asked_recently(messaging, &to, &key, cooldown_since).await?
            || !mobiles_this_run.insert(to.clone())
        {
            report.skipped_cooldown += 1;
            continue;
        }
        let language = messaging.language;
        let values = HashMap::from([
            ("patient_name", patient_name(appointment, language)),
            (
                "doctor_name",
                doctors.name(appointment.doctor_id, language, &appointment.doctor_name),
            ),
            ("feedback_link", config.feedback_link.clone()),
        ]);
        messages.push(NewMessage {
            kind: Kind::Feedback,
            to,
            body: messaging.templates.feedback.get(language).render(&values),
            language,
            template_key: Some("feedback".to_owned()),
            params: params_in_order(&FEEDBACK_PLACEHOLDERS, &values),
            key,
            not_before: clock.real_now(),
            expires_at: None,
            clinic_day: today,
            batch: None,
            appointment_id: Some(appointment.id),
            touch: None,
            campaign_patient_id: None,
            broadcast_id: None,
        });
    }
    messaging
        .queue(messages, Pace::Stagger, dry_run, &mut report)
        .await?;
    Ok(report)
}

/// Tells whether `to` was sent (or has queued) a feedback request since `since`, other than
/// the one keyed `key`.
async fn asked_recently(
    messaging: &Messaging,
    to: &Mobile,
    key: &str,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<bool, sqlx::Error> {
    messaging
        .outbox
        .asked_since(Kind::Feedback, to, key, since)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};

    fn at(hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(hour, minute, 0))
            .expect("valid")
    }

    fn visit(status: i64, ends: Option<(u32, u32)>) -> BookedAppointment {
        BookedAppointment {
            id: 3,
            patient_id: 9,
            patient_name: "Omar".into(),
            patient_name_en: None,
            mobile: Some("0551234567".into()),
            doctor_id: 2,
            doctor_name: "د. علي".into(),
            date: at(0, 0).date(),
            starts: NaiveTime::from_hms_opt(9, 0, 0).expect("valid"),
            ends: ends.and_then(|(h, m)| NaiveTime::from_hms_opt(h, m, 0)),
            status,
            booked_at: None,
        }
    }

    fn decide_at(appointment: &BookedAppointment, now: NaiveDateTime) -> Decision {
        decide(
            appointment,
            now,
            &(60..=120),
            &StatusCodes::default(),
            Region::default(),
        )
    }

    #[test]
    fn a_visit_is_followed_up_between_one_and_two_hours_after_it_ended() {
        let visit = visit(2, Some((10, 0)));
        let to = Mobile::parse("0551234567", Region::default()).expect("valid");
        assert_eq!(decide_at(&visit, at(10, 59)), Decision::NotDue);
        assert_eq!(decide_at(&visit, at(11, 0)), Decision::Ask(to.clone()));
        assert_eq!(decide_at(&visit, at(12, 0)), Decision::Ask(to));
        assert_eq!(decide_at(&visit, at(12, 1)), Decision::NotDue);
    }

    #[test]
    fn a_visit_that_has_not_ended_or_was_cancelled_gets_no_request() {
        assert_eq!(decide_at(&visit(1, None), at(12, 0)), Decision::NotDue);
        assert_eq!(
            decide_at(&visit(3, Some((10, 0))), at(11, 30)),
            Decision::NotDue
        );
        assert_eq!(
            decide_at(&visit(4, Some((10, 0))), at(11, 30)),
            Decision::NotDue
        );
    }

    #[test]
    fn a_visit_without_a_usable_mobile_is_skipped() {
        let mut visit = visit(2, Some((10, 0)));
        visit.mobile = Some("  ".into());
        assert_eq!(
            decide_at(&visit, at(11, 30)),
            Decision::NoMobile(MobileError::Missing)
        );
    }
}
