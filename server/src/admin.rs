//! The admin HTTP surface: sign-in and sign-out, and the JSON endpoints behind the admin area
//! (the campaign report, the do-not-contact list, the message log). Every endpoint here
//! refuses an anonymous or under-privileged caller; every state-changing one also refuses a
//! cross-site request (an `Origin` that is not this site's) and one without the session's
//! CSRF token (`X-CSRF-Token`).

use crate::auth::{self, Role, SessionUser, SignInError};
use crate::campaign::report::{self, ReportQuery};
use crate::cookies;
use crate::exclusions::{self, Scope};
use crate::messaging::Kind;
use crate::messaging::outbox::{self, ListFilter};
use crate::phone::Mobile;
use crate::state::AppState;
use crate::time::stamp;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{Duration as Span, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::net::SocketAddr;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "nabd_session";

/// Returns the admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/admin/sign-in", post(sign_in))
        .route("/api/v1/admin/sign-out", post(sign_out))
        .route("/api/v1/admin/me", get(me))
        .route("/api/v1/marketing/report", get(campaign_report))
        .route("/api/v1/marketing/returned.csv", get(returned_csv))
        .route(
            "/api/v1/admin/exclusions",
            get(list_exclusions).post(add_exclusion),
        )
        .route(
            "/api/v1/admin/exclusions/{id}/restore",
            post(restore_exclusion),
        )
        .route("/api/v1/admin/messages", get(list_messages))
        .route("/api/v1/admin/messages/{id}/resolve", post(resolve_message))
}

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

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
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
                    "something went wrong; it was logged".to_owned(),
                )
            }
        };
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
        match self.0.role {
            Role::Admin => Ok(()),
            Role::Viewer => Err(AdminError::Forbidden),
        }
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

#[derive(Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct Me {
    username: String,
    role: Role,
    csrf: String,
}

impl From<&SessionUser> for Me {
    fn from(user: &SessionUser) -> Self {
        Self {
            username: user.username.clone(),
            role: user.role,
            csrf: user.csrf.clone(),
        }
    }
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

/// Checks the credentials, ends the browser's previous session, opens a new one (audited)
/// and returns it with its `Set-Cookie` value.
async fn start_session(
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
    if let Some(old) = cookies::get(headers, SESSION_COOKIE) {
        auth::sign_out(&state.db, old).await?;
    }
    let session = auth::sign_in(
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
    auth::audit(&state.db, Some(&session.user), "signed_in", "", now).await?;
    let max_age = i64::from(state.config.admin_idle_minutes) * 60;
    let cookie = session_cookie(&session.token, max_age, over_https(headers));
    Ok((session.user, cookie))
}

/// Ends the request's session (audited) and returns the `Set-Cookie` value that clears it.
async fn end_session(state: &AppState, headers: &HeaderMap) -> Result<String, AdminError> {
    let now = state.clock.real_now();
    if let Some(token) = cookies::get(headers, SESSION_COOKIE) {
        let idle = Span::minutes(i64::from(state.config.admin_idle_minutes));
        if let Some(user) = auth::session(&state.db, token, idle, now).await? {
            auth::audit(&state.db, Some(&user), "signed_out", "", now).await?;
        }
        auth::sign_out(&state.db, token).await?;
    }
    Ok(session_cookie("", 0, over_https(headers)))
}

async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(credentials): Json<Credentials>,
) -> Result<Response, AdminError> {
    let (user, cookie) = start_session(
        &state,
        &headers,
        ip,
        &credentials.username,
        &credentials.password,
    )
    .await?;
    let mut response = Json(Me::from(&user)).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Sign-in and sign-out for the admin pages' server functions.
pub struct Sessions(pub AppState);

fn for_page(error: AdminError) -> app::admin::AdminError {
    match error {
        AdminError::Invalid(..) => app::admin::AdminError::InvalidCredentials,
        AdminError::TooMany(minutes) => app::admin::AdminError::TooMany(minutes),
        AdminError::CrossSite => {
            app::admin::AdminError::Unexpected("a request from another site was refused".to_owned())
        }
        other => {
            let _ = other.into_response();
            app::admin::AdminError::Unexpected("something went wrong; it was logged".to_owned())
        }
    }
}

impl app::admin::source::AdminSource for Sessions {
    fn sign_in<'a>(
        &'a self,
        request: &'a Parts,
        username: String,
        password: String,
    ) -> app::admin::source::CookieFuture<'a> {
        Box::pin(async move {
            let ip = request
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| peer.ip());
            start_session(&self.0, &request.headers, ip, &username, &password)
                .await
                .map(|(_, cookie)| cookie)
                .map_err(for_page)
        })
    }

    fn sign_out<'a>(&'a self, request: &'a Parts) -> app::admin::source::CookieFuture<'a> {
        Box::pin(async move {
            end_session(&self.0, &request.headers)
                .await
                .map_err(for_page)
        })
    }
}

