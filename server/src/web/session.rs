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
    /// The request itself could not be read (axum's refusal: its status and text).
    BadRequest(StatusCode, String),
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
            Self::BadRequest(status, message) => (status, "bad_request", message),
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

/// The server functions that change something (every other one only reads). Each must carry
/// the caller's session token: the `csrf` field of its form (a hidden input, so that forms work
/// without JavaScript) or the `X-CSRF-Token` header. Sign-in has no session yet: the
/// cross-site check above guards it.
pub const CHANGING_SERVER_FNS: [&str; 10] = [
    "/api/admin/sign-out",
    "/api/admin/exclusions/add",
    "/api/admin/exclusions/restore",
    "/api/admin/exclusions/import",
    "/api/admin/messages/resolve",
    "/api/admin/broadcasts/review",
    "/api/admin/broadcasts/send",
    "/api/admin/broadcasts/cancel",
    "/api/admin/inbox/reply",
    "/api/admin/inbox/handled",
];

/// The largest form a changing server function takes (a broadcast's pasted list and CSV).
const FORM_LIMIT: usize = 4 * 1024 * 1024;

/// Refuses a changing server function called with a session cookie but without that session's
/// token (403). A caller without a live session passes on, to be refused by the function itself.
pub async fn require_csrf(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if request.method() != Method::POST || !CHANGING_SERVER_FNS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(token) = cookies::get(request.headers(), SESSION_COOKIE) else {
        return next.run(request).await;
    };
    let user = admin::session(
        &state.db,
        token,
        lifetime(&state.config),
        state.clock.real_now(),
        admin::Activity::Poll,
    )
    .await;
    let expected = match user {
        Ok(Some(user)) => user.csrf,
        Ok(None) => return next.run(request).await,
        Err(error) => return AdminError::from(error).into_response(),
    };
    let matches = |sent: &str| {
        !sent.is_empty()
            && crate::messaging::webhook::constant_time_eq(sent.as_bytes(), expected.as_bytes())
    };
    let header = request
        .headers()
        .get("x-csrf-token")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if matches(header) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "the form is too large").into_response();
    };
    let sent = form_urlencoded::parse(&bytes)
        .find(|(key, _)| key == "csrf")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !matches(&sent) {
        tracing::warn!(path = %parts.uri.path(), "a server function without the session's token refused");
        // Every page's error has an `Unexpected` variant: the page shows it as it would any
        // failure, and a plain form post sees a 403.
        return (
            StatusCode::FORBIDDEN,
            Json(json!({ "Unexpected": "the form expired; reload the page" })),
        )
            .into_response();
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

/// Gives a page request whose live session has no CSRF-token cookie (a session opened before
/// Nabd set one) the cookie, on the request (so the page's forms carry the token at once) and
/// on the answer (so the browser keeps it).
pub async fn carry_csrf(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let csrf_cookie = app::components::csrf::COOKIE;
    let needs = request.method() == Method::GET
        && app::locale::of_path(request.uri().path()).is_some()
        && cookies::get(request.headers(), csrf_cookie).is_none()
        && cookies::get(request.headers(), SESSION_COOKIE).is_some();
    if !needs {
        return next.run(request).await;
    }
    let user = session_user_for(&state, request.headers(), admin::Activity::Poll).await;
    let Ok(user) = user else {
        return next.run(request).await;
    };
    let cookie = format!("{csrf_cookie}={}", user.csrf);
    let joined = match request
        .headers()
        .get(header::COOKIE)
        .and_then(|value| value.to_str().ok())
    {
        Some(existing) => format!("{existing}; {cookie}"),
        None => cookie,
    };
    if let Ok(value) = axum::http::HeaderValue::from_str(&joined) {
        request.headers_mut().insert(header::COOKIE, value);
    }
    let secure = over_https(state.config.public_url.as_ref(), request.headers());
    let max_age = i64::from(state.config.admin_idle_minutes) * 60;
    let mut response = next.run(request).await;
    if let Some(set) = session_cookies("", &user.csrf, max_age, secure).pop()
        && let Ok(value) = axum::http::HeaderValue::from_str(&set)
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
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

/// The cookies of a session: the `HttpOnly` session cookie, and the CSRF token's beside it
/// (readable by the page, whose forms carry it: `app::components::csrf`), with the same life.
fn session_cookies(session: &str, csrf: &str, max_age_secs: i64, secure: bool) -> Vec<String> {
    let secure_flag = if secure { "; Secure" } else { "" };
    vec![
        session_cookie(session, max_age_secs, secure),
        format!(
            "{}={csrf}; Path=/; SameSite=Lax; Max-Age={max_age_secs}{secure_flag}",
            app::components::csrf::COOKIE
        ),
    ]
}

fn session_cookie(value: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

/// Whether the browser reached Nabd over HTTPS: `NABD_PUBLIC_URL`'s scheme when it is set, else
/// what the request says (a proxy's `X-Forwarded-Proto`, or an `https://` origin).
pub(crate) fn over_https(public: Option<&crate::config::PublicUrl>, headers: &HeaderMap) -> bool {
    if let Some(public) = public {
        return public.is_https();
    }
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
        || headers
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|origin| origin.starts_with("https://"))
}

/// The client's address: the connecting address, or, when that is one of
/// `NABD_TRUSTED_PROXIES`, the right-most address of `X-Forwarded-For` that is not a trusted
/// proxy (each proxy appends the address it saw, so only the part trusted proxies wrote is
/// believed). Without trusted proxies the header is ignored: anyone can send it.
pub fn client_ip(
    trusted: &[crate::config::Network],
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Option<std::net::IpAddr> {
    let trusts = |ip: std::net::IpAddr| trusted.iter().any(|network| network.contains(ip));
    let peer = peer?;
    if !trusts(peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map_while(|part| part.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|ip| !trusts(*ip))
            .unwrap_or(peer),
    )
}

/// The address the request came from, when the server knows it (see [`client_ip`]).
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(request_ip(state, parts)))
    }
}

