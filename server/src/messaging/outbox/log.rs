//! The message log: the outbox as the CLI, the JSON API and the admin page read it (one
//! function for all three), and an admin's decision on an `uncertain` message.

use super::State;
use crate::messaging::kind::Kind;
use crate::platform::phone::{Mobile, Region};
use crate::platform::time::stamp;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One outbox row as the CLI and the admin pages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub body: String,
    pub key: String,
    pub state: String,
    pub attempts: i64,
    pub scheduled_at: String,
    pub sent_at: Option<String>,
    pub error: Option<String>,
    pub provider: Option<String>,
    pub delivery_status: Option<String>,
    pub batch: Option<String>,
    /// Which reminder touch it is (`day_before`, `same_day`).
    pub touch: Option<String>,
    pub created_at: String,
}
/// The outbox at a glance, for metrics: every kind and state of this build with its count
/// (zero included, so a state that empties reads 0 rather than vanishing), and the send time
/// of the oldest queued message already due.
#[derive(Debug, Clone, PartialEq)]
pub struct Census {
    pub counts: Vec<(Kind, State, i64)>,
    pub oldest_due: Option<DateTime<Utc>>,
}

/// Counts the outbox's messages by kind and state, and finds the oldest due queued one at
/// `now`.
pub async fn census(
    db: &crate::platform::store::Db,
    now: DateTime<Utc>,
) -> Result<Census, sqlx::Error> {
    // language=SQL
    let rows: Vec<(String, String, i64)> = crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT kind, state, CAST(COUNT(*) AS BIGINT) FROM outbox GROUP BY kind, state"
        )
    )?;
    let mut counts = Vec::with_capacity(Kind::ALL.len() * State::ALL.len());
    for kind in Kind::ALL {
        for state in State::ALL {
            let count = rows
                .iter()
                .find(|(k, s, _)| k == kind.as_str() && s == state.as_str())
                .map_or(0, |(_, _, count)| *count);
            counts.push((kind, state, count));
        }
    }
    // language=SQL
    let oldest: Option<String> = crate::db!(
        db,
        fetch_one,
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT MIN(not_before) FROM outbox WHERE state = 'queued' AND not_before <= $1"
        )
        .bind(stamp(now))
    )?;
    Ok(Census {
        counts,
        oldest_due: oldest
            .as_deref()
            .and_then(crate::platform::time::parse_stamp),
    })
}

/// What `nabd outbox list` and the message log filter on, as typed values.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub kind: Option<Kind>,
    pub state: Option<State>,
    /// A recipient in E.164.
    pub to: Option<String>,
    /// At most this many rows; 0 or less means all.
    pub limit: i64,
}

/// How many messages the log shows when it is not told.
pub const DEFAULT_LIMIT: i64 = 200;
/// The most messages one read of the log returns.
pub const MAX_LIMIT: i64 = 1000;

/// The log's filter as a person typed it (the admin page's form, the JSON API's query string);
/// each part optional, blank meaning "any".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogQuery {
    pub kind: Option<String>,
    pub state: Option<String>,
    /// A mobile in any form staff type.
    pub to: Option<String>,
    /// At most this many rows (1 to [`MAX_LIMIT`]; [`DEFAULT_LIMIT`] when not given).
    pub limit: Option<i64>,
}

/// A filter value of the log that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("unknown message kind {0:?}")]
    Kind(String),
    #[error("unknown message state {0:?}")]
    State(String),
    /// The number is not a mobile; `code` is the phone parser's (`unparseable`, ...).
    #[error("{input:?} is not a mobile number ({code})")]
    Mobile { input: String, code: &'static str },
}

impl FilterError {
    /// A stable code for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Kind(_) => "bad_kind",
            Self::State(_) => "bad_state",
            Self::Mobile { code, .. } => code,
        }
    }
}

