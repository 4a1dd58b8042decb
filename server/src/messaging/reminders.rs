//! Appointment reminders: who gets one, when, and whether it is still true when it goes. The
//! scheduler runs [`run`] every 15 minutes; `nabd reminders send [--touch ...]` runs it by hand.
//!
//! An appointment that is unconfirmed or confirmed gets up to two reminders, one per touch
//! (`NABD_REMINDER_TOUCHES`):
//!
//! - **day before** (`day_before`): tomorrow's appointments, in the evening slot
//!   (`NABD_REMINDER_DAY_BEFORE_HOURS`, 18:00-20:00, within the reminders' sending hours),
//!   spread across what is left of the slot with random gaps so that a full day fits; one not
//!   sent by the slot's end is dropped as `expired`;
//! - **same day** (`same_day`): once it starts within its status's window (confirmed 120 min,
//!   unconfirmed 240 min).
//!
//! Neither goes to an appointment booked less than `NABD_REMINDER_MIN_NOTICE_MINUTES` before
//! it starts, nor to a missing or invalid mobile. A confirmed appointment gets the confirmed
//! template, and so does one whose patient confirmed by reply (their newest yes-or-no reply
//! says yes), although the PMS still says unconfirmed. The outbox key names the touch and everything the send-time re-check compares,
//! `reminder:<touch>:<id>:<date>T<time>:<doctor>:<mobile digits>`, so there is at most one
//! reminder per touch for each version of an appointment. Just before one is handed to the
//! provider the appointment is read again ([`still_true`]): cancelled, no-show, attended, gone,
//! or moved to another day, time, doctor or mobile, it is skipped as `appointment_changed`, and
//! the next run decides afresh on the new data. A same-day reminder sent under the key of
//! earlier releases (`reminder:<id>`) counts as that appointment's same-day reminder.

use crate::config::messaging::SendingHours;
use crate::gateway::{BookedAppointment, ClinicGateway, StatusCodes};
use crate::messaging::kind::{Kind, Touch};
use crate::messaging::outbox::NewMessage;
use crate::messaging::template::{REMINDER_PLACEHOLDERS, clock_time, long_date, params_in_order};
use crate::messaging::{Messaging, Pace, RunError, RunReport, patient_name};
use crate::platform::phone::{Mobile, MobileError, Region};
use chrono::{Duration as Span, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use std::collections::HashMap;

/// The reminder rules' settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderRules {
    pub confirmed_window: Span,
    pub unconfirmed_window: Span,
    pub min_notice: Span,
    /// The day-before touch's evening slot, already narrowed to the reminders' sending hours.
    pub day_before_slot: SendingHours,
}

impl ReminderRules {
    /// Reads the rules from the messaging settings.
    pub fn from_config(config: &crate::config::messaging::MessagingConfig) -> Self {
        let slot = config.reminder_day_before_hours;
        let open = config.sending_hours_reminders;
        Self {
            confirmed_window: Span::minutes(i64::from(config.reminder_confirmed_minutes)),
            unconfirmed_window: Span::minutes(i64::from(config.reminder_unconfirmed_minutes)),
            min_notice: Span::minutes(i64::from(config.reminder_min_notice_minutes)),
            day_before_slot: SendingHours {
                start: slot.start.max(open.start),
                end: slot.end.min(open.end),
            },
        }
    }
}

/// What the rules say about one appointment, for one touch, at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Remind, with the confirmed or the unconfirmed template.
    Remind { confirmed: bool, to: Mobile },
    /// Its status is neither unconfirmed nor confirmed (attended, cancelled, no-show...).
    NotAwaited,
    /// Not this touch's day, or it starts later than its window.
    NotYet,
    /// It has started, or this touch's slot is over for today.
    Started,
    /// It was booked too shortly before it starts.
    ShortNotice,
    /// Its mobile is missing or invalid.
    NoMobile(MobileError),
}

