//! The typed values settings are parsed into, shared by every part of the configuration: secrets
//! that never print, cron schedules and ranges, each checked once when the setting is read.

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A cron schedule with seconds (`sec min hour day month weekday`), checked when the setting is
/// read, so the job runtime never parses one again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule(pub cron::Schedule);

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A setting that must never be printed (it may hold a password). `Debug` and `Display` show
/// only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// Returns the secret itself; call it only where the value is used, never to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

pub(crate) fn parse_cron(value: &str) -> Result<Schedule, String> {
    cron::Schedule::from_str(value.trim())
        .map(Schedule)
        .map_err(|error| {
            format!(
                "{value:?} is not a cron schedule with seconds (sec min hour day month weekday), \
                 such as \"0 */15 * * * *\": {error}"
            )
        })
}

pub(crate) fn parse_range(value: &str) -> Result<RangeInclusive<u32>, String> {
    let (low, high) = value
        .split_once('-')
        .ok_or_else(|| format!("{value:?} is not a range such as 40-120"))?;
    let low: u32 = low
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a range such as 40-120"))?;
    let high: u32 = high
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a range such as 40-120"))?;
    if low > high {
        return Err(format!(
            "{value:?}: the first number must not exceed the second"
        ));
    }
    Ok(low..=high)
}
