//! Why a message is sent, with its one stored name.

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
}

impl Kind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::Reminder,
        Self::Feedback,
        Self::Campaign,
        Self::Broadcast,
        Self::Manual,
    ];

    /// Returns the name stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Feedback => "feedback",
            Self::Campaign => "campaign",
            Self::Broadcast => "broadcast",
            Self::Manual => "manual",
        }
    }

    /// Tells whether the message is marketing.
    pub fn is_marketing(self) -> bool {
        matches!(self, Self::Campaign | Self::Broadcast)
    }

    /// Tells whether the message counts against a patient's daily contact budget (reminders
    /// and messages typed by staff for one patient do not).
    pub fn counts_against_budget(self) -> bool {
        !matches!(self, Self::Reminder | Self::Manual)
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
            other => return Err(format!("unknown message kind {other:?}")),
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
