//! The messaging settings: which WhatsApp provider, the job schedules, the reminder and
//! feedback rules, sending hours and the contact budget. Flattened into [`crate::config::Config`].

use super::values::{Schedule, Secret, parse_cron, parse_range};
use crate::messaging::kind::Touch;
use crate::platform::language::Language;
use crate::platform::phone::Region;
use chrono::NaiveTime;
use clap::Args;
use std::ops::RangeInclusive;
use std::time::Duration;

/// Every messaging setting, each with its environment variable.
#[derive(Debug, Clone, Args)]
pub struct MessagingConfig {
    /// Where the job runtime keeps scheduled and staggered sends: a SQLite URL (a file apart
    /// from the app database) or a PostgreSQL URL. Default: with a SQLite app database,
    /// `<name>-jobs.db` beside it; with PostgreSQL, the same database (schema `apalis`).
    #[arg(long, env = "NABD_JOBS_URL", global = true, value_parser = parse_jobs_url)]
    pub jobs_url: Option<String>,

    /// Runs the scheduled jobs (reminders, feedback, campaign) inside `nabd serve`. `false`
    /// leaves the schedules to another process or to the CLI commands.
    #[arg(long, env = "NABD_JOBS_ENABLED", global = true, default_value_t = true,
          action = clap::ArgAction::Set)]
    pub jobs_enabled: bool,

    /// The WhatsApp provider: `log` (send nothing, record what would have gone), `whatsapp-web`
    /// (the whatsapp-web.js HTTP bridge) or `cloud-api` (the WhatsApp Business Platform).
    #[arg(long, env = "NABD_WHATSAPP_PROVIDER", global = true, default_value = "log",
          value_parser = ["log", "whatsapp-web", "cloud-api"])]
    pub whatsapp_provider: String,

    /// Base URL of the whatsapp-web.js bridge (`GET /status`, `POST /send-message`).
    #[arg(
        long,
        env = "NABD_WHATSAPP_WEB_URL",
        global = true,
        default_value = "http://127.0.0.1:3001"
    )]
    pub whatsapp_web_url: String,

    /// How long one call to the provider may take, in seconds.
    #[arg(long, env = "NABD_WHATSAPP_TIMEOUT_SECS", global = true, default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    pub whatsapp_timeout_secs: u64,

    /// Base URL of the Graph API, with its version.
    #[arg(
        long,
        env = "NABD_CLOUD_API_URL",
        global = true,
        default_value = "https://graph.facebook.com/v21.0"
    )]
    pub cloud_api_url: String,

    /// The WhatsApp Business phone number id messages are sent from.
    #[arg(long, env = "NABD_CLOUD_API_PHONE_NUMBER_ID", global = true)]
    pub cloud_api_phone_number_id: Option<String>,

    /// The Graph API access token (a system user's permanent token).
    #[arg(long, env = "NABD_CLOUD_API_TOKEN", global = true, value_parser = parse_secret)]
    pub cloud_api_token: Option<Secret>,

    /// The Meta app secret that signs webhook deliveries (`X-Hub-Signature-256`).
    #[arg(long, env = "NABD_CLOUD_API_APP_SECRET", global = true, value_parser = parse_secret)]
    pub cloud_api_app_secret: Option<Secret>,

    /// The token Meta echoes when it verifies the webhook (`hub.verify_token`).
    #[arg(long, env = "NABD_CLOUD_API_VERIFY_TOKEN", global = true, value_parser = parse_secret)]
    pub cloud_api_verify_token: Option<Secret>,

    /// Approved template names per message kind, comma-separated `kind=name` pairs. Kinds:
    /// reminder_confirmed, reminder_unconfirmed, reminder_day_before_confirmed,
    /// reminder_day_before_unconfirmed, feedback, campaign, broadcast, manual. The
    /// template's language is the message's.
    #[arg(long, env = "NABD_CLOUD_API_TEMPLATES", global = true, default_value = "",
          value_parser = parse_template_names)]
    pub cloud_api_templates: TemplateNames,

    /// Quick-reply buttons of approved Cloud API templates, per template kind: `kind=intent,...`
    /// separated by `;`, e.g. `reminder_unconfirmed=confirm,reschedule,cancel`. The buttons are
    /// given in the template's order; each is sent the payload `<intent>:<message id>`, so that
    /// a patient's tap is read without guessing. Intents: confirm, cancel, reschedule, book,
    /// stop.
    #[arg(long, env = "NABD_CLOUD_API_BUTTONS", global = true, default_value = "",
          value_parser = parse_buttons)]
    pub cloud_api_buttons: Buttons,

    /// The shared secret the whatsapp-web bridge sends in `X-Nabd-Bridge-Secret` when it posts
    /// a patient's message to `/webhooks/whatsapp-web`. Unset: that endpoint answers 404.
    #[arg(long, env = "NABD_WHATSAPP_WEB_SECRET", global = true, value_parser = parse_secret)]
    pub whatsapp_web_secret: Option<Secret>,

    /// Thanks a patient who confirms an appointment by reply, once per appointment, through the
    /// outbox (inside the reply window).
    #[arg(long, env = "NABD_REPLY_ACKNOWLEDGE", global = true, default_value_t = false,
          action = clap::ArgAction::Set)]
    pub reply_acknowledge: bool,

    /// The thanks for a confirmation by reply, Arabic.
    #[arg(
        long,
        env = "NABD_TEMPLATE_ACKNOWLEDGE_AR",
        global = true,
        default_value = "شكراً لتأكيد موعدك، نراك قريباً."
    )]
    pub template_acknowledge_ar: String,

    /// The thanks for a confirmation by reply, English.
    #[arg(
        long,
        env = "NABD_TEMPLATE_ACKNOWLEDGE_EN",
        global = true,
        default_value = "Thank you for confirming your appointment. See you soon."
    )]
    pub template_acknowledge_en: String,

    /// Inbound words (case-insensitive, whole message) that put the sender on the
    /// do-not-contact list.
    #[arg(
        long,
        env = "NABD_OPT_OUT_WORDS",
        global = true,
        value_delimiter = ',',
        default_value = "STOP,إيقاف,ايقاف,الغاء,إلغاء"
    )]
    pub opt_out_words: Vec<String>,

    /// The country assumed for numbers written without a country code (ISO 3166, e.g. SA).
    #[arg(long, env = "NABD_PHONE_REGION", global = true, default_value = "SA")]
    pub phone_region: Region,

    /// The language of patient messages: `ar` or `en`.
    #[arg(
        long,
        env = "NABD_MESSAGE_LANGUAGE",
        global = true,
        default_value = "ar",
        value_enum
    )]
    pub message_language: Language,

    /// When the reminder job runs (cron with seconds, in the clinic's time zone).
    #[arg(long, env = "NABD_SCHEDULE_REMINDERS", global = true, default_value = "0 */15 * * * *",
          value_parser = parse_cron)]
    pub schedule_reminders: Schedule,

    /// When the feedback job runs.
    #[arg(long, env = "NABD_SCHEDULE_FEEDBACK", global = true, default_value = "0 0 * * * *",
          value_parser = parse_cron)]
    pub schedule_feedback: Schedule,

    /// How often messages whose send time has come are looked for, besides their own timers
    /// (a safety net after a restart).
    #[arg(long, env = "NABD_SCHEDULE_OUTBOX_SWEEP", global = true, default_value = "*/30 * * * * *",
          value_parser = parse_cron)]
    pub schedule_outbox_sweep: Schedule,

    /// Minutes before a confirmed appointment when its reminder goes.
    #[arg(
        long,
        env = "NABD_REMINDER_CONFIRMED_MINUTES",
        global = true,
        default_value_t = 120
    )]
    pub reminder_confirmed_minutes: u32,

    /// Minutes before an unconfirmed appointment when its reminder goes.
    #[arg(
        long,
        env = "NABD_REMINDER_UNCONFIRMED_MINUTES",
        global = true,
        default_value_t = 240
    )]
    pub reminder_unconfirmed_minutes: u32,

    /// Appointments booked fewer minutes than this before they start get no reminder.
    #[arg(
        long,
        env = "NABD_REMINDER_MIN_NOTICE_MINUTES",
        global = true,
        default_value_t = 120
    )]
    pub reminder_min_notice_minutes: u32,

    /// The reminder touches sent, comma-separated: `day_before` (tomorrow's appointments, in the
    /// evening slot) and `same_day` (within the windows above).
    #[arg(
        long,
        env = "NABD_REMINDER_TOUCHES",
        global = true,
        value_delimiter = ',',
        default_value = "day_before,same_day"
    )]
    pub reminder_touches: Vec<Touch>,

    /// Clinic-local hours of the day-before touch's evening slot, e.g. `18:00-20:00`; its
    /// reminders are spread across it (within the reminders' sending hours), and one not sent
    /// by its end is dropped as `expired`.
    #[arg(long, env = "NABD_REMINDER_DAY_BEFORE_HOURS", global = true,
          default_value = "18:00-20:00", value_parser = parse_hours)]
    pub reminder_day_before_hours: SendingHours,

    /// Reminder for a confirmed appointment, Arabic. Placeholders: {patient_name},
    /// {appointment_time}, {appointment_date}, {doctor_name}.
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_CONFIRMED_AR",
        global = true,
        default_value = "مرحباً {patient_name}، نذكّرك بموعدك اليوم {appointment_date} الساعة {appointment_time} مع {doctor_name}. نتطلع لرؤيتك."
    )]
    pub template_reminder_confirmed_ar: String,

    /// Reminder for a confirmed appointment, English.
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_CONFIRMED_EN",
        global = true,
        default_value = "Hello {patient_name}, a reminder of your appointment today, {appointment_date} at {appointment_time} with {doctor_name}. See you soon."
    )]
    pub template_reminder_confirmed_en: String,

    /// Reminder for an unconfirmed appointment, Arabic.
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_UNCONFIRMED_AR",
        global = true,
        default_value = "مرحباً {patient_name}، لديك موعد اليوم {appointment_date} الساعة {appointment_time} مع {doctor_name}. نرجو تأكيد حضورك بالرد على هذه الرسالة."
    )]
    pub template_reminder_unconfirmed_ar: String,

    /// Reminder for an unconfirmed appointment, English.
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_UNCONFIRMED_EN",
        global = true,
        default_value = "Hello {patient_name}, you have an appointment today, {appointment_date} at {appointment_time} with {doctor_name}. Please reply to confirm."
    )]
    pub template_reminder_unconfirmed_en: String,

    /// Day-before reminder for a confirmed appointment, Arabic (same placeholders).
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_DAY_BEFORE_CONFIRMED_AR",
        global = true,
        default_value = "مرحباً {patient_name}، نذكّرك بموعدك غدًا {appointment_date} الساعة {appointment_time} مع {doctor_name}. نتطلع لرؤيتك."
    )]
    pub template_reminder_day_before_confirmed_ar: String,

    /// Day-before reminder for a confirmed appointment, English.
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_DAY_BEFORE_CONFIRMED_EN",
        global = true,
        default_value = "Hello {patient_name}, a reminder of your appointment tomorrow, {appointment_date} at {appointment_time} with {doctor_name}. See you then."
    )]
    pub template_reminder_day_before_confirmed_en: String,

    /// Day-before reminder for an unconfirmed appointment, Arabic.
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_DAY_BEFORE_UNCONFIRMED_AR",
        global = true,
        default_value = "مرحباً {patient_name}، لديك موعد غدًا {appointment_date} الساعة {appointment_time} مع {doctor_name}. نرجو تأكيد حضورك بالرد على هذه الرسالة."
    )]
    pub template_reminder_day_before_unconfirmed_ar: String,

    /// Day-before reminder for an unconfirmed appointment, English.
    #[arg(
        long,
        env = "NABD_TEMPLATE_REMINDER_DAY_BEFORE_UNCONFIRMED_EN",
        global = true,
        default_value = "Hello {patient_name}, you have an appointment tomorrow, {appointment_date} at {appointment_time} with {doctor_name}. Please reply to confirm."
    )]
    pub template_reminder_day_before_unconfirmed_en: String,

    /// Feedback request, Arabic. Placeholders: {patient_name}, {doctor_name}, {feedback_link}.
    #[arg(
        long,
        env = "NABD_TEMPLATE_FEEDBACK_AR",
        global = true,
        default_value = "شكراً لزيارتك يا {patient_name}. يسعدنا معرفة رأيك في زيارتك مع {doctor_name}: {feedback_link}"
    )]
    pub template_feedback_ar: String,

    /// Feedback request, English.
    #[arg(
        long,
        env = "NABD_TEMPLATE_FEEDBACK_EN",
        global = true,
        default_value = "Thank you for your visit, {patient_name}. How was your visit with {doctor_name}? Tell us here: {feedback_link}"
    )]
    pub template_feedback_en: String,

    /// The clinic's review link sent in feedback requests.
    #[arg(
        long,
        env = "NABD_FEEDBACK_LINK",
        global = true,
        default_value = "https://g.page/r/clinic/review"
    )]
    pub feedback_link: String,

    /// Feedback goes to visits that ended between this many minutes ago (first number) and
    /// this many (second), e.g. `60-120`.
    #[arg(long, env = "NABD_FEEDBACK_AFTER_MINUTES", global = true, default_value = "60-120",
          value_parser = parse_range)]
    pub feedback_after_minutes: RangeInclusive<u32>,

    /// A mobile that was sent a feedback request within this many days gets no other.
    #[arg(
        long,
        env = "NABD_FEEDBACK_COOLDOWN_DAYS",
        global = true,
        default_value_t = 120
    )]
    pub feedback_cooldown_days: u32,

    /// Seconds between consecutive sends of one reminder or feedback run, drawn at random in
    /// this range, e.g. `40-120`.
    #[arg(long, env = "NABD_STAGGER_SECONDS", global = true, default_value = "40-120",
          value_parser = parse_range)]
    pub stagger_seconds: RangeInclusive<u32>,

    /// Seconds between consecutive messages of a manual broadcast, drawn at random in this
    /// range.
    #[arg(long, env = "NABD_BROADCAST_STAGGER_SECONDS", global = true, default_value = "20-60",
          value_parser = parse_range)]
    pub broadcast_stagger_seconds: RangeInclusive<u32>,

    /// Clinic-local hours when reminders may be sent, e.g. `08:00-22:00`.
    #[arg(long, env = "NABD_SENDING_HOURS_REMINDERS", global = true, default_value = "08:00-22:00",
          value_parser = parse_hours)]
    pub sending_hours_reminders: SendingHours,

    /// Clinic-local hours when every other message may be sent.
    #[arg(long, env = "NABD_SENDING_HOURS_OTHER", global = true, default_value = "09:00-21:00",
          value_parser = parse_hours)]
    pub sending_hours_other: SendingHours,

    /// Most non-reminder messages one mobile receives per clinic-local day (manual messages
    /// sent by staff are not counted).
    #[arg(
        long,
        env = "NABD_DAILY_CONTACT_BUDGET",
        global = true,
        default_value_t = 1
    )]
    pub daily_contact_budget: u32,

    /// Most attempts to hand one message to the provider when it keeps failing in a way worth
    /// retrying (not ready, 5xx, timeouts), with back-off between them.
    #[arg(long, env = "NABD_SEND_MAX_ATTEMPTS", global = true, default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=50))]
    pub send_max_attempts: u32,

    /// The first back-off after a retryable failure, in seconds; it doubles each time, up to
    /// 30 minutes.
    #[arg(long, env = "NABD_SEND_RETRY_SECONDS", global = true, default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub send_retry_seconds: u64,
}

