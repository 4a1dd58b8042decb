//! The message log as the admin page reaches it: every outbox message with its state and the
//! provider's delivery status, filters, and the admin's decision on an `uncertain` message.

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
}

/// Every state an outbox message can be in, in its life's order.
pub const STATES: [&str; 7] = [
    "queued",
    "sending",
    "sent",
    "failed",
    "uncertain",
    "skipped",
    "cancelled",
];

/// What the log shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogFilter {
    pub kind: Option<String>,
    pub state: Option<String>,
    /// A mobile in any form.
    pub to: Option<String>,
}

/// Why the log could not be shown or changed; the page translates each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogError {
    Unauthenticated,
    Forbidden,
    /// A filter value is not valid (an unknown kind or state, a number that is not a mobile).
    BadFilter,
    /// The message is not `uncertain` (any more).
    NotUncertain,
    Unexpected(String),
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unauthenticated => f.write_str("sign in first"),
            Self::Forbidden => f.write_str("your role may not do this"),
            Self::BadFilter => f.write_str("a filter is not valid"),
            Self::NotUncertain => f.write_str("the message is not uncertain"),
            Self::Unexpected(detail) => write!(f, "unexpected error: {detail}"),
        }
    }
}

impl std::error::Error for LogError {}

impl leptos::server_fn::error::FromServerFnError for LogError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        Self::Unexpected(value.to_string())
    }
}

/// The server side of the log.
#[cfg(feature = "ssr")]
pub mod source {
    use super::{LogEntry, LogError, LogFilter};
    use std::pin::Pin;
    use std::sync::Arc;

    /// A boxed future of the port.
    pub type Fut<'a, T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send + 'a>>;

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

    /// The source in Leptos's context for server functions.
    #[derive(Clone)]
    pub struct MessageLog(pub Arc<dyn MessageLogSource>);
}

#[cfg(feature = "ssr")]
fn request_and_source() -> Result<(http::request::Parts, source::MessageLog), LogError> {
    let parts = leptos::prelude::use_context::<http::request::Parts>()
        .ok_or_else(|| LogError::Unexpected("no request".to_owned()))?;
    let log = leptos::prelude::use_context::<source::MessageLog>()
        .ok_or_else(|| LogError::Unexpected("not configured".to_owned()))?;
    Ok((parts, log))
}

/// Returns the newest 200 messages of `kind`, in `state`, to the mobile `to` (each optional;
/// flat arguments, so that an empty filter is an empty form).
#[leptos::server(prefix = "/api", endpoint = "admin/messages")]
pub async fn list_messages(
    kind: Option<String>,
    state: Option<String>,
    to: Option<String>,
) -> Result<Vec<LogEntry>, LogError> {
    let (parts, log) = request_and_source()?;
    log.0.list(&parts, LogFilter { kind, state, to }).await
}

/// Resolves an uncertain message: `sent` or `requeue`.
#[leptos::server(prefix = "/api", endpoint = "admin/messages/resolve")]
pub async fn resolve_message(id: i64, action: String) -> Result<(), LogError> {
    let (parts, log) = request_and_source()?;
    log.0.resolve(&parts, id, action).await
}
