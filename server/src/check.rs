//! `nabd check`: the whole configuration and every connection, checked before going live, as a
//! report a clinic's IT can read (a table) or a monitor can parse (`--json`).
//!
//! It changes nothing: the app database is opened without migrating it, the clinic database
//! read only, the WhatsApp provider asked whether it could send (no message goes). Sections:
//! the settings that only make sense together, the app database and its migrations, the
//! clinic database against the clinic data contract ([`crate::gateway::inspect`]), the
//! WhatsApp provider and the message templates in both languages, and when each scheduled job
//! runs next in the clinic's time zone. A `fail` anywhere makes the command exit non-zero.

use crate::config::Config;
use crate::gateway::ClinicGateway;
use crate::gateway::clinic::Clinic;
use crate::gateway::inspect::{self, Level};
use crate::jobs::Job;
use crate::messaging::provider::Provider;
use crate::messaging::template::{Template, Templates};
use crate::platform::language::Language;
use crate::platform::store::{self, Db};
use serde::Serialize;
use std::collections::HashMap;

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub section: &'static str,
    pub subject: String,
    pub level: Level,
    pub detail: String,
}

/// The whole report, in the order it was checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// No item failed.
    pub ok: bool,
    pub items: Vec<Item>,
}

impl Report {
    fn push(
        &mut self,
        section: &'static str,
        subject: impl Into<String>,
        level: Level,
        detail: impl Into<String>,
    ) {
        self.items.push(Item {
            section,
            subject: subject.into(),
            level,
            detail: detail.into(),
        });
    }

    /// How many items failed.
    pub fn failures(&self) -> usize {
        self.items
            .iter()
            .filter(|item| item.level == Level::Fail)
            .count()
    }

    /// The report as a table for people: section, subject, result, detail.
    pub fn table(&self) -> String {
        let width = |pick: fn(&Item) -> usize, title: usize| {
            self.items.iter().map(pick).max().unwrap_or(0).max(title)
        };
        let section = width(|item| item.section.chars().count(), 7);
        let subject = width(|item| item.subject.chars().count(), 5).min(44);
        let mut out = format!(
            "{:<section$}  {:<subject$}  {:<8}  DETAIL\n",
            "SECTION", "CHECK", "RESULT"
        );
        for item in &self.items {
            out.push_str(&format!(
                "{:<section$}  {:<subject$}  {:<8}  {}\n",
                item.section,
                item.subject,
                level_word(item.level),
                item.detail
            ));
        }
        let failures = self.failures();
        let warnings = self
            .items
            .iter()
            .filter(|item| item.level == Level::Warn)
            .count();
        let plural = |n: usize, word: &str| match n {
            1 => format!("1 {word}"),
            n => format!("{n} {word}s"),
        };
        out.push_str(&match failures {
            0 => format!("\nno problem found ({})\n", plural(warnings, "warning")),
            n => format!(
                "\n{} found ({}): see FAIL above\n",
                plural(n, "problem"),
                plural(warnings, "warning")
            ),
        });
        out
    }
}

fn level_word(level: Level) -> &'static str {
    match level {
        Level::Ok => "ok",
        Level::Note => "note",
        Level::Warn => "WARN",
        Level::Fail => "FAIL",
        Level::Untested => "untested",
    }
}

/// Runs every check of `config`.
pub async fn run(config: &Config) -> Report {
    let mut report = Report::default();
    settings(config, &mut report);
    app_database(config, &mut report).await;
    clinic_database(config, &mut report).await;
    whatsapp(config, &mut report).await;
    templates(config, &mut report);
    schedules(config, &mut report);
    report.ok = report.failures() == 0;
    report
}

