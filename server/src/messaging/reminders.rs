//! Appointment reminders: who gets one (the original system's rules, all configurable) and the
//! run that the scheduler starts every 15 minutes and `nabd reminders send` starts by hand.
//!
//! An appointment today that is unconfirmed or confirmed gets one reminder, once it starts
//! within its status's window (confirmed 120 min, unconfirmed 240 min), unless it was booked
//! less than 120 minutes before it starts or its mobile is missing or invalid. Each has its
//! own template; the outbox key `reminder:<appointment id>` makes it one per appointment.

use crate::gateway::{BookedAppointment, ClinicGateway, StatusCodes};
use crate::messaging::kind::Kind;
use crate::messaging::outbox::NewMessage;
use crate::messaging::template::{REMINDER_PLACEHOLDERS, clock_time, long_date, params_in_order};
use crate::messaging::{Messaging, RunError, RunReport};
use crate::platform::phone::{Mobile, MobileError, Region};
use chrono::{Duration as Span, NaiveDateTime};
use std::collections::HashMap;

/// The reminder rules' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRules {
    pub confirmed_window: Span,
    pub unconfirmed_window: Span,
    pub min_notice: Span,
}

impl ReminderRules {
    /// Reads the rules from the messaging settings.
    pub fn from_config(config: &crate::config::messaging::MessagingConfig) -> Self {
        Self {
            confirmed_window: Span::minutes(i64::from(config.reminder_confirmed_minutes)),
            unconfirmed_window: Span::minutes(i64::from(config.reminder_unconfirmed_minutes)),
            min_notice: Span::minutes(i64::from(config.reminder_min_notice_minutes)),
        }
    }
}

/// What the rules say about one appointment at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Remind now, with the confirmed or the unconfirmed template.
    Remind { confirmed: bool, to: Mobile },
    /// Its status is neither unconfirmed nor confirmed (attended, cancelled, no-show...).
    NotAwaited,
    /// It starts later than its window.
    NotYet,
    /// It has started.
    Started,
    /// It was booked too shortly before it starts.
    ShortNotice,
    /// Its mobile is missing or invalid.
    NoMobile(MobileError),
}

/// Applies the reminder rules to `appointment` at clinic-local `now`.
pub fn decide(
    appointment: &BookedAppointment,
    now: NaiveDateTime,
    rules: &ReminderRules,
    statuses: &StatusCodes,
    region: Region,
) -> Decision {
    let confirmed = if statuses.confirmed.contains(&appointment.status) {
        true
    } else if statuses.unconfirmed.contains(&appointment.status) {
        false
    } else {
        return Decision::NotAwaited;
    };
    let starts = appointment.date.and_time(appointment.starts);
    if now >= starts {
        return Decision::Started;
    }
    let window = if confirmed {
        rules.confirmed_window
    } else {
        rules.unconfirmed_window
    };
    if starts - now > window {
        return Decision::NotYet;
    }
    if appointment
        .booked_at
        .is_some_and(|booked| starts - booked < rules.min_notice)
    {
        return Decision::ShortNotice;
    }
    match Mobile::parse_optional(appointment.mobile.as_deref(), region) {
        Ok(to) => Decision::Remind { confirmed, to },
        Err(error) => Decision::NoMobile(error),
    }
}

/// Finds today's appointments due a reminder and queues their messages, staggered; with
/// `dry_run`, only reports what would be queued.
pub async fn run(messaging: &Messaging, dry_run: bool) -> Result<RunReport, RunError> {
    let clock = messaging.outbox.clock();
    let now = clock.now();
    let today = now.date_naive();
    let appointments = messaging.clinic.appointments_on(today).await?;
    let doctors = messaging.doctor_names().await?;
    let rules = ReminderRules::from_config(messaging.outbox.config());
    let mut report = RunReport::default();
    let mut messages = Vec::new();
    for appointment in &appointments {
        let decision = decide(
            appointment,
            now.naive_local(),
            &rules,
            &messaging.statuses,
            messaging.region,
        );
        let (confirmed, to) = match decision {
            Decision::Remind { confirmed, to } => (confirmed, to),
            Decision::NoMobile(error) => {
                tracing::info!(
                    appointment = appointment.id,
                    reason = %error,
                    "no reminder: the appointment's mobile cannot be messaged"
                );
                report.skipped_no_mobile += 1;
                continue;
            }
            _ => continue,
        };
        let language = messaging.language;
        let doctor = doctors.name(appointment.doctor_id, language, &appointment.doctor_name);
        let values = HashMap::from([
            ("patient_name", appointment.patient_name.trim().to_owned()),
            ("appointment_date", long_date(language, appointment.date)),
            ("appointment_time", clock_time(language, appointment.starts)),
            ("doctor_name", doctor),
        ]);
        let (template, key) = if confirmed {
            (
                &messaging.templates.reminder_confirmed,
                "reminder_confirmed",
            )
        } else {
            (
                &messaging.templates.reminder_unconfirmed,
                "reminder_unconfirmed",
            )
        };
        let starts = clock.real_instant_of(
            now.timezone()
                .from_local_datetime(&appointment.date.and_time(appointment.starts))
                .earliest()
                .unwrap_or(now),
        );
        messages.push(NewMessage {
            kind: Kind::Reminder,
            to,
            body: template.get(language).render(&values),
            language,
            template_key: Some(key.to_owned()),
            params: params_in_order(&REMINDER_PLACEHOLDERS, &values),
            key: format!("reminder:{}", appointment.id),
            not_before: clock.real_now(),
            expires_at: Some(starts),
            clinic_day: today,
            batch: None,
        });
    }
    messaging.queue(messages, dry_run, &mut report).await?;
    Ok(report)
}

