//! Mobile numbers: parsing what the front desk typed (`05XXXXXXXX`, `5XXXXXXXX`,
//! `9665XXXXXXXX`, with spaces, dashes or `+`, in Latin, Arabic-Indic `٠٥…` or Eastern Arabic
//! `۰۵…` digits, as Arabic keyboards type them) into E.164 with libphonenumber's metadata (the
//! `phonenumber` crate), never with hand-written prefix rules. Every number Nabd compares,
//! stores or sends is a [`Mobile`].

use phonenumber::country::Id;
use phonenumber::{Mode, PhoneNumber, Type};
use std::fmt;
use std::str::FromStr;

/// A valid mobile number in E.164 (`+9665XXXXXXXX`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mobile(String);

/// Why a number is not a mobile Nabd can message. `Display` is a short English reason for logs
/// and the CLI; the admin pages translate [`MobileError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileError {
    /// Nothing was written.
    #[error("no number")]
    Missing,
    /// The text is not a phone number at all.
    #[error("not a phone number")]
    Unparseable,
    /// A phone number, but not one that exists in its country's numbering plan.
    #[error("not a valid number")]
    Invalid,
    /// A valid number of a landline or a service, which cannot receive WhatsApp messages.
    #[error("not a mobile number")]
    NotMobile,
}

impl MobileError {
    /// Returns a stable code for the reason (`missing`, `unparseable`, `invalid`, `not_mobile`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Unparseable => "unparseable",
            Self::Invalid => "invalid",
            Self::NotMobile => "not_mobile",
        }
    }
}

/// The country whose local forms are assumed when a number has no country code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region(Id);

impl Default for Region {
    fn default() -> Self {
        Self(Id::SA)
    }
}

impl FromStr for Region {
    type Err = String;

    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Id::from_str(&code.trim().to_ascii_uppercase())
            .map(Self)
            .map_err(|_| format!("`{code}` is not an ISO 3166 country code such as SA or AE"))
    }
}

/// Tells whether `c` is a decimal digit in Latin (`0-9`), Arabic-Indic (`٠-٩`) or Eastern
/// Arabic / Persian (`۰-۹`) script.
pub fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
        || ('\u{0660}'..='\u{0669}').contains(&c)
        || ('\u{06F0}'..='\u{06F9}').contains(&c)
}

/// Writes every Arabic-Indic and Eastern Arabic digit of `text` as its Latin digit, leaving
/// everything else as it is.
pub fn latin_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            other => other,
        })
        .collect()
}