fn settings(config: &Config, report: &mut Report) {
    const SECTION: &str = "settings";
    match config.clock() {
        Ok(clock) => report.push(
            SECTION,
            "clock",
            Level::Ok,
            format!(
                "{} in {}{}",
                clock.now().format("%Y-%m-%d %H:%M"),
                config.timezone,
                if config.now.is_some() {
                    " (stopped at NABD_NOW)"
                } else {
                    ""
                }
            ),
        ),
        Err(error) => report.push(SECTION, "clock", Level::Fail, error.to_string()),
    }
    match config.dashboard_key() {
        Ok(Some(_)) => report.push(SECTION, "dashboard", Level::Ok, "private (access link)"),
        Ok(None) => report.push(SECTION, "dashboard", Level::Ok, "public"),
        Err(error) => report.push(SECTION, "dashboard", Level::Fail, error),
    }
    match &config.public_url {
        Some(url) => report.push(SECTION, "public address", Level::Ok, url.origin()),
        None => report.push(
            SECTION,
            "public address",
            Level::Note,
            "NABD_PUBLIC_URL is unset: any Host is served and cookies follow the request's \
             scheme (set it when Nabd is reached by name)",
        ),
    }
    report.push(
        SECTION,
        "metrics",
        Level::Ok,
        if config.metrics_token.is_some() {
            "/metrics needs the bearer token"
        } else {
            "/metrics answers direct loopback connections only"
        },
    );
    match &config.backup.backup_dir {
        Some(dir) if !Job::Backup.enabled(config) => {
            report.push(
                SECTION,
                "backup",
                Level::Warn,
                format!(
                    "NABD_BACKUP_DIR={} is ignored with PostgreSQL: back it up with pg_dump",
                    dir.display()
                ),
            );
        }
        Some(dir) => report.push(
            SECTION,
            "backup",
            Level::Ok,
            format!(
                "daily into {}, the newest {} kept",
                dir.display(),
                config.backup.backup_keep
            ),
        ),
        None => report.push(
            SECTION,
            "backup",
            Level::Note,
            "no scheduled backup (NABD_BACKUP_DIR unset): take one with nabd backup",
        ),
    }
}

async fn app_database(config: &Config, report: &mut Report) {
    const SECTION: &str = "app database";
    let url = store::redact(&config.database_url);
    // Checking changes nothing: a SQLite file that does not exist yet is not created here.
    if store::Backend::of_url(&config.database_url) == store::Backend::Sqlite
        && let Ok(options) = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(
            &config.database_url,
        )
        && !options.get_filename().exists()
    {
        report.push(
            SECTION,
            "opens",
            Level::Note,
            format!(
                "{} does not exist yet: nabd serve creates it and applies its migrations",
                options.get_filename().display()
            ),
        );
        return;
    }
    let db = match store::connect(&config.database_url).await {
        Ok(db) => db,
        Err(error) => {
            report.push(SECTION, "opens", Level::Fail, error.to_string());
            return;
        }
    };
    match store::ping(&db).await {
        Ok(()) => report.push(
            SECTION,
            "opens",
            Level::Ok,
            format!("{url} ({})", db.backend().name()),
        ),
        Err(error) => {
            report.push(SECTION, "opens", Level::Fail, format!("{url}: {error}"));
            db.close().await;
            return;
        }
    }
    let (level, detail) = migrations(&db).await;
    report.push(SECTION, "migrations", level, detail);
    db.close().await;
}

/// Compares the migrations applied to `db` with the ones this program carries.
async fn migrations(db: &Db) -> (Level, String) {
    let known: Vec<i64> = match db {
        Db::Sqlite(_) => store::MIGRATOR.iter().map(|m| m.version).collect(),
        Db::Postgres(_) => store::PG_MIGRATOR.iter().map(|m| m.version).collect(),
    };
    // language=SQL
    let applied: Result<Vec<i64>, sqlx::Error> = crate::db!(
        db,
        fetch_all,
        sqlx::query_scalar::<_, i64>(
            "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version"
        )
    );
    // An error is a missing bookkeeping table: a database Nabd never started on.
    let applied = applied.unwrap_or_default();
    let unknown: Vec<i64> = applied
        .iter()
        .copied()
        .filter(|version| !known.contains(version))
        .collect();
    let pending = known.iter().filter(|v| !applied.contains(v)).count();
    if !unknown.is_empty() {
        return (
            Level::Fail,
            format!(
                "migrations {unknown:?} are not known to this program: the database was used \
                 by a newer Nabd (run that version, or restore a backup made before it)"
            ),
        );
    }
    match pending {
        0 => (Level::Ok, format!("current ({} applied)", applied.len())),
        n if applied.is_empty() => (
            Level::Note,
            format!("a new database: its {n} migrations apply when nabd serve starts"),
        ),
        n => (
            Level::Warn,
            format!(
                "{n} migrations pending: they apply when nabd serve starts (take a backup \
                 first: migrations only go forward)"
            ),
        ),
    }
}