/// The client's address of a request (see [`client_ip`]).
pub(crate) fn request_ip(state: &AppState, parts: &Parts) -> Option<std::net::IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    client_ip(&state.config.trusted_proxies, peer, &parts.headers)
}

/// Checks the credentials and, when they are right, ends the browser's previous session and
/// opens a new one (audited); returns it with its `Set-Cookie` value.
pub(crate) async fn start_session(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<std::net::IpAddr>,
    username: &str,
    password: &str,
) -> Result<(SessionUser, Vec<String>), AdminError> {
    if !same_origin(headers) {
        return Err(AdminError::CrossSite);
    }
    let now = state.clock.real_now();
    let from = ip.map(|ip| format!("from {ip}")).unwrap_or_default();
    let signed_in = admin::sign_in(
        &state.db,
        &state.sign_in_limiter,
        username,
        password,
        ip,
        now,
    )
    .await;
    let session = match signed_in {
        Ok(session) => session,
        Err(SignInError::Database(error)) => return Err(error.into()),
        Err(refusal) => {
            // Who tried, from where: the log an operator reads after a guessing spree.
            let name: String = username.trim().chars().take(64).collect();
            let detail = format!("{name:?} {from}");
            admin::audit(&state.db, None, "sign_in_refused", detail.trim(), now).await?;
            return Err(match refusal {
                SignInError::TooMany { minutes } => AdminError::TooMany(minutes),
                _ => AdminError::Invalid(
                    "invalid_credentials",
                    "wrong username or password".to_owned(),
                ),
            });
        }
    };
    // Only a sign-in that succeeded replaces the browser's session: a refused one leaves it be.
    if let Some(old) = cookies::get(headers, SESSION_COOKIE) {
        admin::sign_out(&state.db, old).await?;
    }
    admin::audit(&state.db, Some(&session.user), "signed_in", &from, now).await?;
    let max_age = i64::from(state.config.admin_idle_minutes) * 60;
    let cookies = session_cookies(
        &session.token,
        &session.user.csrf,
        max_age,
        over_https(state.config.public_url.as_ref(), headers),
    );
    Ok((session.user, cookies))
}

/// Ends the request's session (audited) and returns the `Set-Cookie` values that clear it.
pub(crate) async fn end_session(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Vec<String>, AdminError> {
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
    Ok(session_cookies(
        "",
        "",
        0,
        over_https(state.config.public_url.as_ref(), headers),
    ))
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

/// With `NABD_PUBLIC_URL`, refuses a request whose `Host` names another host (a DNS rebinding
/// page on some other name reaching a Nabd on the clinic's network). The health probes, which
/// a monitor on the machine calls by its own address, and `/metrics` (which guards itself) are
/// left alone.
pub async fn refuse_other_hosts(
    axum::extract::State(public): axum::extract::State<Option<crate::config::PublicUrl>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(public) = public else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
        .unwrap_or_default();
    if public.is_host(host) {
        return next.run(request).await;
    }
    tracing::warn!(host, "a request for another host refused (NABD_PUBLIC_URL)");
    (
        StatusCode::MISDIRECTED_REQUEST,
        format!("this server answers for {} only", public.origin()),
    )
        .into_response()
}

/// A server function whose arguments cannot be read (a missing field, a number that is not
/// one) is the caller's mistake: leptos answers it 500, this makes it 422, as the JSON API
/// answers bad input, and a body over the limit 413. Only such answers are read; every other
/// one passes untouched.
pub async fn unreadable_arguments_are_422(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let server_fn =
        request.uri().path().starts_with("/api/") && !request.uri().path().starts_with("/api/v1/");
    let response = next.run(request).await;
    if !server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "").into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("length limit exceeded") {
        parts.status = StatusCode::PAYLOAD_TOO_LARGE;
    } else if text.contains("error deserializing server function arguments")
        || text.contains("error reading server function")
    {
        parts.status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
