//! The one clock the whole program reads: the real time in the clinic's time zone, or the fixed
//! `NABD_NOW` for demos and tests. Nothing else calls `Utc::now()`.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Tells the time in the clinic's time zone.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    tz: Tz,
    fixed: Option<DateTime<Tz>>,
}

/// The fixed time does not exist, or exists twice, on the clinic's wall clock (a DST change).
#[derive(Debug, thiserror::Error)]
#[error("NABD_NOW {0} is not a single moment in time zone {1}")]
pub struct AmbiguousNow(NaiveDateTime, Tz);

impl Clock {
    /// Returns a clock that follows real time in `tz`.
    pub fn system(tz: Tz) -> Self {
        Self { tz, fixed: None }
    }

    /// Returns a clock stopped at the clinic-local time `now`.
    pub fn fixed(tz: Tz, now: NaiveDateTime) -> Result<Self, AmbiguousNow> {
        let fixed = tz
            .from_local_datetime(&now)
            .single()
            .ok_or(AmbiguousNow(now, tz))?;
        Ok(Self {
            tz,
            fixed: Some(fixed),
        })
    }

    /// Returns the current moment in the clinic's time zone.
    pub fn now(&self) -> DateTime<Tz> {
        self.fixed
            .unwrap_or_else(|| Utc::now().with_timezone(&self.tz))
    }

    /// Returns the clinic-local calendar date of today.
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Returns the clinic's time zone.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Returns the machine's real current instant. Waiting is always real: staggered sends and
    /// retries are this many real seconds away even when `NABD_NOW` stops the clinic's clock.
    pub fn real_now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    /// Returns the real instant at which the clinic clock will read `local` (when the clock is
    /// stopped, as far from the real now as `local` is from the stopped time).
    pub fn real_instant_of(&self, local: DateTime<Tz>) -> DateTime<Utc> {
        match self.fixed {
            Some(fixed) => self.real_now() + (local - fixed),
            None => local.with_timezone(&Utc),
        }
    }

    /// Returns the clinic-local time at the real instant `at` (for a stopped clock, the stopped
    /// time moved by the distance between `at` and the real now).
    pub fn local_at(&self, at: DateTime<Utc>) -> DateTime<Tz> {
        match self.fixed {
            Some(fixed) => fixed + (at - self.real_now()),
            None => at.with_timezone(&self.tz),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;

    #[test]
    fn a_fixed_clock_reports_the_fixed_local_time_and_date() {
        let now = NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(23, 30, 0))
            .expect("valid");
        let clock = Clock::fixed(chrono_tz::Asia::Riyadh, now).expect("Riyadh has no DST");
        assert_eq!(clock.now().naive_local(), now);
        assert_eq!(clock.today(), now.date());
        // 23:30 in Riyadh (UTC+3) is 20:30 UTC on the same day.
        assert_eq!(clock.now().with_timezone(&Utc).hour(), 20);
    }

    #[test]
    fn a_time_skipped_by_daylight_saving_is_refused() {
        let skipped = NaiveDate::from_ymd_opt(2026, 3, 29)
            .and_then(|d| d.and_hms_opt(2, 30, 0))
            .expect("valid");
        assert!(Clock::fixed(chrono_tz::Europe::Berlin, skipped).is_err());
    }
}
