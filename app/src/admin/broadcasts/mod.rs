//! Manual broadcasts as the admin pages reach them: the review of a pasted or uploaded list of
//! numbers, the confirmation that queues the messages through the outbox, live progress and
//! cancelling the rest. Also the do-not-contact list's import, which reads lists the same way.
//! The DTOs, the errors the pages translate, the ssr port and the server functions (admins
//! only; a browser on another site is refused before they run).

pub mod page;

use serde::{Deserialize, Serialize};

/// Most characters a broadcast message may have (a WhatsApp template parameter holds 1,024).
pub const MAX_MESSAGE_CHARS: usize = 1000;

/// One line of a list that will not be messaged, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// The 1-based line (or CSV row) it came from.
    pub line: i64,
    /// What was written.
    pub input: String,
    /// The number in E.164, when it is a mobile.
    pub mobile: Option<String>,
    /// For invalid numbers: `missing`, `unparseable`, `invalid`, `not_mobile`; for duplicates:
    /// the line it first appeared on.
    pub reason: Option<String>,
}

/// How the list's numbers were judged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: i64,
    pub valid: i64,
    pub invalid: i64,
    pub duplicates: i64,
    pub excluded: i64,
}

/// Where the broadcast's messages are: queued (waiting or being handed over), sent, failed
/// (or uncertain), left out at send time (the number was excluded since), cancelled.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub skipped: i64,
    pub cancelled: i64,
}

/// One broadcast: its message, its reviewed list and, once confirmed, its progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastView {
    pub id: i64,
    pub body: String,
    /// `ar` or `en` (Arabic when the message has Arabic letters).
    pub language: String,
    /// `draft` (reviewed, not sent), `sending`, `done` or `cancelled`.
    pub state: String,
    pub created_by: String,
    pub created_at: String,
    pub sent_at: Option<String>,
    pub counts: Counts,
    /// The first 100 of each kind of left-out line.
    pub invalid: Vec<Rejected>,
    pub duplicates: Vec<Rejected>,
    pub excluded: Vec<Rejected>,
    pub progress: Progress,
}

/// A broadcast in the list of recent ones.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BroadcastSummary {
    pub id: i64,
    pub body: String,
    pub state: String,
    pub created_by: String,
    pub created_at: String,
    pub valid: i64,
    pub progress: Progress,
}

/// What importing a list into the do-not-contact list did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// Numbers newly excluded.
    pub added: i64,
    /// Numbers that were already on the list (or repeated in the file).
    pub already: i64,
    /// Lines that are not mobiles (the first 100).
    pub invalid: Vec<Rejected>,
    pub invalid_count: i64,
}

/// Why a broadcast (or an import) could not be reviewed, shown or changed; the pages translate
/// each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum BroadcastError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    #[error("the message is empty")]
    EmptyMessage,
    /// The message is longer than [`MAX_MESSAGE_CHARS`]; it has this many characters.
    #[error("the message has {0} characters; at most {max}", max = MAX_MESSAGE_CHARS)]
    MessageTooLong(usize),
    /// Nothing in the list looks like a phone number.
    #[error("the list holds no phone numbers")]
    NoNumbers,
    /// The file is not text (a spreadsheet saved as .xlsx, an image...).
    #[error("the file is not a text or CSV file")]
    NotText,
    /// The CSV cannot be read at this line (an unclosed quote...).
    #[error("the CSV cannot be read at line {0}")]
    MalformedCsv(u64),
    /// The list has more numbers than one broadcast may have.
    #[error("a list may hold at most {0} numbers")]
    TooMany(usize),
    #[error("no such broadcast")]
    NotFound,
    /// The broadcast was already sent or cancelled.
    #[error("the broadcast was already sent or cancelled")]
    NotDraft,
    #[error("unexpected error: {0}")]
    Unexpected(String),
}