impl LogQuery {
    /// Checks every part and returns the typed filter.
    pub fn parse(&self, region: Region) -> Result<ListFilter, FilterError> {
        let text = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let kind = text(&self.kind)
            .map(|kind| kind.parse::<Kind>().map_err(|_| FilterError::Kind(kind)))
            .transpose()?;
        let state = text(&self.state)
            .map(|state| {
                state
                    .parse::<State>()
                    .map_err(|_| FilterError::State(state))
            })
            .transpose()?;
        let to = text(&self.to)
            .map(|raw| {
                Mobile::parse(&raw, region)
                    .map(|mobile| mobile.e164().to_owned())
                    .map_err(|error| FilterError::Mobile {
                        code: error.code(),
                        input: raw,
                    })
            })
            .transpose()?;
        Ok(ListFilter {
            kind,
            state,
            to,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        })
    }
}

/// Lists outbox messages, newest first.
pub async fn list(
    db: &crate::platform::store::Db,
    filter: &ListFilter,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    // language=SQL
    crate::db!(
        db,
        fetch_all,
        sqlx::query_as(
            "SELECT id, kind, recipient AS \"to\", body, idempotency_key AS key, state, attempts,
                not_before AS scheduled_at, sent_at, error, provider, delivery_status, batch,
                touch, created_at
         FROM outbox
         WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR state = $2)
           AND ($3 IS NULL OR recipient = $3)
         ORDER BY id DESC LIMIT $4",
        )
        .bind(filter.kind.map(Kind::as_str))
        .bind(filter.state.map(State::as_str))
        .bind(&filter.to)
        .bind(if filter.limit > 0 { filter.limit } else { -1 })
    )
}

/// What an admin decided about an `uncertain` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The patient did get it: it counts as sent.
    Sent,
    /// It did not arrive: it goes again now.
    Requeue,
}

impl std::str::FromStr for Resolution {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "sent" => Ok(Self::Sent),
            "requeue" => Ok(Self::Requeue),
            _ => Err("the action is `sent` or `requeue`".to_owned()),
        }
    }
}

impl Resolution {
    /// The audit log's name for the decision.
    pub fn audit_action(self) -> &'static str {
        match self {
            Self::Sent => "uncertain_marked_sent",
            Self::Requeue => "uncertain_requeued",
        }
    }
}

/// Applies an admin's decision to the `uncertain` message `id`; false when there is no such
/// uncertain message. A requeued message is due at once (the caller delivers it).
pub async fn resolve_uncertain(
    db: &crate::platform::store::Db,
    id: i64,
    resolution: Resolution,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let new_state = match resolution {
        Resolution::Sent => State::Sent,
        Resolution::Requeue => State::Queued,
    };
    // language=SQL
    let done = crate::db!(
        db,
        execute,
        sqlx::query(
            "UPDATE outbox SET state = $1, not_before = $2, error = NULL, updated_at = $3
         WHERE id = $4 AND state = 'uncertain'",
        )
        .bind(new_state.as_str())
        .bind(stamp(now))
        .bind(stamp(now))
        .bind(id)
    )?;
    Ok(done > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_filter_is_checked_once_and_typed() {
        let region = Region::default();
        let filter = LogQuery {
            kind: Some(" reminder ".into()),
            state: Some("uncertain".into()),
            to: Some("0551234567".into()),
            limit: None,
        }
        .parse(region)
        .expect("valid");
        assert_eq!(filter.kind, Some(Kind::Reminder));
        assert_eq!(filter.state, Some(State::Uncertain));
        assert_eq!(filter.to.as_deref(), Some("+966551234567"));
        assert_eq!(filter.limit, DEFAULT_LIMIT);
        let blank = LogQuery {
            kind: Some(String::new()),
            limit: Some(5000),
            ..LogQuery::default()
        }
        .parse(region)
        .expect("blank is any");
        assert_eq!((blank.kind, blank.limit), (None, MAX_LIMIT));
        let bad = |query: LogQuery| query.parse(region).map(|_| ()).map_err(|e| e.code());
        assert_eq!(
            bad(LogQuery {
                kind: Some("spam".into()),
                ..LogQuery::default()
            }),
            Err("bad_kind")
        );
        assert_eq!(
            bad(LogQuery {
                state: Some("lost".into()),
                ..LogQuery::default()
            }),
            Err("bad_state")
        );
        assert!(
            bad(LogQuery {
                to: Some("12".into()),
                ..LogQuery::default()
            })
            .is_err()
        );
    }
}
