//! Who is calling: the admin session behind a request (its cookie, idle timeout and CSRF
//! token), the refusal of cross-site state changes, and the one error type every admin
//! endpoint and port maps to. What a role may do is [`crate::admin::Permission`]'s.

use crate::admin::{self, Permission, SessionUser, SignInError};
use crate::web::cookies;
use crate::web::state::AppState;
use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Duration as Span;
use serde_json::json;
use std::net::SocketAddr;

/// How long an admin session lives (`NABD_ADMIN_IDLE_MINUTES`, `NABD_ADMIN_MAX_HOURS`).
fn lifetime(config: &crate::config::Config) -> admin::Lifetime {
    admin::Lifetime {
        idle: Span::minutes(i64::from(config.admin_idle_minutes)),
        max: Span::hours(i64::from(config.admin_max_hours)),
    }
}

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "nabd_session";

/// An admin API error: a stable code and a short English message (the pages translate the
/// code). Database errors are logged and never shown.
#[derive(Debug)]
pub enum AdminError {
    Unauthenticated,
    Forbidden,
    CrossSite,
    BadCsrf,
    Invalid(&'static str, String),
    NotFound,
    TooMany(i64),
    Internal(String),
}

impl From<sqlx::Error> for AdminError {
    fn from(error: sqlx::Error) -> Self {
        Self::Internal(error.to_string())
    }
}

impl AdminError {
    /// The answer's status, stable code and short English message. An internal cause is logged
    /// here, the one place every admin error passes on its way to a caller, and never shown.
    fn parts(self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign in first".to_owned(),
            ),
            Self::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "your role may not do this".to_owned(),
            ),
            Self::CrossSite => (
                StatusCode::FORBIDDEN,
                "cross_site",
                "a request from another site was refused".to_owned(),
            ),
            Self::BadCsrf => (
                StatusCode::FORBIDDEN,
                "csrf",
                "the form expired; reload the page".to_owned(),
            ),
            Self::Invalid(code, message) => (StatusCode::UNPROCESSABLE_ENTITY, code, message),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "no such item".to_owned(),
            ),
            Self::TooMany(minutes) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many attempts; try again in {minutes} minutes"),
            ),
            Self::Internal(cause) => {
                tracing::error!(%cause, "admin request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    app::port::LOGGED.to_owned(),
                )
            }
        }
    }

    /// Turns an error no page has words for into the page's "unexpected" error, logging an
    /// internal cause.
    pub fn unexpected<E: app::port::PageError>(self) -> E {
        let (_, _, message) = self.parts();
        E::unexpected(message)
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        (status, Json(json!({ "error": code, "message": message }))).into_response()
    }
}

/// Refuses a request whose `Origin` (or, without one, `Referer`) names another site. Requests
/// from non-browser clients carry neither and are judged by their CSRF token alone.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    match source {
        None => true,
        Some(source) => source
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or_default())
            .is_some_and(|authority| authority.eq_ignore_ascii_case(host)),
    }
}

/// Refuses every state-changing request (server functions included) that a browser sent from
/// another site. Requests without `Origin` or `Referer` (other programs, WhatsApp's webhook)
/// pass; they hold no session cookie to abuse, and admin endpoints also require the CSRF token.
pub async fn refuse_cross_site(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let changes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if changes && !same_origin(request.headers()) {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        return AdminError::CrossSite.into_response();
    }
    next.run(request).await
}

/// The signed-in user of a request. Extracting it refuses anonymous callers, and for
/// state-changing methods, cross-site requests and requests without the CSRF token.
pub struct Admin(pub SessionUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AdminError> {
        let changes = !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if changes && !same_origin(&parts.headers) {
            return Err(AdminError::CrossSite);
        }
        let user = session_user(state, &parts.headers).await?;
        if changes {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            if sent.is_empty() || sent != user.csrf {
                return Err(AdminError::BadCsrf);
            }
        }
        Ok(Self(user))
    }
}

impl Admin {
    /// Refuses a viewer.
    pub(crate) fn require_admin(&self) -> Result<(), AdminError> {
        require_admin(&self.0)
    }
}

/// Refuses a user whose role is not admin.
pub(crate) fn require_admin(user: &SessionUser) -> Result<(), AdminError> {
    if user.role.may(Permission::Administer) {
        Ok(())
    } else {
        Err(AdminError::Forbidden)
    }
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

/// Whether the browser reached Nabd over HTTPS (directly or through a proxy that says so).
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
        || headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|origin| origin.starts_with("https://"))
}

/// The address the request came from, when the server knows it.
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip()),
        ))
    }
}

/// Checks the credentials and, when they are right, ends the browser's previous session and
/// opens a new one (audited); returns it with its `Set-Cookie` value.
pub(crate) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    username: &str,
    password: &str,
) -> Result<(SessionUser, String), AdminError> {
    if !same_origin(headers) {
        return Err(AdminError::CrossSite);
    }
    let now = state.clock.real_now();
    let session = admin::sign_in(
        &state.db,
        &state.sign_in_limiter,
        username,
        password,
        ip,
        now,
    )
    .await
    .map_err(|error| match error {
        SignInError::Invalid => AdminError::Invalid(
            "invalid_credentials",
            "wrong username or password".to_owned(),
        ),
        SignInError::TooMany { minutes } => AdminError::TooMany(minutes),
        SignInError::Database(error) => error.into(),
    })?;
    // Only a sign-in that succeeded replaces the browser's session: a refused one leaves it be.
    if let Some(old) = cookies::get(headers, SESSION_COOKIE) {
        admin::sign_out(&state.db, old).await?;
    }
    admin::audit(&state.db, Some(&session.user), "signed_in", "", now).await?;
    let max_age = i64::from(state.config.admin_idle_minutes) * 60;
    let cookie = session_cookie(&session.token, max_age, over_https(headers));
    Ok((session.user, cookie))
}

/// Ends the request's session (audited) and returns the `Set-Cookie` value that clears it.
pub(crate) async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<String, AdminError> {
    let now = state.clock.real_now();
    if let Some(token) = cookies::get(headers, SESSION_COOKIE) {
        let lifetime = lifetime(&state.config);
        if let Some(user) =
            admin::session(&state.db, token, lifetime, now, admin::Activity::Use).await?
        {
            admin::audit(&state.db, Some(&user), "signed_out", "", now).await?;
        }
        admin::sign_out(&state.db, token).await?;
    }
    Ok(session_cookie("", 0, over_https(headers)))
}

/// The signed-in user of a request's headers, if their session is alive; the request counts
/// as using the session.
pub(crate) async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<SessionUser, AdminError> {
    session_user_for(state, headers, admin::Activity::Use).await
}

/// The signed-in user of a request's headers, if their session is alive; a
/// [`admin::Activity::Poll`] (a page refreshing itself) leaves the idle timeout where it was.
pub(crate) async fn session_user_for(
    state: &AppState,
    headers: &HeaderMap,
    activity: admin::Activity,
) -> Result<SessionUser, AdminError> {
    let token = cookies::get(headers, SESSION_COOKIE).ok_or(AdminError::Unauthenticated)?;
    admin::session(
        &state.db,
        token,
        lifetime(&state.config),
        state.clock.real_now(),
        activity,
    )
    .await?
    .ok_or(AdminError::Unauthenticated)
}
