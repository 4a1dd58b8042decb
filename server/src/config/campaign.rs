//! The reactivation campaign's settings. Flattened into [`crate::config::Config`].

use super::values::{Schedule, parse_cron, parse_range};
use clap::Args;
use std::ops::RangeInclusive;

/// Every campaign setting, each with its environment variable.
#[derive(Debug, Clone, Args)]
pub struct CampaignConfig {
    /// A patient is lapsed when their last visit is more than this many days ago.
    #[arg(long, env = "NABD_CAMPAIGN_LAPSED_DAYS", global = true, default_value_t = 365,
          value_parser = clap::value_parser!(u32).range(30..=3650))]
    pub campaign_lapsed_days: u32,

    /// A patient (or mobile) staged by the campaign is not staged again for this many days.
    #[arg(
        long,
        env = "NABD_CAMPAIGN_COOLDOWN_DAYS",
        global = true,
        default_value_t = 180
    )]
    pub campaign_cooldown_days: u32,

    /// Patients chosen per daily batch (holdout included).
    #[arg(long, env = "NABD_CAMPAIGN_BATCH_SIZE", global = true, default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub campaign_batch_size: u32,

    /// Percentage of each batch held out as a control group and never messaged.
    #[arg(long, env = "NABD_CAMPAIGN_HOLDOUT_PERCENT", global = true, default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(0..=90))]
    pub campaign_holdout_percent: u32,

    /// The holdout draw's random seed; unset, each batch draws its own (recorded either way).
    #[arg(long, env = "NABD_CAMPAIGN_SEED", global = true)]
    pub campaign_seed: Option<u64>,

    /// Most campaign messages queued per clinic day; the rest wait for the next day's run.
    #[arg(
        long,
        env = "NABD_CAMPAIGN_DAILY_CAP",
        global = true,
        default_value_t = 50
    )]
    pub campaign_daily_cap: u32,

    /// Seconds between consecutive campaign messages, at random in this range.
    #[arg(long, env = "NABD_CAMPAIGN_STAGGER_SECONDS", global = true, default_value = "60-180",
          value_parser = parse_range)]
    pub campaign_stagger_seconds: RangeInclusive<u32>,

    /// A booking within this many days of the contact counts as a return.
    #[arg(
        long,
        env = "NABD_CAMPAIGN_ATTRIBUTION_DAYS",
        global = true,
        default_value_t = 60
    )]
    pub campaign_attribution_days: u32,

    /// What one marketing message costs, in the clinic's currency (for cost per return).
    #[arg(long, env = "NABD_CAMPAIGN_MESSAGE_COST", global = true, default_value_t = 0.0,
          value_parser = parse_cost)]
    pub campaign_message_cost: f64,

    /// The campaign message, Arabic. Placeholders: {patient_name}, {doctor_name},
    /// {months_away}.
    #[arg(
        long,
        env = "NABD_TEMPLATE_CAMPAIGN_AR",
        global = true,
        default_value = "مرحباً {patient_name}، اشتقنا لرؤيتك! مرّ {months_away} شهراً على زيارتك الأخيرة مع {doctor_name}. احجز موعد فحصك الدوري بالرد على هذه الرسالة."
    )]
    pub template_campaign_ar: String,

    /// The campaign message, English.
    #[arg(
        long,
        env = "NABD_TEMPLATE_CAMPAIGN_EN",
        global = true,
        default_value = "Hello {patient_name}, we miss you! It has been {months_away} months since your last visit with {doctor_name}. Reply to book your check-up."
    )]
    pub template_campaign_en: String,

    /// When the daily batch is selected (cron with seconds, clinic time zone).
    #[arg(long, env = "NABD_SCHEDULE_MARKETING_SELECT", global = true, default_value = "0 0 5 * * *",
          value_parser = parse_cron)]
    pub schedule_marketing_select: Schedule,

    /// When staged patients' messages are queued.
    #[arg(long, env = "NABD_SCHEDULE_MARKETING_QUEUE", global = true, default_value = "0 0 10 * * *",
          value_parser = parse_cron)]
    pub schedule_marketing_queue: Schedule,

    /// When conversions are tracked.
    #[arg(long, env = "NABD_SCHEDULE_MARKETING_TRACK", global = true, default_value = "0 0 23 * * *",
          value_parser = parse_cron)]
    pub schedule_marketing_track: Schedule,
}

fn parse_cost(value: &str) -> Result<f64, String> {
    match value.trim().parse::<f64>() {
        Ok(cost) if cost.is_finite() && cost >= 0.0 => Ok(cost),
        _ => Err(format!(
            "NABD_CAMPAIGN_MESSAGE_COST must be a price such as 0.05, not {value:?}"
        )),
    }
}