impl Mobile {
    /// Parses a number as typed at the desk (any of the three digit scripts), assuming `region`
    /// for local forms.
    pub fn parse(raw: &str, region: Region) -> Result<Self, MobileError> {
        let latin = latin_digits(raw);
        let trimmed = latin.trim();
        if trimmed.is_empty() {
            return Err(MobileError::Missing);
        }
        let number = parse_number(trimmed, region)?;
        if !number.is_valid() {
            return Err(MobileError::Invalid);
        }
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile => {}
            _ => return Err(MobileError::NotMobile),
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// Parses a number that may be absent (a nullable PMS column).
    pub fn parse_optional(raw: Option<&str>, region: Region) -> Result<Self, MobileError> {
        Self::parse(raw.unwrap_or_default(), region)
    }

    /// Returns the number in E.164, with its `+`.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// Returns the digits only, without `+` (what the WhatsApp bridges expect).
    pub fn digits(&self) -> &str {
        self.0.trim_start_matches('+')
    }

    /// Returns the number with all but its last three digits hidden, for reports.
    pub fn masked(&self) -> String {
        let digits = self.digits();
        let shown = digits.len().saturating_sub(3);
        let country_len = digits.len().min(3);
        format!(
            "+{}{}{}",
            &digits[..country_len],
            "•".repeat(shown.saturating_sub(country_len)),
            &digits[shown.max(country_len)..]
        )
    }
}

fn parse_number(text: &str, region: Region) -> Result<PhoneNumber, MobileError> {
    // "009665..." is the international dialling prefix typed out; "9665..." is the country code
    // without its "+". libphonenumber reads both when told the region, but only keeps the
    // country code when the rest is a valid number, which is what we want.
    let first = phonenumber::parse(Some(region.0), text).map_err(|_| MobileError::Unparseable)?;
    if first.is_valid() {
        return Ok(first);
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if !text.trim_start().starts_with('+')
        && !digits.starts_with('0')
        && let Ok(international) = phonenumber::parse(None, format!("+{digits}"))
        && international.is_valid()
    {
        return Ok(international);
    }
    Ok(first)
}

impl fmt::Display for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_typed_in_arabic_indic_or_persian_digits_are_the_same_mobile() {
        let region = Region::default();
        let latin = Mobile::parse("0538144494", region).expect("valid");
        assert_eq!(latin.e164(), "+966538144494");
        assert_eq!(Mobile::parse("٠٥٣٨١٤٤٤٩٤", region), Ok(latin.clone()));
        assert_eq!(Mobile::parse("۰۵۳۸۱۴۴۴۹۴", region), Ok(latin.clone()));
        assert_eq!(Mobile::parse("+٩٦٦ ٥٣ ٨١٤ ٤٤٩٤", region), Ok(latin));
        assert_eq!(
            latin_digits("٠١٢٣٤٥٦٧٨٩ ۰۱۲۳۴۵۶۷۸۹ x"),
            "0123456789 0123456789 x"
        );
        assert!(is_digit('٧') && is_digit('۷') && is_digit('7') && !is_digit('x'));
        assert_eq!(
            Mobile::parse("٠١١٤٦٥٠٠٠٠", region),
            Err(MobileError::NotMobile),
            "a Riyadh landline is still a landline"
        );
    }

    fn sa(raw: &str) -> Result<String, MobileError> {
        Mobile::parse(raw, Region::default()).map(|m| m.e164().to_owned())
    }

    #[test]
    fn every_local_saudi_form_becomes_the_same_e164_number() {
        for raw in [
            "0501234567",
            "501234567",
            "966501234567",
            "+966501234567",
            "00966501234567",
            "050 123 4567",
            "050-123-4567",
            "+966 50 123 4567",
            " 0501234567 ",
        ] {
            assert_eq!(sa(raw).as_deref(), Ok("+966501234567"), "{raw}");
        }
    }

    #[test]
    fn a_number_of_another_country_keeps_its_own_code() {
        assert_eq!(sa("+971501234567").as_deref(), Ok("+971501234567"));
        assert_eq!(sa("971501234567").as_deref(), Ok("+971501234567"));
    }

    #[test]
    fn malformed_and_missing_numbers_are_refused_with_the_reason() {
        assert_eq!(sa(""), Err(MobileError::Missing));
        assert_eq!(sa("   "), Err(MobileError::Missing));
        assert_eq!(
            Mobile::parse_optional(None, Region::default()),
            Err(MobileError::Missing)
        );
        assert_eq!(sa("abc"), Err(MobileError::Unparseable));
        assert_eq!(sa("05012"), Err(MobileError::Invalid));
        assert_eq!(sa("05012345678901"), Err(MobileError::Invalid));
    }

    #[test]
    fn a_saudi_landline_is_not_a_mobile() {
        // 011 is Riyadh's landline area code.
        assert_eq!(sa("0114567890"), Err(MobileError::NotMobile));
    }

    #[test]
    fn digits_drop_the_plus_and_masking_keeps_the_country_and_last_three() {
        let mobile = Mobile::parse("0501234567", Region::default()).expect("valid");
        assert_eq!(mobile.digits(), "966501234567");
        assert_eq!(mobile.masked(), "+966••••••567");
    }

    #[test]
    fn a_region_is_an_iso_country_code() {
        assert_eq!("ae".parse::<Region>(), Ok(Region(Id::AE)));
        assert!("XX1".parse::<Region>().is_err());
    }
}