impl BroadcastError {
    /// The stable code programs read (`no_numbers`, `not_draft`...).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::EmptyMessage => "empty_message",
            Self::MessageTooLong(_) => "message_too_long",
            Self::NoNumbers => "no_numbers",
            Self::NotText => "not_text",
            Self::MalformedCsv(_) => "malformed_csv",
            Self::TooMany(_) => "too_many",
            Self::NotFound => "not_found",
            Self::NotDraft => "not_draft",
            Self::Unexpected(_) => "internal",
        }
    }

    /// The HTTP status the refusal is answered with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            Self::Unauthenticated => http::StatusCode::UNAUTHORIZED,
            Self::Forbidden => http::StatusCode::FORBIDDEN,
            Self::NotFound => http::StatusCode::NOT_FOUND,
            Self::NotDraft => http::StatusCode::CONFLICT,
            Self::Unexpected(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
            Self::EmptyMessage
            | Self::MessageTooLong(_)
            | Self::NoNumbers
            | Self::NotText
            | Self::MalformedCsv(_)
            | Self::TooMany(_) => http::StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

crate::page_error!(BroadcastError);

impl crate::port::Refused for BroadcastError {
    /// The JSON API's status, written once above (the inherent method).
    fn status(&self) -> http::StatusCode {
        BroadcastError::status(self)
    }
}

/// The server side of broadcasts and imports.
#[cfg(feature = "ssr")]
pub mod source {
    use super::{BroadcastError, BroadcastSummary, BroadcastView, ImportOutcome};

    /// A boxed future of the port.
    pub type Fut<'a, T> = crate::port::PortFuture<'a, T, BroadcastError>;

    /// Reviews, sends and cancels broadcasts for the request's signed-in admin.
    pub trait BroadcastSource: Send + Sync {
        /// Reviews the pasted `numbers` and the uploaded `csv` and keeps the result as a draft;
        /// returns its id.
        fn review<'a>(
            &'a self,
            request: &'a http::request::Parts,
            numbers: String,
            csv: Option<String>,
            message: String,
        ) -> Fut<'a, i64>;
        fn list<'a>(&'a self, request: &'a http::request::Parts) -> Fut<'a, Vec<BroadcastSummary>>;
        fn get<'a>(&'a self, request: &'a http::request::Parts, id: i64) -> Fut<'a, BroadcastView>;
        /// Queues a draft's messages, staggered (audited).
        fn send<'a>(&'a self, request: &'a http::request::Parts, id: i64) -> Fut<'a, ()>;
        /// Cancels what has not been sent yet (audited); returns how many messages that was.
        fn cancel<'a>(&'a self, request: &'a http::request::Parts, id: i64) -> Fut<'a, i64>;
        /// Adds every mobile of the list to the do-not-contact list (audited).
        fn import_exclusions<'a>(
            &'a self,
            request: &'a http::request::Parts,
            numbers: String,
            csv: Option<String>,
            reason: Option<String>,
        ) -> Fut<'a, ImportOutcome>;
    }
}

/// A refused server function call's status, so that programs see more than a 200 (a page
/// rendering the same error keeps its 200 and shows the message).
#[cfg(feature = "ssr")]
fn with_status<T>(result: Result<T, BroadcastError>) -> Result<T, BroadcastError> {
    let called = leptos::prelude::use_context::<http::request::Parts>()
        .is_some_and(|parts| parts.uri.path().starts_with("/api/"));
    if let Err(error) = &result
        && called
        && let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
    {
        response.set_status(error.status());
    }
    result
}

/// Reviews a list and a message, keeps them as a draft and opens the draft's page
/// (`/{lang}/admin/broadcasts/{id}`), where the admin confirms.
#[leptos::server(prefix = "/api", endpoint = "admin/broadcasts/review")]
pub async fn review_broadcast(
    lang: String,
    numbers: String,
    csv: Option<String>,
    message: String,
    csrf: Option<String>,
) -> Result<i64, BroadcastError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, source) =
                crate::port::request_and::<dyn source::BroadcastSource, BroadcastError>()?;
            let id = with_status(source.review(&parts, numbers, csv, message).await)?;
            let lang = crate::locale::parse(&lang).unwrap_or(crate::i18n::Locale::en);
            leptos_axum::redirect(&format!(
                "/{}/admin/broadcasts/{id}",
                leptos_i18n::Locale::as_str(lang)
            ));
            Ok(id)
        }
        .await,
    )
}