impl MessagingConfig {
    /// Returns the job store's URL: `NABD_JOBS_URL`; else, for a PostgreSQL app database, the
    /// same database (apalis keeps its tables in its own schema, `apalis`); else
    /// `<app database>-jobs.db` beside `database_url`.
    pub fn jobs_url(&self, database_url: &str) -> String {
        if let Some(url) = &self.jobs_url {
            return url.clone();
        }
        if crate::platform::store::Backend::of_url(database_url)
            == crate::platform::store::Backend::Postgres
        {
            return database_url.to_owned();
        }
        let (path, query) = database_url
            .split_once('?')
            .map_or((database_url, None), |(path, query)| (path, Some(query)));
        let path = path
            .strip_suffix(".db")
            .map_or_else(|| format!("{path}-jobs"), |stem| format!("{stem}-jobs.db"));
        match query {
            Some(query) => format!("{path}?{query}"),
            None => path,
        }
    }

    /// Returns the back-off before attempt `attempt + 1` (attempt counts from 1).
    pub fn retry_delay(&self, attempt: u32) -> Duration {
        let factor = 2u64.saturating_pow(attempt.saturating_sub(1).min(20));
        Duration::from_secs(self.send_retry_seconds.saturating_mul(factor).min(30 * 60))
    }

    /// Returns how long one provider call may take.
    pub fn provider_timeout(&self) -> Duration {
        Duration::from_secs(self.whatsapp_timeout_secs)
    }
}

