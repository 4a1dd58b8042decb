//! The do-not-contact list as the admin page reaches it: the DTOs, the error the page shows in
//! its language, the ssr port the `nabd` server implements, and the server functions (admins
//! only; a browser on another site is refused before they run).

pub mod page;

use serde::{Deserialize, Serialize};

/// One excluded number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub id: i64,
    /// E.164.
    pub mobile: String,
    /// `all` or `marketing`.
    pub scope: String,
    pub reason: Option<String>,
    /// `admin`, `whatsapp` (an opt-out reply or error 131050), ...
    pub source: String,
    pub added_at: String,
}

/// One page of the list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExclusionPage {
    pub total: i64,
    pub items: Vec<Exclusion>,
}

/// Why a list change failed; the page translates each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ExclusionError {
    #[error("sign in first")]
    Unauthenticated,
    #[error("your role may not do this")]
    Forbidden,
    /// The number is not a mobile that can be messaged: `missing`, `unparseable`, `invalid`,
    /// `not_mobile`.
    #[error("not a mobile number ({0})")]
    InvalidMobile(String),
    #[error("no such entry")]
    NotFound,
    #[error("unexpected error: {0}")]
    Unexpected(String),
}

crate::page_error!(ExclusionError);

impl crate::port::Refused for ExclusionError {
    fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::InvalidMobile(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The server side of the list.
#[cfg(feature = "ssr")]
pub mod source {
    use super::{ExclusionError, ExclusionPage};

    /// A boxed future of the port.
    pub type Fut<'a, T> = crate::port::PortFuture<'a, T, ExclusionError>;

    /// Reads and changes the do-not-contact list for the request's signed-in admin.
    pub trait ExclusionSource: Send + Sync {
        fn list<'a>(
            &'a self,
            request: &'a http::request::Parts,
            search: Option<String>,
            page: u32,
        ) -> Fut<'a, ExclusionPage>;
        /// Adds a number (normalised; audited) and returns it in E.164.
        fn add<'a>(
            &'a self,
            request: &'a http::request::Parts,
            mobile: String,
            reason: Option<String>,
        ) -> Fut<'a, String>;
        /// Restores an entry (audited).
        fn restore<'a>(&'a self, request: &'a http::request::Parts, id: i64) -> Fut<'a, ()>;
    }
}

/// Returns one page of the list (50 per page), optionally only numbers containing `search`'s
/// digits.
#[leptos::server(prefix = "/api", endpoint = "admin/exclusions")]
pub async fn list_exclusions(
    search: Option<String>,
    page: u32,
) -> Result<ExclusionPage, ExclusionError> {
    crate::port::answer(
        async move {
            let (parts, list) =
                crate::port::request_and::<dyn source::ExclusionSource, ExclusionError>()?;
            list.list(&parts, search, page).await
        }
        .await,
    )
}

/// Adds a number to the list.
#[leptos::server(prefix = "/api", endpoint = "admin/exclusions/add")]
pub async fn add_exclusion(
    mobile: String,
    reason: Option<String>,
    csrf: Option<String>,
) -> Result<String, ExclusionError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, list) =
                crate::port::request_and::<dyn source::ExclusionSource, ExclusionError>()?;
            list.add(&parts, mobile, reason).await
        }
        .await,
    )
}

/// Restores an excluded number: it may be messaged again.
#[leptos::server(prefix = "/api", endpoint = "admin/exclusions/restore")]
pub async fn restore_exclusion(id: i64, csrf: Option<String>) -> Result<(), ExclusionError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, list) =
                crate::port::request_and::<dyn source::ExclusionSource, ExclusionError>()?;
            list.restore(&parts, id).await
        }
        .await,
    )
}
