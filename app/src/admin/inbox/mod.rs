//! The inbox and the reception's list as the admin pages reach them: patients' replies gathered
//! per number, with the thread of what Nabd sent and what came back, marking a conversation
//! handled, answering it, and the day's appointments whose patients answered. Admins only.
//! `admin/inbox` is the inbox's page, `admin/replies` the reception's list.

pub mod page;
pub mod replies;

use serde::{Deserialize, Serialize};

/// One conversation as the inbox lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationSummary {
    /// E.164, with its `+`.
    pub mobile: String,
    /// From the PMS, looked up once when the conversation started (`None`: not known).
    pub patient_name: Option<String>,
    pub last_at: String,
    /// What needs acting on (`cancel`, `reschedule`, `book`, `question`), else the newest
    /// message's intent (`confirm`, `stop`, `other`).
    pub intent: Option<String>,
    pub handled: bool,
    /// Messages from the patient since an admin last opened it.
    pub unread: i64,
    /// The patient's newest message.
    pub last_text: String,
}

/// One message of a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadEntry {
    /// `in` (from the patient) or `out` (from Nabd).
    pub direction: String,
    pub at: String,
    pub body: String,
    /// `text`, `button`, `interactive`, `image`, ...
    #[serde(rename = "type")]
    pub message_type: String,
    /// An inbound message's intent.
    pub intent: Option<String>,
    /// An outbound message's kind, or the kind of message an inbound one answers.
    pub kind: Option<String>,
    pub appointment_id: Option<i64>,
    /// An outbound message's state or delivery status.
    pub state: Option<String>,
}

/// Whether staff may answer in free text now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyWindow {
    /// The provider limits free text to 24 hours after the patient's last message (Cloud API).
    pub applies: bool,
    /// When the window closes, while it is open.
    pub closes_at: Option<String>,
    pub minutes_left: Option<i64>,
    /// Outside the window, a reply can go as the approved `manual` template.
    pub template_fallback: bool,
}

/// A conversation, opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub summary: ConversationSummary,
    pub thread: Vec<ThreadEntry>,
    pub window: ReplyWindow,
}

/// One appointment whose patient answered, for the reception's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentReply {
    pub appointment_id: i64,
    pub patient_name: String,
    pub mobile: String,
    pub doctor: String,
    /// `HH:MM`, clinic time.
    pub starts_at: String,
    pub intent: String,
    pub text: String,
    pub replied_at: String,
}

/// The reception's list of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayReplies {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The clinic's today and tomorrow (the list's two links).
    pub today: String,
    pub tomorrow: String,
    pub replies: Vec<AppointmentReply>,
}

/// Why the inbox could not be shown or changed; the page translates each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum InboxError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    #[error("unknown filter")]
    BadFilter,
    #[error("not a valid mobile number")]
    BadNumber,
    #[error("a date is not valid")]
    BadDate,
    #[error("there is no conversation with this number")]
    NotFound,
    #[error("the reply is empty")]
    EmptyReply,
    #[error("the reply is too long")]
    TooLong,
    /// The Cloud API's 24-hour window is closed and no `manual` template is configured.
    #[error("the reply window is closed")]
    WindowClosed,
    #[error("unexpected error: {0}")]
    Unexpected(String),
}

crate::page_error!(InboxError);

impl crate::port::Refused for InboxError {
    fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadFilter
            | Self::BadNumber
            | Self::BadDate
            | Self::EmptyReply
            | Self::TooLong
            | Self::WindowClosed => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The server side of the inbox.
#[cfg(feature = "ssr")]
pub mod source {
    use super::{Conversation, ConversationSummary, DayReplies, InboxError};

    /// A boxed future of the port.
    pub type Fut<'a, T> = crate::port::PortFuture<'a, T, InboxError>;