/// Applies the reminder rules of `touch` to `appointment` at clinic-local `now`.
pub fn decide(
    touch: Touch,
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
    match touch {
        Touch::SameDay => {
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
        }
        Touch::DayBefore => {
            if now.date().succ_opt() != Some(appointment.date) {
                return Decision::NotYet;
            }
            if now.time() >= rules.day_before_slot.end {
                return Decision::Started;
            }
        }
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

/// Returns the outbox key of `touch`'s reminder for this version of `appointment` sent to
/// `to`: everything the send-time re-check compares is in it.
pub fn key(touch: Touch, appointment: &BookedAppointment, to: &Mobile) -> String {
    format!(
        "reminder:{touch}:{}:{}T{}:{}:{}",
        appointment.id,
        appointment.date.format("%Y-%m-%d"),
        appointment.starts.format("%H:%M"),
        appointment.doctor_id,
        to.digits()
    )
}

/// Returns the key earlier releases gave an appointment's (same-day) reminder.
pub fn legacy_key(appointment_id: i64) -> String {
    format!("reminder:{appointment_id}")
}

/// Tells whether the reminder queued as `queued_key` is still true of the appointment as the
/// PMS holds it now (`None`: deleted): awaited still, and on the same day, at the same time,
/// with the same doctor and mobile.
pub fn still_true(
    touch: Touch,
    queued_key: &str,
    now: Option<&BookedAppointment>,
    statuses: &StatusCodes,
    region: Region,
) -> bool {
    let Some(appointment) = now else {
        return false;
    };
    let awaited = statuses.confirmed.contains(&appointment.status)
        || statuses.unconfirmed.contains(&appointment.status);
    awaited
        && Mobile::parse_optional(appointment.mobile.as_deref(), region)
            .is_ok_and(|to| key(touch, appointment, &to) == queued_key)
}

/// Which touches a run sends: `All` configured ones, or one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Touches {
    #[default]
    All,
    DayBefore,
    SameDay,
}

impl Touches {
    fn includes(self, touch: Touch) -> bool {
        match self {
            Self::All => true,
            Self::DayBefore => touch == Touch::DayBefore,
            Self::SameDay => touch == Touch::SameDay,
        }
    }
}

/// Finds the appointments due a reminder of each configured touch in `which` and queues their
/// messages; with `dry_run`, only reports what would be queued.
pub async fn run(
    messaging: &Messaging,
    which: Touches,
    dry_run: bool,
) -> Result<RunReport, RunError> {
    let mut report = RunReport::default();
    for touch in Touch::ALL {
        if which.includes(touch) && messaging.outbox.config().reminder_touches.contains(&touch) {
            run_touch(messaging, touch, dry_run, &mut report).await?;
        }
    }
    Ok(report)
}

async fn run_touch(
    messaging: &Messaging,
    touch: Touch,
    dry_run: bool,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let clock = messaging.outbox.clock();
    let now = clock.now();
    let today = now.date_naive();
    let rules = ReminderRules::from_config(messaging.outbox.config());
    // A clinic-local day and time as the real instant timers and expiries are kept in.
    let real_at = |day: NaiveDate, time: NaiveTime| {
        let at = now
            .timezone()
            .from_local_datetime(&day.and_time(time))
            .earliest()
            .unwrap_or(now);
        clock.real_instant_of(at)
    };
    let (day, pace) = match touch {
        Touch::SameDay => (today, Pace::Stagger),
        Touch::DayBefore => {
            let opens = real_at(today, rules.day_before_slot.start);
            let closes = real_at(today, rules.day_before_slot.end);
            let from = opens.max(clock.real_now());
            if from >= closes {
                return Ok(());
            }
            let Some(tomorrow) = today.succ_opt() else {
                return Ok(());
            };
            (
                tomorrow,
                Pace::Spread {
                    from,
                    until: closes,
                },
            )
        }
    };
    let appointments = messaging.clinic.appointments_on(day).await?;
    let doctors = messaging.doctor_names().await?;
    // A patient who confirmed by reply gets the confirmed wording from then on, although the
    // PMS says "unconfirmed" until reception updates it.
    let ids: Vec<i64> = appointments.iter().map(|a| a.id).collect();
    let confirmed_by_reply =
        crate::messaging::conversations::confirmed_by_reply(messaging.outbox.db(), &ids).await?;
    let language = messaging.language;
    let mut messages = Vec::new();
    for appointment in &appointments {
        let decision = decide(
            touch,
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
                    %touch,
                    reason = %error,
                    "no reminder: the appointment's mobile cannot be messaged"
                );
                report.skipped_no_mobile += 1;
                continue;
            }
            _ => continue,
        };
        if touch == Touch::SameDay && messaging.outbox.exists(&legacy_key(appointment.id)).await? {
            report.already_queued += 1;
            continue;
        }
        let values = HashMap::from([
            ("patient_name", patient_name(appointment, language)),
            ("appointment_date", long_date(language, appointment.date)),
            ("appointment_time", clock_time(language, appointment.starts)),
            (
                "doctor_name",
                doctors.name(appointment.doctor_id, language, &appointment.doctor_name),
            ),
        ]);
        let templates = &messaging.templates;
        let confirmed = confirmed || confirmed_by_reply.contains(&appointment.id);
        let (template, template_key) = match (touch, confirmed) {
            (Touch::SameDay, true) => (&templates.reminder_confirmed, "reminder_confirmed"),
            (Touch::SameDay, false) => (&templates.reminder_unconfirmed, "reminder_unconfirmed"),
            (Touch::DayBefore, true) => (
                &templates.reminder_day_before_confirmed,
                "reminder_day_before_confirmed",
            ),
            (Touch::DayBefore, false) => (
                &templates.reminder_day_before_unconfirmed,
                "reminder_day_before_unconfirmed",
            ),
        };
        let expires_at = match pace {
            Pace::Spread { until, .. } => until,
            Pace::Stagger => real_at(appointment.date, appointment.starts),
        };
        messages.push(NewMessage {
            kind: Kind::Reminder,
            key: key(touch, appointment, &to),
            to,
            body: template.get(language).render(&values),
            language,
            template_key: Some(template_key.to_owned()),
            params: params_in_order(&REMINDER_PLACEHOLDERS, &values),
            not_before: clock.real_now(),
            expires_at: Some(expires_at),
            clinic_day: today,
            batch: None,
            appointment_id: Some(appointment.id),
            touch: Some(touch),
            campaign_patient_id: None,
            broadcast_id: None,
        });
    }
    messaging.queue(messages, pace, dry_run, report).await
}

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
            patient_name_en: Some("Sara".into()),
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

    fn tomorrow(mut appointment: BookedAppointment) -> BookedAppointment {
        appointment.date = appointment.date.succ_opt().expect("valid");
        appointment
    }

    fn rules() -> ReminderRules {
        ReminderRules {
            confirmed_window: Span::minutes(120),
            unconfirmed_window: Span::minutes(240),
            min_notice: Span::minutes(120),
            day_before_slot: SendingHours {
                start: NaiveTime::from_hms_opt(18, 0, 0).expect("valid"),
                end: NaiveTime::from_hms_opt(20, 0, 0).expect("valid"),
            },
        }
    }

    fn decide_at(appointment: &BookedAppointment, now: NaiveDateTime) -> Decision {
        decide_touch(Touch::SameDay, appointment, now)
    }

    fn decide_touch(touch: Touch, appointment: &BookedAppointment, now: NaiveDateTime) -> Decision {
        decide(
            touch,
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
            assert_eq!(
                decide_touch(Touch::DayBefore, &tomorrow(other), at(18, 0)),
                Decision::NotAwaited,
                "{status}, day before"
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

    #[test]
    fn the_day_before_touch_is_for_tomorrow_and_ends_with_its_slot() {
        let booked_last_week = at(8, 0) - Span::days(7);
        let next_morning = tomorrow(appointment(0, (9, 0), booked_last_week));
        assert_eq!(
            decide_touch(Touch::DayBefore, &next_morning, at(10, 0)),
            remind(false),
            "queued early, sent in the slot"
        );
        assert_eq!(
            decide_touch(Touch::DayBefore, &next_morning, at(19, 59)),
            remind(false)
        );
        assert_eq!(
            decide_touch(Touch::DayBefore, &next_morning, at(20, 0)),
            Decision::Started,
            "the slot is over"
        );
        let today = appointment(1, (21, 0), booked_last_week);
        assert_eq!(
            decide_touch(Touch::DayBefore, &today, at(18, 0)),
            Decision::NotYet,
            "today's appointments get the same-day touch only"
        );
        let booked_tonight = tomorrow(appointment(1, (9, 0), at(19, 30)));
        assert_eq!(
            decide_touch(Touch::DayBefore, &booked_tonight, at(19, 45)),
            remind(true),
            "booked 13.5 hours ahead"
        );
    }

    #[test]
    fn each_touch_and_each_version_of_an_appointment_has_its_own_key() {
        let to = Mobile::parse("0501234567", Region::default()).expect("valid");
        let base = appointment(1, (16, 30), at(8, 0));
        assert_eq!(
            key(Touch::SameDay, &base, &to),
            "reminder:same_day:1:2026-01-05T16:30:2:966501234567"
        );
        assert_ne!(
            key(Touch::DayBefore, &base, &to),
            key(Touch::SameDay, &base, &to)
        );
        let mut moved = base.clone();
        moved.starts = NaiveTime::from_hms_opt(17, 0, 0).expect("valid");
        assert_ne!(
            key(Touch::SameDay, &moved, &to),
            key(Touch::SameDay, &base, &to)
        );
        let mut confirmed = base.clone();
        confirmed.status = 0;
        assert_eq!(
            key(Touch::SameDay, &confirmed, &to),
            key(Touch::SameDay, &base, &to),
            "a status change is the same appointment"
        );
        assert_eq!(legacy_key(1), "reminder:1");
    }

    #[test]
    fn a_reminder_is_still_true_only_of_the_appointment_it_was_queued_for() {
        let statuses = StatusCodes::default();
        let region = Region::default();
        let queued = appointment(1, (16, 30), at(8, 0));
        let to = Mobile::parse("0501234567", region).expect("valid");
        let queued_key = key(Touch::SameDay, &queued, &to);
        let check = |now: Option<&BookedAppointment>| {
            still_true(Touch::SameDay, &queued_key, now, &statuses, region)
        };
        assert!(check(Some(&queued)), "unchanged");
        let mut confirmed_since = queued.clone();
        confirmed_since.status = 0;
        assert!(check(Some(&confirmed_since)), "confirmed since: still due");
        assert!(!check(None), "deleted");
        for status in [2, 3, 4] {
            let mut changed = queued.clone();
            changed.status = status;
            assert!(!check(Some(&changed)), "status {status}");
        }
        let mut later = queued.clone();
        later.starts = NaiveTime::from_hms_opt(16, 45, 0).expect("valid");
        assert!(!check(Some(&later)), "moved later");
        let mut next_day = queued.clone();
        next_day.date = next_day.date.succ_opt().expect("valid");
        assert!(!check(Some(&next_day)), "moved to tomorrow");
        let mut other_doctor = queued.clone();
        other_doctor.doctor_id = 3;
        assert!(!check(Some(&other_doctor)), "another doctor");
        let mut new_mobile = queued.clone();
        new_mobile.mobile = Some("0559876543".into());
        assert!(!check(Some(&new_mobile)), "another mobile");
        let mut same_mobile_typed_otherwise = queued;
        same_mobile_typed_otherwise.mobile = Some("+966 50 123 4567".into());
        assert!(check(Some(&same_mobile_typed_otherwise)), "the same number");
    }
}
