//! The reactivation campaign, in three steps that the scheduler runs daily and the CLI runs by
//! hand ([`select::run`], [`queue::run`], [`track::run`]): **select** lapsed patients into a daily batch (a random share held out as a control
//! group), **queue** personal messages to the others through the outbox, staggered, and
//! **track** who of either group booked again within the attribution window. Each step run
//! twice changes nothing the second time.
//!
//! Selection order: lifetime revenue, highest first (then patient id), among patients whose
//! last visit is more than `NABD_CAMPAIGN_LAPSED_DAYS` ago, with nothing booked ahead, a valid
//! mobile not on the do-not-contact list, not staged within the cooldown (by patient or by
//! mobile), and one patient per mobile.

pub mod queue;
pub mod report;
pub mod select;
pub mod track;

use crate::config::campaign::CampaignConfig;
use crate::messaging::Messaging;
use crate::messaging::template::{Bilingual, Template, TemplateError};
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