/// The 50 newest broadcasts.
#[leptos::server(prefix = "/api", endpoint = "admin/broadcasts")]
pub async fn list_broadcasts() -> Result<Vec<BroadcastSummary>, BroadcastError> {
    crate::port::answer(
        async move {
            let (parts, source) =
                crate::port::request_and::<dyn source::BroadcastSource, BroadcastError>()?;
            with_status(source.list(&parts).await)
        }
        .await,
    )
}

/// One broadcast with its review and progress.
#[leptos::server(prefix = "/api", endpoint = "admin/broadcasts/get")]
pub async fn load_broadcast(id: i64) -> Result<BroadcastView, BroadcastError> {
    crate::port::answer(
        async move {
            let (parts, source) =
                crate::port::request_and::<dyn source::BroadcastSource, BroadcastError>()?;
            with_status(source.get(&parts, id).await)
        }
        .await,
    )
}

/// Confirms a reviewed broadcast: its messages go through the outbox, spread out.
#[leptos::server(prefix = "/api", endpoint = "admin/broadcasts/send")]
pub async fn send_broadcast(id: i64, csrf: Option<String>) -> Result<(), BroadcastError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, source) =
                crate::port::request_and::<dyn source::BroadcastSource, BroadcastError>()?;
            with_status(source.send(&parts, id).await)
        }
        .await,
    )
}

/// Cancels the broadcast's messages not sent yet.
#[leptos::server(prefix = "/api", endpoint = "admin/broadcasts/cancel")]
pub async fn cancel_broadcast(id: i64, csrf: Option<String>) -> Result<i64, BroadcastError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, source) =
                crate::port::request_and::<dyn source::BroadcastSource, BroadcastError>()?;
            with_status(source.cancel(&parts, id).await)
        }
        .await,
    )
}

/// Adds a pasted or uploaded list to the do-not-contact list.
#[leptos::server(prefix = "/api", endpoint = "admin/exclusions/import")]
pub async fn import_exclusions(
    numbers: String,
    csv: Option<String>,
    reason: Option<String>,
    csrf: Option<String>,
) -> Result<ImportOutcome, BroadcastError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, source) =
                crate::port::request_and::<dyn source::BroadcastSource, BroadcastError>()?;
            with_status(source.import_exclusions(&parts, numbers, csv, reason).await)
        }
        .await,
    )
}

/// The error in the page's language.
pub fn problem(error: &BroadcastError) -> String {
    let i18n = crate::i18n::use_i18n();
    match error {
        BroadcastError::Unauthenticated => {
            crate::i18n::t_string!(i18n, admin.signed_out_needed).to_owned()
        }
        BroadcastError::Forbidden => crate::i18n::t_string!(i18n, broadcast.forbidden).to_owned(),
        BroadcastError::EmptyMessage => {
            crate::i18n::t_string!(i18n, broadcast.empty_message).to_owned()
        }
        BroadcastError::MessageTooLong(chars) => crate::i18n::t_string!(
            i18n,
            broadcast.too_long,
            chars = *chars,
            max = MAX_MESSAGE_CHARS
        )
        .to_string(),
        BroadcastError::NoNumbers => crate::i18n::t_string!(i18n, broadcast.no_numbers).to_owned(),
        BroadcastError::NotText => crate::i18n::t_string!(i18n, broadcast.not_text).to_owned(),
        BroadcastError::MalformedCsv(line) => {
            crate::i18n::t_string!(i18n, broadcast.malformed_csv, line = *line).to_string()
        }
        BroadcastError::TooMany(max) => {
            crate::i18n::t_string!(i18n, broadcast.too_many, max = *max).to_string()
        }
        BroadcastError::NotFound => crate::i18n::t_string!(i18n, broadcast.not_found).to_owned(),
        BroadcastError::NotDraft => crate::i18n::t_string!(i18n, broadcast.not_draft).to_owned(),
        BroadcastError::Unexpected(_) => {
            crate::i18n::t_string!(i18n, broadcast.unexpected).to_owned()
        }
    }
}