async fn sign_out(
    State(state): State<AppState>,
    _admin: Admin,
    headers: HeaderMap,
) -> Result<Response, AdminError> {
    let cookie = end_session(&state, &headers).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn me(admin: Admin) -> Json<Me> {
    Json(Me::from(&admin.0))
}

#[derive(Deserialize)]
struct ReportParams {
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    search: Option<String>,
    page: Option<u32>,
    per_page: Option<u32>,
}

async fn campaign_report(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<ReportParams>,
) -> Result<Json<report::Report>, AdminError> {
    let query = ReportQuery {
        from: params.from,
        to: params.to,
        search: params.search,
        page: params.page.unwrap_or(1),
        per_page: params.per_page.unwrap_or(50),
    };
    Ok(Json(
        report::build(
            &state.db,
            &query,
            state.config.campaign.campaign_message_cost,
            &state.config.currency,
        )
        .await?,
    ))
}

/// One CSV cell: quoted when it holds a separator, a quote or a line break, and defused when a
/// spreadsheet would read it as a formula.
fn csv_cell(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// The returned patients of the report's filter, every page, as CSV (UTF-8 with a byte-order
/// mark, so spreadsheets read Arabic names right).
async fn returned_csv(
    State(state): State<AppState>,
    _admin: Admin,
    Query(params): Query<ReportParams>,
) -> Result<Response, AdminError> {
    let mut rows = Vec::new();
    let mut page = 1;
    loop {
        let query = ReportQuery {
            from: params.from,
            to: params.to,
            search: params.search.clone(),
            page,
            per_page: 200,
        };
        let report = report::build(
            &state.db,
            &query,
            state.config.campaign.campaign_message_cost,
            &state.config.currency,
        )
        .await?;
        let done = report.returned.len() < 200;
        rows.extend(report.returned);
        if done {
            break;
        }
        page += 1;
    }
    let mut csv = String::from(
        "\u{feff}name_ar,name_en,mobile,contacted_at,returned_at,appointment_date,doctor,revenue\r\n",
    );
    for row in rows {
        let cells = [
            csv_cell(&row.name_ar),
            csv_cell(row.name_en.as_deref().unwrap_or_default()),
            csv_cell(&row.mobile_masked),
            csv_cell(&row.contacted_at),
            csv_cell(&row.returned_at),
            csv_cell(&row.appointment_date),
            csv_cell(row.doctor_name.as_deref().unwrap_or_default()),
            format!("{:.2}", row.revenue_halalas as f64 / 100.0),
        ];
        csv.push_str(&cells.join(","));
        csv.push_str("\r\n");
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"returned-patients.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

#[derive(Deserialize)]
struct ExclusionParams {
    search: Option<String>,
    page: Option<u32>,
}

/// The signed-in user of a request's headers, if their session is alive.
pub(crate) async fn session_user(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<SessionUser, AdminError> {
    let token = cookies::get(headers, SESSION_COOKIE).ok_or(AdminError::Unauthenticated)?;
    let idle = Span::minutes(i64::from(state.config.admin_idle_minutes));
    auth::session(&state.db, token, idle, state.clock.real_now())
        .await?
        .ok_or(AdminError::Unauthenticated)
}

/// One page (50) of the active exclusions, newest first; `search` keeps numbers containing
/// its digits.
async fn exclusions_page(
    state: &AppState,
    search: Option<&str>,
    page: u32,
) -> Result<app::exclusions::ExclusionPage, AdminError> {
    let search = search
        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|digits| !digits.is_empty())
        .map(|digits| format!("%{digits}%"));
    let per_page = 50i64;
    let offset = i64::from(page.max(1) - 1) * per_page;
    // language=SQL
    let rows: Vec<(i64, String, String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT id, mobile, scope, reason, source, added_at FROM do_not_contact
         WHERE restored_at IS NULL AND (?1 IS NULL OR mobile LIKE ?1)
         ORDER BY added_at DESC, id DESC LIMIT ?2 OFFSET ?3",
    )
    .bind(&search)
    .bind(per_page)
    .bind(offset)
    .fetch_all(&state.db)
    .await?;
    // language=SQL
    let total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM do_not_contact WHERE restored_at IS NULL AND (?1 IS NULL OR mobile LIKE ?1)",
    )
    .bind(&search)
    .fetch_one(&state.db)
    .await?;
    let items = rows
        .into_iter()
        .map(
            |(id, mobile, scope, reason, source, added_at)| app::exclusions::Exclusion {
                id,
                mobile,
                scope,
                reason,
                source,
                added_at,
            },
        )
        .collect();
    Ok(app::exclusions::ExclusionPage { total, items })
}

/// Excludes a number (normalised; audited). Returns it in E.164 and whether it is new.
async fn add_number(
    state: &AppState,
    user: &SessionUser,
    raw: &str,
    reason: Option<&str>,
) -> Result<(String, bool), AdminError> {
    let mobile = Mobile::parse(raw, state.config.messaging.phone_region)
        .map_err(|error| AdminError::Invalid(error.code(), format!("{raw:?}: {error}")))?;
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let now = state.clock.real_now();
    let added = exclusions::exclude(&state.db, &mobile, Scope::All, reason, "admin", now).await?;
    if added {
        auth::audit(&state.db, Some(user), "number_excluded", mobile.e164(), now).await?;
    }
    Ok((mobile.e164().to_owned(), added))
}

/// Restores an exclusion (audited).
async fn restore_number(state: &AppState, user: &SessionUser, id: i64) -> Result<(), AdminError> {
    let now = state.clock.real_now();
    // language=SQL
    let mobile: Option<String> = sqlx::query_scalar(
        "UPDATE do_not_contact SET restored_at = ? WHERE id = ? AND restored_at IS NULL RETURNING mobile",
    )
    .bind(stamp(now))
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    let mobile = mobile.ok_or(AdminError::NotFound)?;
    auth::audit(&state.db, Some(user), "number_restored", &mobile, now).await?;
    Ok(())
}

async fn list_exclusions(
    State(state): State<AppState>,
    admin: Admin,
    Query(params): Query<ExclusionParams>,
) -> Result<Json<app::exclusions::ExclusionPage>, AdminError> {
    admin.require_admin()?;
    Ok(Json(
        exclusions_page(&state, params.search.as_deref(), params.page.unwrap_or(1)).await?,
    ))
}

#[derive(Deserialize)]
struct NewExclusion {
    mobile: String,
    reason: Option<String>,
}

async fn add_exclusion(
    State(state): State<AppState>,
    admin: Admin,
    Json(body): Json<NewExclusion>,
) -> Result<Response, AdminError> {
    admin.require_admin()?;
    let (mobile, added) =
        add_number(&state, &admin.0, &body.mobile, body.reason.as_deref()).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(json!({ "mobile": mobile, "added": added }))).into_response())
}

async fn restore_exclusion(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
) -> Result<StatusCode, AdminError> {
    admin.require_admin()?;
    restore_number(&state, &admin.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The do-not-contact list for the admin page's server functions.
pub struct ExclusionList(pub AppState);

fn for_list(error: AdminError) -> app::exclusions::ExclusionError {
    use app::exclusions::ExclusionError;
    match error {
        AdminError::Unauthenticated => ExclusionError::Unauthenticated,
        AdminError::Forbidden => ExclusionError::Forbidden,
        AdminError::Invalid(code, _) => ExclusionError::InvalidMobile(code.to_owned()),
        AdminError::NotFound => ExclusionError::NotFound,
        other => {
            let _ = other.into_response();
            ExclusionError::Unexpected("something went wrong; it was logged".to_owned())
        }
    }
}

impl ExclusionList {
    async fn admin(&self, request: &Parts) -> Result<SessionUser, AdminError> {
        let user = session_user(&self.0, &request.headers).await?;
        Admin(user.clone()).require_admin()?;
        Ok(user)
    }
}

impl app::exclusions::source::ExclusionSource for ExclusionList {
    fn list<'a>(
        &'a self,
        request: &'a Parts,
        search: Option<String>,
        page: u32,
    ) -> app::exclusions::source::Fut<'a, app::exclusions::ExclusionPage> {
        Box::pin(async move {
            self.admin(request).await.map_err(for_list)?;
            exclusions_page(&self.0, search.as_deref(), page)
                .await
                .map_err(for_list)
        })
    }

    fn add<'a>(
        &'a self,
        request: &'a Parts,
        mobile: String,
        reason: Option<String>,
    ) -> app::exclusions::source::Fut<'a, String> {
        Box::pin(async move {
            let user = self.admin(request).await.map_err(for_list)?;
            add_number(&self.0, &user, &mobile, reason.as_deref())
                .await
                .map(|(mobile, _)| mobile)
                .map_err(for_list)
        })
    }

    fn restore<'a>(&'a self, request: &'a Parts, id: i64) -> app::exclusions::source::Fut<'a, ()> {
        Box::pin(async move {
            let user = self.admin(request).await.map_err(for_list)?;
            restore_number(&self.0, &user, id).await.map_err(for_list)
        })
    }
}

