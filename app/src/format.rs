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

/// Writes a whole count.
pub fn count(locale: Locale, value: i64) -> String {
    number(locale, value as f64, 0)
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
    fn negative_amounts_keep_their_sign() {
        assert_eq!(number(Locale::en, -1500.0, 2), "-1,500.00");
    }
}
