//! The message log as the admin page reaches it: every outbox message with its state and the
//! provider's delivery status, filters, and the admin's decision on an `uncertain` message.

pub mod page;

use serde::{Deserialize, Serialize};

/// One outbox message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub scheduled_at: String,
    pub sent_at: Option<String>,
    pub error: Option<String>,
    pub delivery_status: Option<String>,
    /// Which reminder touch it is (`day_before`, `same_day`).
    #[serde(default)]
    pub touch: Option<String>,
}

/// The state of an outbox message. The one list of them: the server's outbox stores
/// [`MessageState::as_str`] and the log's filter offers [`MessageState::ALL`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageState {
    /// Waiting for its time (or a retry).
    Queued,
    /// Claimed and being handed to the provider.
    Sending,
    /// The provider took it.
    Sent,
    /// Failed for good.
    Failed,
    /// Its process stopped mid-hand-off: it may or may not have gone; an admin decides.
    Uncertain,
    /// Never to be sent (do-not-contact, expired).
    Skipped,
    /// Withdrawn before it went (a cancelled broadcast).
    Cancelled,
}

impl MessageState {
    /// Every state, in a message's life's order.
    pub const ALL: [Self; 7] = [
        Self::Queued,
        Self::Sending,
        Self::Sent,
        Self::Failed,
        Self::Uncertain,
        Self::Skipped,
        Self::Cancelled,
    ];

    /// Returns the stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Uncertain => "uncertain",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }
}

impl std::str::FromStr for MessageState {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == value)
            .ok_or_else(|| format!("unknown message state {value:?}"))
    }
}

impl std::fmt::Display for MessageState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the log shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFilter {
    pub kind: Option<String>,
    pub state: Option<String>,
    /// A mobile in any form.
    pub to: Option<String>,
}

/// Why the log could not be shown or changed; the page translates each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum LogError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    /// A filter value is not valid (an unknown kind or state, a number that is not a mobile).
    #[error("a filter is not valid")]
    BadFilter,
    /// The message is not `uncertain` (any more).
    #[error("the message is not uncertain")]
    NotUncertain,
    #[error("unexpected error: {0}")]
    Unexpected(String),
}

crate::page_error!(LogError);

impl crate::port::Refused for LogError {
    fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BadFilter => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotUncertain => StatusCode::CONFLICT,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The server side of the log.
#[cfg(feature = "ssr")]
pub mod source {
    use super::{LogEntry, LogError, LogFilter};

    /// A boxed future of the port.
    pub type Fut<'a, T> = crate::port::PortFuture<'a, T, LogError>;

    /// Reads the outbox and resolves uncertain messages for the request's signed-in admin.
    pub trait MessageLogSource: Send + Sync {
        fn list<'a>(
            &'a self,
            request: &'a http::request::Parts,
            filter: LogFilter,
        ) -> Fut<'a, Vec<LogEntry>>;
        /// `sent`: the patient did get it; `requeue`: send it again (audited).
        fn resolve<'a>(
            &'a self,
            request: &'a http::request::Parts,
            id: i64,
            action: String,
        ) -> Fut<'a, ()>;
    }
}

/// Returns the newest 200 messages of `kind`, in `state`, to the mobile `to` (each optional;
/// flat arguments, so that an empty filter is an empty form).
#[leptos::server(prefix = "/api", endpoint = "admin/messages")]
pub async fn list_messages(
    kind: Option<String>,
    state: Option<String>,
    to: Option<String>,
) -> Result<Vec<LogEntry>, LogError> {
    crate::port::answer(
        async move {
            let (parts, log) =
                crate::port::request_and::<dyn source::MessageLogSource, LogError>()?;
            log.list(&parts, LogFilter { kind, state, to }).await
        }
        .await,
    )
}

/// Resolves an uncertain message: `sent` or `requeue`.
#[leptos::server(prefix = "/api", endpoint = "admin/messages/resolve")]
pub async fn resolve_message(
    id: i64,
    action: String,
    csrf: Option<String>,
) -> Result<(), LogError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, log) =
                crate::port::request_and::<dyn source::MessageLogSource, LogError>()?;
            log.resolve(&parts, id, action).await
        }
        .await,
    )
}