async fn clinic_database(config: &Config, report: &mut Report) {
    const SECTION: &str = "clinic database";
    let clinic = match Clinic::from_config(config) {
        Ok(Clinic::NotConfigured) => {
            report.push(
                SECTION,
                "configured",
                Level::Fail,
                "NABD_CLINIC_URL is not set: the dashboard, reminders and campaign have no data",
            );
            return;
        }
        Ok(clinic) => clinic,
        Err(error) => {
            report.push(SECTION, "configured", Level::Fail, error.to_string());
            return;
        }
    };
    let started = std::time::Instant::now();
    if let Err(error) = clinic.ping().await {
        let cause = std::error::Error::source(&error)
            .map(|cause| format!(": {cause}"))
            .unwrap_or_default();
        report.push(SECTION, "answers", Level::Fail, format!("{error}{cause}"));
        return;
    }
    report.push(
        SECTION,
        "answers",
        Level::Ok,
        format!(
            "in {} ms (timeout {} s)",
            started.elapsed().as_millis(),
            config.clinic_timeout_secs
        ),
    );
    match clinic.inspect().await {
        Ok(facts) => {
            if facts.dialect == inspect::Dialect::SqlServer {
                report.push(
                    SECTION,
                    "dialect",
                    Level::Note,
                    "SQL Server: the permission check reads HAS_PERMS_BY_NAME for the login",
                );
            }
            for finding in inspect::judge(&facts) {
                report.push(SECTION, finding.subject, finding.level, finding.detail);
            }
        }
        Err(error) => {
            let cause = std::error::Error::source(&error)
                .map(|cause| format!(": {cause}"))
                .unwrap_or_default();
            report.push(SECTION, "contract", Level::Fail, format!("{error}{cause}"));
        }
    }
}

async fn whatsapp(config: &Config, report: &mut Report) {
    const SECTION: &str = "whatsapp";
    let messaging = &config.messaging;
    let provider = match Provider::from_config(messaging) {
        Ok(provider) => provider,
        Err(error) => {
            report.push(SECTION, "provider", Level::Fail, error);
            return;
        }
    };
    let name = provider.name();
    match provider.probe().await {
        Ok(detail) => report.push(
            SECTION,
            format!("provider {name}"),
            if name == "log" {
                Level::Note
            } else {
                Level::Ok
            },
            detail,
        ),
        Err(detail) => report.push(SECTION, format!("provider {name}"), Level::Fail, detail),
    }
    if name != "cloud-api" {
        return;
    }
    for kind in crate::config::messaging::TEMPLATE_KINDS {
        match messaging.cloud_api_templates.get(kind) {
            Some(template) => report.push(
                SECTION,
                format!("template {kind}"),
                Level::Ok,
                template.to_owned(),
            ),
            None => report.push(
                SECTION,
                format!("template {kind}"),
                Level::Warn,
                "no approved template named (NABD_CLOUD_API_TEMPLATES): outside the 24-hour \
                 window such messages are refused by WhatsApp",
            ),
        }
    }
}

/// Sample values for every placeholder, in one language.
fn samples(language: Language) -> HashMap<&'static str, String> {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default();
    let time = chrono::NaiveTime::from_hms_opt(16, 30, 0).unwrap_or_default();
    let (patient, doctor) = match language {
        Language::Ar => ("سارة", "د. أحمد"),
        Language::En => ("Sara", "Dr. Ahmed"),
    };
    HashMap::from([
        ("patient_name", patient.to_owned()),
        ("doctor_name", doctor.to_owned()),
        (
            "appointment_date",
            crate::messaging::template::long_date(language, date),
        ),
        (
            "appointment_time",
            crate::messaging::template::clock_time(language, time),
        ),
        ("feedback_link", "https://example.com/feedback".to_owned()),
        ("months_away", "14".to_owned()),
    ])
}