use chrono::TimeZone;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::phone::MobileError;
    use chrono::{NaiveDate, NaiveTime};

    fn at(hour: u32, minute: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(hour, minute, 0))
            .expect("valid")
    }

    fn appointment(status: i64, starts: (u32, u32), booked: NaiveDateTime) -> BookedAppointment {
        BookedAppointment {
            id: 1,
            patient_id: 7,
            patient_name: "سارة".into(),
            mobile: Some("0501234567".into()),
            doctor_id: 2,
            doctor_name: "د. علي".into(),
            date: at(0, 0).date(),
            starts: NaiveTime::from_hms_opt(starts.0, starts.1, 0).expect("valid"),
            ends: None,
            status,
            booked_at: Some(booked),
        }
    }

    fn rules() -> ReminderRules {
        ReminderRules {
            confirmed_window: Span::minutes(120),
            unconfirmed_window: Span::minutes(240),
            min_notice: Span::minutes(120),
        }
    }

    fn decide_at(appointment: &BookedAppointment, now: NaiveDateTime) -> Decision {
        decide(
            appointment,
            now,
            &rules(),
            &StatusCodes::default(),
            Region::default(),
        )
    }

    fn remind(confirmed: bool) -> Decision {
        Decision::Remind {
            confirmed,
            to: Mobile::parse("+966501234567", Region::default()).expect("valid"),
        }
    }

    #[test]
    fn a_confirmed_appointment_is_reminded_from_two_hours_before_it_starts() {
        let confirmed = appointment(1, (16, 0), at(8, 0));
        assert_eq!(decide_at(&confirmed, at(13, 59)), Decision::NotYet);
        assert_eq!(decide_at(&confirmed, at(14, 0)), remind(true));
        assert_eq!(decide_at(&confirmed, at(15, 59)), remind(true));
        assert_eq!(decide_at(&confirmed, at(16, 0)), Decision::Started);
    }

    #[test]
    fn an_unconfirmed_appointment_is_reminded_from_four_hours_before() {
        let unconfirmed = appointment(0, (16, 0), at(8, 0));
        assert_eq!(decide_at(&unconfirmed, at(11, 59)), Decision::NotYet);
        assert_eq!(decide_at(&unconfirmed, at(12, 0)), remind(false));
    }

    #[test]
    fn other_statuses_get_no_reminder() {
        for status in [2, 3, 4, 9] {
            let other = appointment(status, (16, 0), at(8, 0));
            assert_eq!(
                decide_at(&other, at(15, 0)),
                Decision::NotAwaited,
                "{status}"
            );
        }
    }

    #[test]
    fn an_appointment_booked_less_than_two_hours_ahead_gets_none() {
        let late_booking = appointment(1, (16, 0), at(14, 1));
        assert_eq!(decide_at(&late_booking, at(15, 0)), Decision::ShortNotice);
        let just_in_time = appointment(1, (16, 0), at(14, 0));
        assert_eq!(decide_at(&just_in_time, at(15, 0)), remind(true));
    }

    #[test]
    fn a_missing_or_invalid_mobile_is_skipped_with_the_reason() {
        let mut missing = appointment(1, (16, 0), at(8, 0));
        missing.mobile = None;
        assert_eq!(
            decide_at(&missing, at(15, 0)),
            Decision::NoMobile(MobileError::Missing)
        );
        missing.mobile = Some("05-12".into());
        assert_eq!(
            decide_at(&missing, at(15, 0)),
            Decision::NoMobile(MobileError::Invalid)
        );
    }
}
