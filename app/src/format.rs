//! Numbers, money and percentages as each language writes them: English with Western digits
//! (`SAR 12,345.50`, `94.1%`), Arabic with Arabic-Indic digits and Arabic separators
//! (`١٢٬٣٤٥٫٥٠ ر.س`, `٩٤٫١٪`). Plain functions, so the server and the browser render the
//! same text and hydration never disagrees.

use crate::i18n::Locale;

/// Writes `value` with `decimals` fraction digits and grouped thousands.
pub fn number(locale: Locale, value: f64, decimals: usize) -> String {
    let negative = value < 0.0;
    let fixed = format!("{:.*}", decimals, value.abs());
    let (whole, fraction) = fixed.split_once('.').unwrap_or((fixed.as_str(), ""));
    let (group, point) = match locale {
        Locale::en => (',', '.'),
        Locale::ar => ('\u{066C}', '\u{066B}'),
    };
    let mut grouped = String::with_capacity(fixed.len() + whole.len() / 3);
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push(group);
        }
        grouped.push(digit);
    }
    if !fraction.is_empty() {
        grouped.push(point);
        grouped.push_str(fraction);
    }
    let text = if negative && value != 0.0 {
        format!("-{grouped}")
    } else {
        grouped
    };
    match locale {
        Locale::en => text,
        Locale::ar => arabic_digits(&text),
    }
}

/// Writes an amount of `currency` (ISO 4217) with two decimals.
pub fn money(locale: Locale, value: f64, currency: &str) -> String {
    let amount = number(locale, value, 2);
    match (locale, currency) {
        (Locale::en, _) => format!("{currency} {amount}"),
        (Locale::ar, "SAR") => format!("{amount} ر.س"),
        (Locale::ar, _) => format!("{amount} {currency}"),
    }
}

/// Writes a share (0..1) as a percentage with one decimal.
pub fn percent(locale: Locale, share: f64) -> String {
    let value = number(locale, share * 100.0, 1);
    match locale {
        Locale::en => format!("{value}%"),
        Locale::ar => format!("{value}\u{066A}"),
    }
}

/// Writes digits (as in a clock time) in the language's digits.
pub fn digits(locale: Locale, text: &str) -> String {
    match locale {
        Locale::en => text.to_owned(),
        Locale::ar => arabic_digits(text),
    }
}

/// Returns the UTC offset an instant is written with, as a page names a time zone:
/// `2026-01-05T09:31:00+03:00` is `UTC+03:00`, `...Z` is `UTC`; `None` for text without one.
pub fn utc_offset(stamp: &str) -> Option<String> {
    let (_, time) = stamp.split_once('T')?;
    if time.ends_with('Z') {
        return Some("UTC".to_owned());
    }
    let sign = time.rfind(['+', '-'])?;
    let offset = &time[sign..];
    (offset.len() == 6).then(|| format!("UTC{offset}"))
}

/// Writes a whole count.
pub fn count(locale: Locale, value: i64) -> String {
    number(locale, value as f64, 0)
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_AR: [&str; 12] = [
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
];

/// Returns the full month name (1 = January) in Arabic, or its short English name.
pub fn month_name(locale: Locale, month: usize) -> &'static str {
    let names = match locale {
        Locale::en => &MONTHS_EN,
        Locale::ar => &MONTHS_AR,
    };
    names.get(month.wrapping_sub(1)).copied().unwrap_or("")
}

/// Writes a `YYYY-MM` month as "Jan 2026" / "يناير ٢٠٢٦"; unparseable text is returned as is.
pub fn month(locale: Locale, year_month: &str) -> String {
    let Some((year, month)) = year_month.split_once('-') else {
        return year_month.to_owned();
    };
    let Ok(month) = month.parse::<usize>() else {
        return year_month.to_owned();
    };
    let year = match locale {
        Locale::en => year.to_owned(),
        Locale::ar => arabic_digits(year),
    };
    format!("{} {year}", month_name(locale, month))
}

/// Writes a `YYYY-MM-DD` day as "5 Jan" / "٥ يناير"; unparseable text is returned as is.
pub fn day(locale: Locale, date: &str) -> String {
    let mut parts = date.splitn(3, '-').skip(1);
    let (Some(month), Some(day)) = (parts.next(), parts.next()) else {
        return date.to_owned();
    };
    let (Ok(month), Ok(day)) = (month.parse::<usize>(), day.parse::<u32>()) else {
        return date.to_owned();
    };
    let day = match locale {
        Locale::en => day.to_string(),
        Locale::ar => arabic_digits(&day.to_string()),
    };
    format!("{day} {}", month_name(locale, month))
}

fn arabic_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x0660 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_names_its_utc_offset() {
        assert_eq!(
            utc_offset("2026-01-05T09:31:00+03:00").as_deref(),
            Some("UTC+03:00")
        );
        assert_eq!(
            utc_offset("2026-01-05T06:31:00.000Z").as_deref(),
            Some("UTC")
        );
        assert_eq!(
            utc_offset("2026-01-05T01:00:00-05:00").as_deref(),
            Some("UTC-05:00")
        );
        assert_eq!(utc_offset("2026-01-05"), None);
    }

    #[test]
    fn english_groups_thousands_with_commas() {
        assert_eq!(number(Locale::en, 1_234_567.891, 2), "1,234,567.89");
        assert_eq!(number(Locale::en, 999.0, 0), "999");
        assert_eq!(number(Locale::en, 0.0, 2), "0.00");
        assert_eq!(money(Locale::en, 21835.0, "SAR"), "SAR 21,835.00");
        assert_eq!(percent(Locale::en, 0.9408), "94.1%");
    }

    #[test]
    fn arabic_uses_arabic_indic_digits_and_separators() {
        assert_eq!(number(Locale::ar, 12345.5, 2), "١٢٬٣٤٥٫٥٠");
        assert_eq!(money(Locale::ar, 21835.0, "SAR"), "٢١٬٨٣٥٫٠٠ ر.س");
        assert_eq!(percent(Locale::ar, 0.5), "٥٠٫٠٪");
        assert_eq!(count(Locale::ar, 54), "٥٤");
    }

    #[test]
    fn months_and_days_are_named_in_the_language() {
        assert_eq!(month(Locale::en, "2026-01"), "Jan 2026");
        assert_eq!(month(Locale::ar, "2025-12"), "ديسمبر ٢٠٢٥");
        assert_eq!(day(Locale::en, "2026-01-05"), "5 Jan");
        assert_eq!(day(Locale::ar, "2026-01-05"), "٥ يناير");
        assert_eq!(month(Locale::en, "garbage"), "garbage");
    }

    #[test]
    fn negative_amounts_keep_their_sign() {
        assert_eq!(number(Locale::en, -1500.0, 2), "-1,500.00");
    }
}

/// Percent-encodes a value for a URL's query string (everything but the unreserved characters).
pub fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            _ => format!("%{byte:02X}"),
        })
        .collect()
}