/// A daily window of clinic-local time when messages may go, `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendingHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl SendingHours {
    /// Tells whether `time` is inside the window.
    pub fn contains(&self, time: NaiveTime) -> bool {
        if self.start <= self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }
}

/// Approved WhatsApp template names per message kind (Cloud API only).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TemplateNames(Vec<(String, String)>);

/// The kinds a template name can be configured for.
pub const TEMPLATE_KINDS: [&str; 8] = [
    "reminder_confirmed",
    "reminder_unconfirmed",
    "reminder_day_before_confirmed",
    "reminder_day_before_unconfirmed",
    "feedback",
    "campaign",
    "broadcast",
    "manual",
];

impl TemplateNames {
    /// Returns the template configured for `kind`, if any.
    pub fn get(&self, kind: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, name)| name.as_str())
    }
}

fn parse_template_names(value: &str) -> Result<TemplateNames, String> {
    let mut names = Vec::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, name) = pair.split_once('=').ok_or_else(|| {
            format!("NABD_CLOUD_API_TEMPLATES takes kind=name pairs, not {pair:?}")
        })?;
        let kind = kind.trim();
        if !TEMPLATE_KINDS.contains(&kind) {
            return Err(format!(
                "NABD_CLOUD_API_TEMPLATES: unknown kind {kind:?} (known: {})",
                TEMPLATE_KINDS.join(", ")
            ));
        }
        names.push((kind.to_owned(), name.trim().to_owned()));
    }
    Ok(TemplateNames(names))
}