#[derive(Deserialize)]
struct MessageParams {
    kind: Option<Kind>,
    state: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
}

async fn list_messages(
    State(state): State<AppState>,
    admin: Admin,
    Query(params): Query<MessageParams>,
) -> Result<Json<Vec<outbox::MessageRow>>, AdminError> {
    admin.require_admin()?;
    let to = match params
        .to
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        Some(raw) => Some(
            Mobile::parse(raw, state.config.messaging.phone_region)
                .map_err(|error| AdminError::Invalid(error.code(), error.to_string()))?
                .e164()
                .to_owned(),
        ),
        None => None,
    };
    let filter = ListFilter {
        kind: params.kind,
        state: params.state,
        to,
        limit: params.limit.unwrap_or(100).clamp(1, 1000),
    };
    Ok(Json(outbox::list(&state.db, &filter).await?))
}

#[derive(Deserialize)]
struct Resolution {
    /// `sent` (the patient did get it) or `requeue` (send it again).
    action: String,
}

/// Resolves an `uncertain` message: `sent` (the patient got it) or `requeue` (send again now).
/// Audited.
async fn resolve(
    state: &AppState,
    user: &SessionUser,
    id: i64,
    action: &str,
) -> Result<(), AdminError> {
    let now = state.clock.real_now();
    let (new_state, audit_action) = match action {
        "sent" => ("sent", "uncertain_marked_sent"),
        "requeue" => ("queued", "uncertain_requeued"),
        _ => {
            return Err(AdminError::Invalid(
                "bad_action",
                "the action is `sent` or `requeue`".to_owned(),
            ));
        }
    };
    // language=SQL
    let done = sqlx::query(
        "UPDATE outbox SET state = ?, not_before = ?, error = NULL, updated_at = ?
         WHERE id = ? AND state = 'uncertain'",
    )
    .bind(new_state)
    .bind(stamp(now))
    .bind(stamp(now))
    .bind(id)
    .execute(&state.db)
    .await?;
    if done.rows_affected() == 0 {
        return Err(AdminError::NotFound);
    }
    auth::audit(
        &state.db,
        Some(user),
        audit_action,
        &format!("message {id}"),
        now,
    )
    .await?;
    if new_state == "queued" {
        state
            .messaging
            .outbox
            .deliver(id)
            .await
            .map_err(|error| AdminError::Internal(error.to_string()))?;
    }
    Ok(())
}

