//! Patient messaging: who gets a reminder ([`reminders`]) or a feedback request
//! ([`feedback`]), manual broadcasts ([`broadcast`], over lists [`number_list`] reads), the
//! durable outbox every message goes through ([`outbox`]: how a message is sent once), the
//! do-not-contact list ([`exclusions`]), the WhatsApp providers and templates, and what comes
//! back: deliveries ([`webhook`]) and patients' replies, gathered into conversations
//! ([`conversations`]).

pub mod broadcast;
pub mod conversations;
pub mod exclusions;
pub mod feedback;
pub mod kind;
pub mod number_list;
pub mod outbox;
pub mod provider;
pub mod recheck;
pub mod reminders;
pub mod setup;
pub mod template;
pub mod webhook;

pub use crate::platform::language::Language;
pub use kind::Kind;

use crate::gateway::clinic::Clinic;
use crate::gateway::{ClinicGateway, GatewayError, StatusCodes};
use crate::platform::phone::Region;
use outbox::{NewMessage, Outbox, OutboxError};
use std::collections::HashMap;
use std::sync::Arc;
use template::Templates;

/// What the reminder and feedback runs share: the outbox, the clinic, the checked templates.
#[derive(Clone)]
pub struct Messaging {
    pub outbox: Outbox,
    pub clinic: Clinic,
    pub templates: Arc<Templates>,
    pub statuses: Arc<StatusCodes>,
    pub language: Language,
    pub region: Region,
}

/// When a run's messages go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// The first at once, each next one a random gap (`NABD_STAGGER_SECONDS`) later.
    Stagger,
    /// Spread over `[from, until)`, one in each equal part of it.
    Spread {
        from: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    },
}

/// Returns the patient's name in the message's language: the PMS's English name
/// (`patient.name_e`) for an English message when there is one, else the name on the booking.
pub fn patient_name(appointment: &crate::gateway::BookedAppointment, language: Language) -> String {
    match (language, &appointment.patient_name_en) {
        (Language::En, Some(english)) if !english.trim().is_empty() => english.trim().to_owned(),
        _ => appointment.patient_name.trim().to_owned(),
    }
}

/// A scheduled run failed; nothing it had not queued is lost (the next run looks again).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Clinic(#[from] GatewayError),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

impl From<sqlx::Error> for RunError {
    fn from(error: sqlx::Error) -> Self {
        Self::Outbox(OutboxError::Database(error))
    }
}

/// One message a run queued (or, in a dry run, would queue).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planned {
    pub key: String,
    pub to: String,
    pub body: String,
    pub at: String,
}

/// What one reminder or feedback run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RunReport {
    /// Messages queued by this run (or that a dry run would queue).
    pub planned: Vec<Planned>,
    /// Due messages that an earlier run had already queued.
    pub already_queued: usize,
    /// Appointments left out because their mobile is missing or invalid.
    pub skipped_no_mobile: usize,
    /// Patients left out because they had one recently (feedback cooldown, one per mobile).
    pub skipped_cooldown: usize,
}

impl std::fmt::Display for RunReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for planned in &self.planned {
            writeln!(
                f,
                "{}  {}  {}  {}",
                planned.at, planned.key, planned.to, planned.body
            )?;
        }
        write!(
            f,
            "{} queued, {} already queued, {} without a usable mobile, {} in cooldown",
            self.planned.len(),
            self.already_queued,
            self.skipped_no_mobile,
            self.skipped_cooldown
        )
    }
}

/// Doctors' names by id, to write them in the message's language.
pub struct DoctorNames(HashMap<i64, crate::gateway::Doctor>);

impl DoctorNames {
    /// Returns the doctor's name in `language`, falling back to the other language, then to
    /// the name written on the booking.
    pub fn name(&self, doctor_id: i64, language: Language, on_booking: &str) -> String {
        let doctor = self.0.get(&doctor_id);
        let name = match language {
            Language::En => doctor.and_then(|d| d.name_en.clone()),
            Language::Ar => None,
        }
        .filter(|name| !name.trim().is_empty())
        .or_else(|| doctor.map(|d| d.name_ar.clone()))
        .unwrap_or_else(|| on_booking.to_owned());
        name.trim().to_owned()
    }
}

impl Messaging {
    /// Reads the doctors' names from the clinic.
    pub async fn doctor_names(&self) -> Result<DoctorNames, GatewayError> {
        let doctors = self.clinic.doctors().await?;
        Ok(DoctorNames(
            doctors.into_iter().map(|d| (d.id, d)).collect(),
        ))
    }

    /// Queues a run's messages at the `pace` given, leaving out keys already in the outbox (and
    /// duplicates within the run); with `dry_run`, only reports them.
    pub async fn queue(
        &self,
        messages: Vec<NewMessage>,
        pace: Pace,
        dry_run: bool,
        report: &mut RunReport,
    ) -> Result<(), RunError> {
        let mut fresh = Vec::with_capacity(messages.len());
        let mut seen = std::collections::HashSet::new();
        for message in messages {
            if !seen.insert(message.key.clone()) {
                continue;
            }
            if self.outbox.exists(&message.key).await? {
                report.already_queued += 1;
            } else {
                fresh.push(message);
            }
        }
        let times = match pace {
            Pace::Stagger => outbox::stagger(
                self.outbox.clock().real_now(),
                fresh.len(),
                &self.outbox.config().stagger_seconds,
                &mut rand::rng(),
            ),
            Pace::Spread { from, until } => {
                outbox::spread(from, until, fresh.len(), &mut rand::rng())
            }
        };
        for (message, at) in fresh.iter_mut().zip(times) {
            message.not_before = at;
        }
        if !dry_run {
            let queued = self.outbox.enqueue(&fresh).await?;
            report.already_queued += queued.iter().filter(|q| !q.new).count();
            fresh.retain(|message| queued.iter().any(|q| q.new && q.key == message.key));
        }
        report
            .planned
            .extend(fresh.into_iter().map(|message| Planned {
                key: message.key,
                to: message.to.e164().to_owned(),
                body: message.body,
                at: crate::platform::time::stamp(message.not_before),
            }));
        Ok(())
    }
}