/// Quick-reply buttons per template kind (Cloud API only): each button's intent, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buttons(Vec<(String, Vec<String>)>);

/// The intents a quick-reply button can carry.
pub const BUTTON_INTENTS: [&str; 5] = ["confirm", "cancel", "reschedule", "book", "stop"];

impl Buttons {
    /// Returns the buttons of template kind `kind` (empty when it has none).
    pub fn get(&self, kind: &str) -> &[String] {
        self.0
            .iter()
            .find(|(k, _)| k == kind)
            .map_or(&[], |(_, intents)| intents.as_slice())
    }
}

fn parse_buttons(value: &str) -> Result<Buttons, String> {
    let mut sets = Vec::new();
    for set in value.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (kind, intents) = set.split_once('=').ok_or_else(|| {
            format!("NABD_CLOUD_API_BUTTONS takes kind=intent,intent;... not {set:?}")
        })?;
        let kind = kind.trim();
        if !TEMPLATE_KINDS.contains(&kind) {
            return Err(format!(
                "NABD_CLOUD_API_BUTTONS: unknown kind {kind:?} (known: {})",
                TEMPLATE_KINDS.join(", ")
            ));
        }
        let intents: Vec<String> = intents
            .split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(unknown) = intents
            .iter()
            .find(|i| !BUTTON_INTENTS.contains(&i.as_str()))
        {
            return Err(format!(
                "NABD_CLOUD_API_BUTTONS: unknown intent {unknown:?} for {kind} (known: {})",
                BUTTON_INTENTS.join(", ")
            ));
        }
        if intents.len() > 10 {
            return Err(format!(
                "NABD_CLOUD_API_BUTTONS: {kind} has {} buttons; a template has at most 10 quick replies",
                intents.len()
            ));
        }
        sets.push((kind.to_owned(), intents));
    }
    Ok(Buttons(sets))
}

