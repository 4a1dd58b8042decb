//! Message templates: text with `{placeholder}`s, checked once at start against the placeholders
//! its kind offers (an unknown one stops Nabd instead of reaching a patient with braces in it),
//! and the clinic-local date and time written the way patients read them.

use crate::platform::language::Language;
use crate::platform::text::without_bidi_controls;
use chrono::{Datelike, NaiveDate, NaiveTime, Timelike};
use std::collections::HashMap;

/// A checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Placeholder(String),
}

/// What is wrong with a template. `Display` names the setting for the start-up message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("{setting}: unknown placeholder {{{name}}} (known: {known})")]
    Unknown {
        setting: String,
        name: String,
        known: String,
    },
    #[error("{setting}: a `{{` is never closed")]
    Unclosed { setting: String },
    #[error("{setting}: the template is empty")]
    Empty { setting: String },
}

impl Template {
    /// Parses `text`, allowing only `known` placeholders; `setting` names it in errors.
    pub fn parse(setting: &str, text: &str, known: &[&str]) -> Result<Self, TemplateError> {
        if text.trim().is_empty() {
            return Err(TemplateError::Empty {
                setting: setting.to_owned(),
            });
        }
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after.find('}').ok_or_else(|| TemplateError::Unclosed {
                setting: setting.to_owned(),
            })?;
            let name = after[..close].trim();
            if !known.contains(&name) {
                return Err(TemplateError::Unknown {
                    setting: setting.to_owned(),
                    name: name.to_owned(),
                    known: known.join(", "),
                });
            }
            parts.push(Part::Placeholder(name.to_owned()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// Writes the message with `values`; a placeholder without a value is written empty, and a
    /// value (a name from the clinic database) loses any bidirectional controls, which could
    /// reorder the text around it.
    pub fn render(&self, values: &HashMap<&str, String>) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Text(text) => text.clone(),
                Part::Placeholder(name) => values
                    .get(name.as_str())
                    .map(|value| without_bidi_controls(value))
                    .unwrap_or_default(),
            })
            .collect()
    }
}

const WEEKDAYS_AR: [&str; 7] = [
    "الاثنين",
    "الثلاثاء",
    "الأربعاء",
    "الخميس",
    "الجمعة",
    "السبت",
    "الأحد",
];

/// Writes a clinic-local date as patients read it: "الأحد، 5 يناير 2026" or
/// "Monday, 5 January 2026".
pub fn long_date(language: Language, date: NaiveDate) -> String {
    match language {
        Language::En => date.format("%A, %-d %B %Y").to_string(),
        Language::Ar => {
            let weekday = WEEKDAYS_AR[date.weekday().num_days_from_monday() as usize];
            let month = app::format::month_name(app::i18n::Locale::ar, date.month() as usize);
            format!("{weekday}، {} {month} {}", date.day(), date.year())
        }
    }
}

/// Writes a clinic-local time on a 12-hour clock: "4:30 PM" or "٤:٣٠ م".
pub fn clock_time(language: Language, time: NaiveTime) -> String {
    let (pm, hour) = time.hour12();
    let digits = format!("{hour}:{:02}", time.minute());
    match language {
        Language::En => format!("{digits} {}", if pm { "PM" } else { "AM" }),
        Language::Ar => format!(
            "{} {}",
            app::format::digits(app::i18n::Locale::ar, &digits),
            if pm { "م" } else { "ص" }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KNOWN: [&str; 2] = ["patient_name", "doctor_name"];

    #[test]
    fn placeholders_are_filled_and_text_is_kept() {
        let template =
            Template::parse("T", "Hello {patient_name}, see {doctor_name}.", &KNOWN).expect("ok");
        let values = HashMap::from([
            ("patient_name", "Sara".to_owned()),
            ("doctor_name", "Dr. Ali".to_owned()),
        ]);
        assert_eq!(template.render(&values), "Hello Sara, see Dr. Ali.");
    }

    #[test]
    fn an_unknown_placeholder_is_an_error_that_names_the_setting() {
        let error = Template::parse("NABD_X", "Hi {name}", &KNOWN).expect_err("unknown");
        assert_eq!(
            error.to_string(),
            "NABD_X: unknown placeholder {name} (known: patient_name, doctor_name)"
        );
        assert!(Template::parse("NABD_X", "Hi {patient_name", &KNOWN).is_err());
        assert!(Template::parse("NABD_X", "  ", &KNOWN).is_err());
    }

    #[test]
    fn a_value_loses_its_bidi_controls_and_the_template_its_text_stays() {
        let template = Template::parse("NABD_X", "Hello {patient_name}.", &KNOWN).expect("ok");
        let values = HashMap::from([("patient_name", "\u{202E}Sara".to_owned())]);
        assert_eq!(template.render(&values), "Hello Sara.");
    }

    #[test]
    fn dates_and_times_read_naturally_in_both_languages() {
        let date = NaiveDate::from_ymd_opt(2026, 1, 4).expect("valid");
        assert_eq!(long_date(Language::Ar, date), "الأحد، 4 يناير 2026");
        assert_eq!(long_date(Language::En, date), "Sunday, 4 January 2026");
        let time = NaiveTime::from_hms_opt(16, 30, 0).expect("valid");
        assert_eq!(clock_time(Language::En, time), "4:30 PM");
        assert_eq!(clock_time(Language::Ar, time), "٤:٣٠ م");
        let morning = NaiveTime::from_hms_opt(9, 5, 0).expect("valid");
        assert_eq!(clock_time(Language::En, morning), "9:05 AM");
        assert_eq!(clock_time(Language::Ar, morning), "٩:٠٥ ص");
    }
}

/// The placeholders a reminder may use, in the order the Cloud API template receives them.
pub const REMINDER_PLACEHOLDERS: [&str; 4] = [
    "patient_name",
    "appointment_date",
    "appointment_time",
    "doctor_name",
];

/// The placeholders a feedback request may use, in the Cloud API template's order.
pub const FEEDBACK_PLACEHOLDERS: [&str; 3] = ["patient_name", "doctor_name", "feedback_link"];

/// One message's text in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bilingual {
    pub ar: Template,
    pub en: Template,
}

impl Bilingual {
    fn parse(settings: [(&str, &str); 2], known: &[&str]) -> Result<Self, TemplateError> {
        let [(ar_setting, ar), (en_setting, en)] = settings;
        Ok(Self {
            ar: Template::parse(ar_setting, ar, known)?,
            en: Template::parse(en_setting, en, known)?,
        })
    }

    /// Returns the template in `language`.
    pub fn get(&self, language: Language) -> &Template {
        match language {
            Language::Ar => &self.ar,
            Language::En => &self.en,
        }
    }
}

/// Every configured patient message template, checked at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Templates {
    pub reminder_confirmed: Bilingual,
    pub reminder_unconfirmed: Bilingual,
    pub reminder_day_before_confirmed: Bilingual,
    pub reminder_day_before_unconfirmed: Bilingual,
    pub feedback: Bilingual,
}