async fn resolve_message(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<i64>,
    Json(body): Json<Resolution>,
) -> Result<StatusCode, AdminError> {
    admin.require_admin()?;
    resolve(&state, &admin.0, id, &body.action).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The message log for the admin page's server functions.
pub struct MessageLog(pub AppState);

fn for_log(error: AdminError) -> app::messages::LogError {
    use app::messages::LogError;
    match error {
        AdminError::Unauthenticated => LogError::Unauthenticated,
        AdminError::Forbidden => LogError::Forbidden,
        AdminError::Invalid(..) => LogError::BadFilter,
        AdminError::NotFound => LogError::NotUncertain,
        other => {
            let _ = other.into_response();
            LogError::Unexpected("something went wrong; it was logged".to_owned())
        }
    }
}

impl app::messages::source::MessageLogSource for MessageLog {
    fn list<'a>(
        &'a self,
        request: &'a Parts,
        filter: app::messages::LogFilter,
    ) -> app::messages::source::Fut<'a, Vec<app::messages::LogEntry>> {
        Box::pin(async move {
            let state = &self.0;
            let user = session_user(state, &request.headers)
                .await
                .map_err(for_log)?;
            Admin(user).require_admin().map_err(for_log)?;
            let text = |value: Option<String>| {
                value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
            };
            let kind = match text(filter.kind) {
                Some(kind) => Some(
                    kind.parse::<Kind>()
                        .map_err(|_| app::messages::LogError::BadFilter)?,
                ),
                None => None,
            };
            let wanted_state = text(filter.state);
            if wanted_state
                .as_deref()
                .is_some_and(|s| !app::messages::STATES.contains(&s))
            {
                return Err(app::messages::LogError::BadFilter);
            }
            let to = match text(filter.to) {
                Some(raw) => Some(
                    Mobile::parse(&raw, state.config.messaging.phone_region)
                        .map_err(|_| app::messages::LogError::BadFilter)?
                        .e164()
                        .to_owned(),
                ),
                None => None,
            };
            let rows = outbox::list(
                &state.db,
                &ListFilter {
                    kind,
                    state: wanted_state,
                    to,
                    limit: 200,
                },
            )
            .await
            .map_err(|error| for_log(error.into()))?;
            Ok(rows
                .into_iter()
                .map(|row| app::messages::LogEntry {
                    id: row.id,
                    kind: row.kind,
                    to: row.to,
                    body: row.body,
                    state: row.state,
                    attempts: row.attempts,
                    scheduled_at: row.scheduled_at,
                    sent_at: row.sent_at,
                    error: row.error,
                    delivery_status: row.delivery_status,
                })
                .collect())
        })
    }

    fn resolve<'a>(
        &'a self,
        request: &'a Parts,
        id: i64,
        action: String,
    ) -> app::messages::source::Fut<'a, ()> {
        Box::pin(async move {
            let user = session_user(&self.0, &request.headers)
                .await
                .map_err(for_log)?;
            Admin(user.clone()).require_admin().map_err(for_log)?;
            resolve(&self.0, &user, id, &action).await.map_err(for_log)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("سارة"), "سارة");
        assert_eq!(csv_cell("Ali, Jr."), "\"Ali, Jr.\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("+966••••••567"), "'+966••••••567");
    }
}
