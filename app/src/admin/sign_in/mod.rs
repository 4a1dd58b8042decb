//! Admin sign-in and sign-out as server functions (the pages' forms post to them, with or
//! without JavaScript), the error the page shows in its language, and the ssr port the `nabd`
//! server implements.

pub mod page;

use serde::{Deserialize, Serialize};

/// Why a sign-in or sign-out failed; the page translates each kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AdminError {
    /// Wrong username or password (the same whether or not the user exists).
    #[error("wrong username or password")]
    InvalidCredentials,
    /// Too many failed attempts; try again in this many minutes.
    #[error("too many attempts; try again in {0} minutes")]
    TooMany(i64),
    /// The username or password field is empty.
    #[error("enter a username and a password")]
    Missing,
    /// Anything else; details are in the server's log.
    #[error("unexpected error: {0}")]
    Unexpected(String),
}

crate::page_error!(AdminError);

impl crate::port::Refused for AdminError {
    fn status(&self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::InvalidCredentials | Self::Missing => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The server side of sign-in: a port that `app` defines and the `nabd` server implements.
#[cfg(feature = "ssr")]
pub mod source {
    use super::AdminError;

    /// The future the port's calls return: the `Set-Cookie` header values on success (the
    /// session's, and the CSRF token's for the pages' forms).
    pub type CookieFuture<'a> = crate::port::PortFuture<'a, Vec<String>, AdminError>;

    /// Opens and ends admin sessions.
    pub trait AdminSource: Send + Sync {
        /// Checks the credentials (counting failures against the caller's address and the
        /// username) and returns the new session's cookies; the browser's previous session, if
        /// any, ends.
        fn sign_in<'a>(
            &'a self,
            request: &'a http::request::Parts,
            username: String,
            password: String,
        ) -> CookieFuture<'a>;

        /// Ends the request's session and returns the cookies that clear it.
        fn sign_out<'a>(&'a self, request: &'a http::request::Parts) -> CookieFuture<'a>;

        /// The request's session's CSRF token, if it has a live session (reading it does not
        /// count as using the session).
        fn csrf<'a>(
            &'a self,
            request: &'a http::request::Parts,
        ) -> crate::port::PortFuture<'a, Option<String>, AdminError>;
    }
}

/// The page a language code's admin area opens on.
pub fn landing(lang: &str) -> String {
    let lang = if lang == "ar" { "ar" } else { "en" };
    format!("/{lang}/marketing-report")
}

/// Signs in and goes to the campaign report in the page's language.
#[leptos::server(prefix = "/api", endpoint = "admin/sign-in")]
pub async fn sign_in(username: String, password: String, lang: String) -> Result<(), AdminError> {
    if username.trim().is_empty() || password.is_empty() {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::UNPROCESSABLE_ENTITY);
        }
        return Err(AdminError::Missing);
    }
    let (parts, admin) = crate::port::request_and::<dyn source::AdminSource, AdminError>()?;
    let response = leptos::prelude::expect_context::<leptos_axum::ResponseOptions>();
    let cookies = match admin.sign_in(&parts, username, password).await {
        Ok(cookies) => cookies,
        Err(error) => {
            // A refusal is the caller's mistake, not the server's: 422, or 429 when limited.
            response.set_status(match error {
                AdminError::TooMany(_) => http::StatusCode::TOO_MANY_REQUESTS,
                AdminError::Unexpected(_) => http::StatusCode::INTERNAL_SERVER_ERROR,
                _ => http::StatusCode::UNPROCESSABLE_ENTITY,
            });
            return Err(error);
        }
    };
    for cookie in cookies {
        if let Ok(value) = http::HeaderValue::from_str(&cookie) {
            response.append_header(http::header::SET_COOKIE, value);
        }
    }
    leptos_axum::redirect(&landing(&lang));
    Ok(())
}

/// Signs out and goes to the sign-in page.
#[leptos::server(prefix = "/api", endpoint = "admin/sign-out")]
pub async fn sign_out(lang: String, csrf: Option<String>) -> Result<(), AdminError> {
    // Checked against the session before this runs (`web::session::require_csrf`).
    let _ = csrf;
    crate::port::answer(
        async move {
            let (parts, admin) = crate::port::request_and::<dyn source::AdminSource, AdminError>()?;
            let cookies = admin.sign_out(&parts).await?;
            let response = leptos::prelude::expect_context::<leptos_axum::ResponseOptions>();
            for cookie in cookies {
                if let Ok(value) = http::HeaderValue::from_str(&cookie) {
                    response.append_header(http::header::SET_COOKIE, value);
                }
            }
            let lang = if lang == "ar" { "ar" } else { "en" };
            leptos_axum::redirect(&format!("/{lang}/admin/sign-in"));
            Ok(())
        }
        .await,
    )
}

/// The signed-in session's CSRF token (the admin pages' forms read it from the `nabd_csrf`
/// cookie, [`crate::components::CsrfField`]; a script may ask here); `None` without a session.
#[leptos::server(prefix = "/api", endpoint = "admin/csrf")]
pub async fn csrf_token() -> Result<Option<String>, AdminError> {
    crate::port::answer(
        async move {
            let (parts, admin) = crate::port::request_and::<dyn source::AdminSource, AdminError>()?;
            admin.csrf(&parts).await
        }
        .await,
    )
}
