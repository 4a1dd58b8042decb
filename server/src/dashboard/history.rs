//! The clinic's settled daily revenue, remembered by Nabd so that the dashboard stops reading
//! a year of payments from the PMS every minute (design notes: keep load off the clinic's
//! production database). Days in the last [`OPEN_DAYS`] are always read from the clinic, since
//! late entries and corrections land there; an older day, once read, is remembered for
//! [`RECHECK_AFTER`] and then read again, which catches back-dated corrections. Memory only:
//! after a restart the first dashboard reads the year once.

use crate::gateway::{ClinicGateway, DailyRevenue, Days, GatewayError};
use chrono::{NaiveDate, TimeDelta};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Days this recent are always read from the clinic.
pub const OPEN_DAYS: u64 = 14;

/// How long a settled day's revenue is remembered before it is read again.
pub const RECHECK_AFTER: Duration = Duration::from_secs(24 * 3600);

/// Settled days' revenue in halalas, with when each was read.
#[derive(Debug, Default)]
pub struct RevenueHistory {
    days: Mutex<BTreeMap<NaiveDate, (i64, Instant)>>,
}

impl RevenueHistory {
    /// Returns an empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Returns the revenue of every day in `days` with revenue, oldest first: the open days and
    /// any settled day not remembered (or remembered too long) from the clinic, in at most one
    /// read each, the rest from memory.
    pub async fn revenue_by_day<G: ClinicGateway>(
        &self,
        gateway: &G,
        days: Days,
        today: NaiveDate,
    ) -> Result<Vec<DailyRevenue>, GatewayError> {
        let settled_until = (today - chrono::Days::new(OPEN_DAYS)).clamp(days.from, days.to);
        let open = Days::new(settled_until, days.to);
        let now = Instant::now();
        let (known, missing) = {
            let remembered = self.days.lock().unwrap_or_else(|e| e.into_inner());
            let mut known = Vec::new();
            let mut missing = Vec::new();
            let mut day = days.from;
            while day < settled_until {
                match remembered.get(&day) {
                    Some((halalas, read)) if now.duration_since(*read) < RECHECK_AFTER => {
                        known.push(DailyRevenue {
                            date: day,
                            halalas: *halalas,
                        });
                    }
                    _ => missing.push(day),
                }
                day += TimeDelta::days(1);
            }
            (known, missing)
        };
        let span = match (missing.first(), missing.last()) {
            (Some(first), Some(last)) => Some(Days::new(*first, *last + TimeDelta::days(1))),
            _ => None,
        };
        let settled_read = async {
            match span {
                // A year's first read goes in two concurrent halves, as the largest read.
                Some(span) => {
                    let (older, newer) = span.halves();
                    let (mut older, newer) = tokio::try_join!(
                        gateway.revenue_by_day(older),
                        gateway.revenue_by_day(newer)
                    )?;
                    older.extend(newer);
                    Ok(older)
                }
                None => Ok(Vec::new()),
            }
        };
        let (settled, open) = tokio::try_join!(settled_read, gateway.revenue_by_day(open))?;
        if let Some(span) = span {
            let read: BTreeMap<NaiveDate, i64> =
                settled.iter().map(|row| (row.date, row.halalas)).collect();
            let mut remembered = self.days.lock().unwrap_or_else(|e| e.into_inner());
            let mut day = span.from;
            while day < span.to {
                remembered.insert(day, (read.get(&day).copied().unwrap_or(0), now));
                day += TimeDelta::days(1);
            }
        }
        // Remembered days inside the span were read again with it; the fresh figure wins.
        let outside_span =
            |date: NaiveDate| span.is_none_or(|span| date < span.from || date >= span.to);
        let mut rows: Vec<DailyRevenue> = known
            .into_iter()
            .filter(|row| row.halalas != 0 && outside_span(row.date))
            .chain(settled.into_iter().filter(|row| row.date < settled_until))
            .chain(open)
            .collect();
        rows.sort_by_key(|row| row.date);
        Ok(rows)
    }
}