fn templates(config: &Config, report: &mut Report) {
    const SECTION: &str = "templates";
    let templates = match Templates::from_config(&config.messaging) {
        Ok(templates) => templates,
        Err(error) => {
            report.push(SECTION, "messages", Level::Fail, error.to_string());
            return;
        }
    };
    let campaign = [
        (
            "ar",
            &config.campaign.template_campaign_ar,
            "NABD_TEMPLATE_CAMPAIGN_AR",
        ),
        (
            "en",
            &config.campaign.template_campaign_en,
            "NABD_TEMPLATE_CAMPAIGN_EN",
        ),
    ]
    .map(|(language, text, setting)| {
        (
            language,
            Template::parse(setting, text, &crate::campaign::CAMPAIGN_PLACEHOLDERS),
        )
    });
    let shown = [
        ("reminder_confirmed", &templates.reminder_confirmed),
        ("reminder_unconfirmed", &templates.reminder_unconfirmed),
        (
            "reminder_day_before_confirmed",
            &templates.reminder_day_before_confirmed,
        ),
        (
            "reminder_day_before_unconfirmed",
            &templates.reminder_day_before_unconfirmed,
        ),
        ("feedback", &templates.feedback),
    ];
    for (kind, bilingual) in shown {
        for language in [Language::Ar, Language::En] {
            let text = bilingual.get(language).render(&samples(language));
            report.push(
                SECTION,
                format!("{kind} ({})", language.code()),
                Level::Ok,
                text,
            );
        }
    }
    for (language, parsed) in campaign {
        match parsed {
            Ok(template) => {
                let language = if language == "ar" {
                    Language::Ar
                } else {
                    Language::En
                };
                report.push(
                    SECTION,
                    format!("campaign ({})", language.code()),
                    Level::Ok,
                    template.render(&samples(language)),
                );
            }
            Err(error) => report.push(
                SECTION,
                format!("campaign ({language})"),
                Level::Fail,
                error.to_string(),
            ),
        }
    }
}

fn schedules(config: &Config, report: &mut Report) {
    const SECTION: &str = "schedules";
    if !config.messaging.jobs_enabled {
        report.push(
            SECTION,
            "jobs",
            Level::Note,
            "NABD_JOBS_ENABLED=false: nabd serve runs no job; run them from the command line \
             or another process",
        );
        return;
    }
    let tz = config.timezone;
    let now = match config.clock() {
        Ok(clock) => clock.now(),
        Err(_) => chrono::Utc::now().with_timezone(&tz),
    };
    for job in Job::ALL {
        if !job.enabled(config) {
            continue;
        }
        let schedule = job.schedule(config);
        let next = schedule.0.after(&now).next();
        report.push(
            SECTION,
            job.name(),
            Level::Ok,
            match next {
                Some(next) => format!(
                    "next {} ({tz}), schedule {}",
                    next.format("%Y-%m-%d %H:%M:%S"),
                    schedule
                ),
                None => format!("schedule {schedule} never fires again"),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_names_each_failure_and_counts_them() {
        let mut report = Report::default();
        report.push(
            "clinic database",
            "appointment.app_dt",
            Level::Fail,
            "missing column",
        );
        report.push("clinic database", "doctor", Level::Ok, "a table, 3 rows");
        report.push(
            "clinic database",
            "index receipts (pt_id)",
            Level::Warn,
            "missing",
        );
        let table = report.table();
        assert!(table.contains("appointment.app_dt"), "{table}");
        assert!(table.contains("FAIL"), "{table}");
        assert!(table.contains("1 problem found (1 warning)"), "{table}");
        assert_eq!(report.failures(), 1);
    }
}
