//! The send-time check: just before a reminder or a feedback request is handed to a provider,
//! its appointment is read again from the PMS (one look-up by id), so that a message about an
//! appointment cancelled, moved or re-assigned since it was queued is never sent.

use crate::gateway::clinic::Clinic;
use crate::gateway::{ClinicGateway, StatusCodes};
use crate::messaging::kind::{Kind, Touch};
use crate::messaging::outbox::{AboutAppointment, SendCheck, Verdict};
use crate::messaging::reminders;
use crate::platform::phone::Region;
use futures::future::BoxFuture;
use std::sync::Arc;

/// Reads appointments through the clinic gateway.
pub struct ClinicCheck {
    pub clinic: Clinic,
    pub statuses: Arc<StatusCodes>,
    pub region: Region,
}

impl SendCheck for ClinicCheck {
    fn check<'a>(&'a self, message: &'a AboutAppointment) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            let now = match self.clinic.appointment(message.appointment_id).await {
                Ok(now) => now,
                Err(error) => {
                    tracing::warn!(
                        appointment = message.appointment_id,
                        error = %error,
                        "cannot read the appointment again before sending"
                    );
                    return Verdict::Unknown;
                }
            };
            let still_true = match message.kind {
                Kind::Reminder => reminders::still_true(
                    message.touch.unwrap_or(Touch::SameDay),
                    &message.key,
                    now.as_ref(),
                    &self.statuses,
                    self.region,
                ),
                // A visit deleted or marked no-show (or cancelled) since is asked about nothing.
                _ => now.is_some_and(|appointment| {
                    !self.statuses.no_show.contains(&appointment.status)
                        && !self.statuses.cancelled.contains(&appointment.status)
                }),
            };
            if still_true {
                Verdict::Send
            } else {
                tracing::info!(
                    appointment = message.appointment_id,
                    key = message.key,
                    "not sent: the appointment changed since the message was queued"
                );
                Verdict::Changed
            }
        })
    }
}