    /// The inbox for the request's signed-in admin. `poll`: the page refreshing itself, which
    /// does not count as activity for the session's idle timeout.
    pub trait InboxSource: Send + Sync {
        fn list<'a>(
            &'a self,
            request: &'a http::request::Parts,
            filter: Option<String>,
            search: Option<String>,
            poll: bool,
        ) -> Fut<'a, Vec<ConversationSummary>>;
        fn open<'a>(
            &'a self,
            request: &'a http::request::Parts,
            mobile: String,
            poll: bool,
        ) -> Fut<'a, Conversation>;
        fn reply<'a>(
            &'a self,
            request: &'a http::request::Parts,
            mobile: String,
            body: String,
        ) -> Fut<'a, ()>;
        fn mark_handled<'a>(
            &'a self,
            request: &'a http::request::Parts,
            mobile: String,
        ) -> Fut<'a, ()>;
        /// How many conversations need action (always a poll); `None` for a caller who may
        /// not see the inbox (signed out, or a viewer), who is shown no count.
        fn count<'a>(&'a self, request: &'a http::request::Parts) -> Fut<'a, Option<i64>>;
        fn day<'a>(
            &'a self,
            request: &'a http::request::Parts,
            date: Option<String>,
        ) -> Fut<'a, DayReplies>;
    }
}

#[cfg(feature = "ssr")]
type Request = (
    http::request::Parts,
    std::sync::Arc<dyn source::InboxSource>,
);

#[cfg(feature = "ssr")]
fn inbox() -> Result<Request, InboxError> {
    crate::port::request_and::<dyn source::InboxSource, InboxError>()
}

/// Lists conversations: `filter` `needs_action` (default), `confirmations` or `all`; `q` part
/// of a number or name.
#[leptos::server(prefix = "/api", endpoint = "admin/inbox")]
pub async fn list_conversations(
    filter: Option<String>,
    q: Option<String>,
    poll: bool,
) -> Result<Vec<ConversationSummary>, InboxError> {
    crate::port::answer(
        async move {
            let (parts, inbox) = inbox()?;
            inbox.list(&parts, filter, q, poll).await
        }
        .await,
    )
}

/// Opens one conversation (its unread count goes to zero).
#[leptos::server(prefix = "/api", endpoint = "admin/inbox/open")]
pub async fn open_conversation(mobile: String, poll: bool) -> Result<Conversation, InboxError> {
    crate::port::answer(
        async move {
            let (parts, inbox) = inbox()?;
            inbox.open(&parts, mobile, poll).await
        }
        .await,
    )
}

/// Answers a conversation through the outbox.
#[leptos::server(prefix = "/api", endpoint = "admin/inbox/reply")]
pub async fn reply_to(
    mobile: String,
    body: String,
    csrf: Option<String>,
) -> Result<(), InboxError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, inbox) = inbox()?;
            inbox.reply(&parts, mobile, body).await
        }
        .await,
    )
}

/// Marks a conversation handled.
#[leptos::server(prefix = "/api", endpoint = "admin/inbox/handled")]
pub async fn mark_handled(mobile: String, csrf: Option<String>) -> Result<(), InboxError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, inbox) = inbox()?;
            inbox.mark_handled(&parts, mobile).await
        }
        .await,
    )
}

/// How many conversations need action; `None` for a caller who may not see the inbox.
#[leptos::server(prefix = "/api", endpoint = "admin/inbox/count")]
pub async fn inbox_count() -> Result<Option<i64>, InboxError> {
    crate::port::answer(
        async move {
            let (parts, inbox) = inbox()?;
            inbox.count(&parts).await
        }
        .await,
    )
}

/// The reception's list of `date` (default today).
#[leptos::server(prefix = "/api", endpoint = "admin/replies")]
pub async fn list_day_replies(date: Option<String>) -> Result<DayReplies, InboxError> {
    crate::port::answer(
        async move {
            let (parts, inbox) = inbox()?;
            inbox.day(&parts, date).await
        }
        .await,
    )
}
