//! What a message is, each with its one stored name: why it is sent ([`Kind`]) and, for a
//! reminder, which touch it is ([`Touch`]).

use std::fmt;
use std::str::FromStr;

/// Why a message is sent. Reminders are service messages; campaign and broadcast messages are
/// marketing (an exclusion "from marketing" stops only those).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Reminder,
    Feedback,
    Campaign,
    Broadcast,
    Manual,
    /// A staff answer from the inbox to a patient who wrote.
    Reply,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 6] = [
        Self::Reminder,
        Self::Feedback,
        Self::Campaign,
        Self::Broadcast,
        Self::Manual,
        Self::Reply,
    ];

    /// Returns the name stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Feedback => "feedback",
            Self::Campaign => "campaign",
            Self::Broadcast => "broadcast",
            Self::Manual => "manual",
            Self::Reply => "reply",
        }
    }

    /// Tells whether the message is marketing.
    pub fn is_marketing(self) -> bool {
        matches!(self, Self::Campaign | Self::Broadcast)
    }

    /// Tells whether the message counts against a patient's daily contact budget (reminders
    /// and messages typed by staff for one patient do not).
    pub fn counts_against_budget(self) -> bool {
        !matches!(self, Self::Reminder | Self::Manual | Self::Reply)
    }

    /// Tells whether the message waits for the sending hours (a staff reply answers a patient
    /// who just wrote, so it goes at once).
    pub fn waits_for_sending_hours(self) -> bool {
        !matches!(self, Self::Reply)
    }
}

impl FromStr for Kind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(match value {
            "reminder" => Self::Reminder,
            "feedback" => Self::Feedback,
            "campaign" => Self::Campaign,
            "broadcast" => Self::Broadcast,
            "manual" => Self::Manual,
            "reply" => Self::Reply,
            other => return Err(format!("unknown message kind {other:?}")),
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which reminder of an appointment a message is: the evening before, or on the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Touch {
    /// For tomorrow's appointments, in the evening slot.
    DayBefore,
    /// On the day, within the status's window before it starts.
    SameDay,
}

impl Touch {
    /// Every touch, in the order a patient receives them.
    pub const ALL: [Self; 2] = [Self::DayBefore, Self::SameDay];

    /// Returns the name stored in the outbox (and used in settings and the CLI).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DayBefore => "day_before",
            Self::SameDay => "same_day",
        }
    }
}

impl FromStr for Touch {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|touch| touch.as_str() == value.trim())
            .ok_or_else(|| format!("unknown reminder touch {value:?} (day_before or same_day)"))
    }
}

impl fmt::Display for Touch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
