//! Instants as Nabd's own database stores them: UTC text in one sortable form
//! (`2026-01-05T09:00:00.000Z`), so that comparing text compares time.

use chrono::{DateTime, SecondsFormat, Utc};

/// Writes `at` in the stored form.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads an instant in the stored form (or any RFC 3339 instant).
pub fn parse_stamp(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// Rewrites a stored instant as the clinic's local time with its offset
/// (`2026-01-05T06:31:00.000Z` in Riyadh is `2026-01-05T09:31:00+03:00`): the same instant,
/// in the time every admin page speaks. Text that is not an instant is returned as it is.
pub fn local_stamp(clock: &crate::platform::clock::Clock, stored: &str) -> String {
    parse_stamp(stored).map_or_else(
        || stored.to_owned(),
        |at| {
            clock
                .local_at(at)
                .fixed_offset()
                .to_rfc3339_opts(SecondsFormat::Secs, false)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_instant_reads_in_the_clinic_time_zone() {
        let clock = crate::platform::clock::Clock::system(chrono_tz::Asia::Riyadh);
        assert_eq!(
            local_stamp(&clock, "2026-01-05T06:31:00.000Z"),
            "2026-01-05T09:31:00+03:00"
        );
        assert_eq!(local_stamp(&clock, "not a time"), "not a time");
    }

    #[test]
    fn stamps_sort_as_text_in_time_order_and_read_back() {
        let early = DateTime::from_timestamp(1_767_600_000, 5_000_000).expect("valid");
        let late = DateTime::from_timestamp(1_767_600_010, 0).expect("valid");
        assert!(stamp(early) < stamp(late));
        assert_eq!(stamp(early), "2026-01-05T08:00:00.005Z");
        assert_eq!(parse_stamp(&stamp(early)), Some(early));
    }
}