fn parse_secret(value: &str) -> Result<Secret, String> {
    Ok(Secret::new(value.trim()))
}

fn parse_jobs_url(value: &str) -> Result<String, String> {
    if value.starts_with("sqlite:")
        || crate::platform::store::Backend::of_url(value)
            == crate::platform::store::Backend::Postgres
    {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "NABD_JOBS_URL must be a SQLite URL such as sqlite://data/nabd-jobs.db or a \
             PostgreSQL URL such as postgres://nabd@db/nabd, not {}",
            crate::platform::store::redact(value)
        ))
    }
}

fn parse_hours(value: &str) -> Result<SendingHours, String> {
    let error = || format!("{value:?} is not a range of hours such as 09:00-21:00");
    let (start, end) = value.split_once('-').ok_or_else(error)?;
    let start = NaiveTime::parse_from_str(start.trim(), "%H:%M").map_err(|_| error())?;
    let end = NaiveTime::parse_from_str(end.trim(), "%H:%M").map_err(|_| error())?;
    if start == end {
        return Err(error());
    }
    Ok(SendingHours { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sending_hours_are_half_open_and_may_cross_midnight() {
        let day = parse_hours("09:00-21:00").expect("valid");
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid");
        assert!(day.contains(at(9, 0)));
        assert!(!day.contains(at(21, 0)));
        assert!(!day.contains(at(8, 59)));
        let night = parse_hours("22:00-02:00").expect("valid");
        assert!(night.contains(at(23, 0)) && night.contains(at(1, 0)));
        assert!(!night.contains(at(12, 0)));
        assert!(parse_hours("9-21").is_err());
    }

    #[test]
    fn ranges_and_schedules_are_checked_at_start() {
        assert_eq!(parse_range("40-120"), Ok(40..=120));
        assert!(parse_range("120-40").is_err());
        assert!(parse_cron("0 */15 * * * *").is_ok());
        assert!(parse_cron("every quarter").is_err());
    }

    #[test]
    fn template_names_are_kind_name_pairs_of_known_kinds() {
        let names =
            parse_template_names("feedback=nabd_feedback, campaign = nabd_back").expect("valid");
        assert_eq!(names.get("campaign"), Some("nabd_back"));
        assert_eq!(names.get("broadcast"), None);
        assert!(parse_template_names("newsletter=x").is_err());
    }

    #[test]
    fn the_job_store_lives_beside_the_app_database_unless_configured() {
        let config = <crate::cli::Cli as clap::Parser>::parse_from(["nabd", "serve"]);
        let messaging = &config.config.messaging;
        assert_eq!(
            messaging.jobs_url("sqlite://data/nabd.db"),
            "sqlite://data/nabd-jobs.db"
        );
        assert_eq!(
            messaging.jobs_url("sqlite:///tmp/x/app?mode=rwc"),
            "sqlite:///tmp/x/app-jobs?mode=rwc"
        );
    }

    #[test]
    fn the_back_off_doubles_and_is_capped() {
        let config = <crate::cli::Cli as clap::Parser>::parse_from(["nabd", "serve"]);
        let messaging = &config.config.messaging;
        assert_eq!(messaging.retry_delay(1), Duration::from_secs(30));
        assert_eq!(messaging.retry_delay(3), Duration::from_secs(120));
        assert_eq!(messaging.retry_delay(30), Duration::from_secs(1800));
    }
}
