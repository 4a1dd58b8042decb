//! Builds the messaging services from the configuration, once, for `nabd serve` and every
//! command: the provider, the checked templates, and the outbox with its send-time check.

use super::Messaging;
use super::outbox::{Outbox, Timers};
use super::provider::Provider;
use super::recheck::ClinicCheck;
use super::template::Templates;
use crate::gateway::StatusCodes;
use crate::gateway::clinic::Clinic;
use std::sync::Arc;

/// Builds the messaging services from the configuration: the provider, the checked templates
/// and the outbox (waking through `timers` when the job runtime keeps them). An error names the
/// setting at fault.
pub fn build(
    config: &crate::config::Config,
    db: crate::platform::store::Db,
    clinic: Clinic,
    clock: crate::platform::clock::Clock,
    timers: Option<Arc<dyn Timers>>,
    instance: crate::platform::instance::Instance,
) -> Result<Messaging, String> {
    let settings = &config.messaging;
    let provider = Provider::from_config(settings)?;
    let templates = Templates::from_config(settings).map_err(|error| error.to_string())?;
    let language = settings.message_language;
    let statuses = Arc::new(StatusCodes::from_config(config));
    Ok(Messaging {
        outbox: Outbox::new(
            db,
            provider,
            clock,
            Arc::new(settings.clone()),
            timers,
            instance,
        )
        .with_check(Arc::new(ClinicCheck {
            clinic: clinic.clone(),
            statuses: statuses.clone(),
            region: settings.phone_region,
        })),
        clinic,
        templates: Arc::new(templates),
        statuses,
        language,
        region: settings.phone_region,
    })
}