impl Templates {
    /// Parses the templates of `config`; the error names the setting at fault.
    pub fn from_config(
        config: &crate::config::messaging::MessagingConfig,
    ) -> Result<Self, TemplateError> {
        Ok(Self {
            reminder_confirmed: Bilingual::parse(
                [
                    (
                        "NABD_TEMPLATE_REMINDER_CONFIRMED_AR",
                        &config.template_reminder_confirmed_ar,
                    ),
                    (
                        "NABD_TEMPLATE_REMINDER_CONFIRMED_EN",
                        &config.template_reminder_confirmed_en,
                    ),
                ],
                &REMINDER_PLACEHOLDERS,
            )?,
            reminder_unconfirmed: Bilingual::parse(
                [
                    (
                        "NABD_TEMPLATE_REMINDER_UNCONFIRMED_AR",
                        &config.template_reminder_unconfirmed_ar,
                    ),
                    (
                        "NABD_TEMPLATE_REMINDER_UNCONFIRMED_EN",
                        &config.template_reminder_unconfirmed_en,
                    ),
                ],
                &REMINDER_PLACEHOLDERS,
            )?,
            reminder_day_before_confirmed: Bilingual::parse(
                [
                    (
                        "NABD_TEMPLATE_REMINDER_DAY_BEFORE_CONFIRMED_AR",
                        &config.template_reminder_day_before_confirmed_ar,
                    ),
                    (
                        "NABD_TEMPLATE_REMINDER_DAY_BEFORE_CONFIRMED_EN",
                        &config.template_reminder_day_before_confirmed_en,
                    ),
                ],
                &REMINDER_PLACEHOLDERS,
            )?,
            reminder_day_before_unconfirmed: Bilingual::parse(
                [
                    (
                        "NABD_TEMPLATE_REMINDER_DAY_BEFORE_UNCONFIRMED_AR",
                        &config.template_reminder_day_before_unconfirmed_ar,
                    ),
                    (
                        "NABD_TEMPLATE_REMINDER_DAY_BEFORE_UNCONFIRMED_EN",
                        &config.template_reminder_day_before_unconfirmed_en,
                    ),
                ],
                &REMINDER_PLACEHOLDERS,
            )?,
            feedback: Bilingual::parse(
                [
                    ("NABD_TEMPLATE_FEEDBACK_AR", &config.template_feedback_ar),
                    ("NABD_TEMPLATE_FEEDBACK_EN", &config.template_feedback_en),
                ],
                &FEEDBACK_PLACEHOLDERS,
            )?,
        })
    }
}

/// Returns `values` in the order of `placeholders` (a Cloud API template's body parameters).
pub fn params_in_order(placeholders: &[&str], values: &HashMap<&str, String>) -> Vec<String> {
    placeholders
        .iter()
        .map(|name| values.get(name).cloned().unwrap_or_default())
        .collect()
}
