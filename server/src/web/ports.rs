//! The server's side of `app`'s ports: what the pages' server functions reach. Each checks the
//! caller's session like the JSON API does, calls the same operation as its JSON twin in
//! [`super::api`], and maps the error to the page's own, logging an internal cause once
//! ([`AdminError::unexpected`]).

use crate::admin::{Permission, SessionUser};
use crate::campaign::report::{self, ReportQuery};
use crate::dashboard::FiguresError;
use crate::messaging::broadcast;
use crate::messaging::outbox::log::LogQuery;
use crate::web::api::{self, broadcasts::Refusal};
use crate::web::session::{self, AdminError, end_session, require_admin, session_user};
use crate::web::state::AppState;
use app::admin::broadcasts::source::{self as broadcast_port, BroadcastSource};
use app::admin::broadcasts::{BroadcastError, BroadcastSummary, BroadcastView, ImportOutcome};
use app::admin::exclusions::source::{self as exclusion_port, ExclusionSource};
use app::admin::exclusions::{ExclusionError, ExclusionPage};
use app::admin::inbox::source::{self as inbox_port, InboxSource};
use app::admin::inbox::{Conversation, ConversationSummary, DayReplies, InboxError};
use app::admin::messages::source::{self as log_port, MessageLogSource};
use app::admin::messages::{LogEntry, LogError, LogFilter};
use app::admin::sign_in::AdminError as SignInError;
use app::admin::sign_in::source::{AdminSource, CookieFuture};
use app::dashboard::DashboardError;
use app::dashboard::source::{DashboardSource, FiguresFuture};
use app::marketing::MarketingError;
use app::marketing::source::{MarketingSource, ReportFuture};
use app::port::Port;
use chrono::NaiveDate;
use http::request::Parts;
use leptos::prelude::provide_context;
use std::sync::Arc;

/// Puts every port in Leptos's context, for the server functions of one request.
pub fn provide(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let dashboard: Port<dyn DashboardSource> = Port::new(Arc::new(Dashboard(state.clone())));
    let reports: Port<dyn MarketingSource> = Port::new(Arc::new(Reports(state.clone())));
    let sessions: Port<dyn AdminSource> = Port::new(Arc::new(Sessions(state.clone())));
    let exclusions: Port<dyn ExclusionSource> = Port::new(Arc::new(Exclusions(state.clone())));
    let messages: Port<dyn MessageLogSource> = Port::new(Arc::new(MessageLog(state.clone())));
    let broadcasts: Port<dyn BroadcastSource> = Port::new(Arc::new(Broadcasts(state.clone())));
    let inbox: Port<dyn InboxSource> = Port::new(Arc::new(Inbox(state.clone())));
    move || {
        provide_context(inbox.clone());
        provide_context(dashboard.clone());
        provide_context(reports.clone());
        provide_context(sessions.clone());
        provide_context(exclusions.clone());
        provide_context(messages.clone());
        provide_context(broadcasts.clone());
    }
}

/// The signed-in admin of a page's request.
async fn signed_in_admin(state: &AppState, request: &Parts) -> Result<SessionUser, AdminError> {
    let user = session_user(state, &request.headers).await?;
    require_admin(&user)?;
    Ok(user)
}

/// The dashboard figures, through the same cache as the JSON API.
struct Dashboard(AppState);

impl DashboardSource for Dashboard {
    fn figures(&self, doctor: Option<i64>) -> FiguresFuture<'_> {
        Box::pin(async move {
            self.0
                .dashboard
                .figures(doctor)
                .await
                .map_err(|error| match error {
                    FiguresError::UnknownDoctor(_) => DashboardError::UnknownDoctor,
                    FiguresError::Clinic(cause) => {
                        tracing::error!(error = %cause, cause = ?std::error::Error::source(&cause), "dashboard figures failed");
                        DashboardError::ClinicUnavailable
                    }
                })
        })
    }
}

/// The campaign report: a live session (admin or viewer) first.
struct Reports(AppState);

impl MarketingSource for Reports {
    fn report<'a>(
        &'a self,
        request: &'a Parts,
        query: app::marketing::ReportQuery,
    ) -> ReportFuture<'a> {
        Box::pin(async move {
            let state = &self.0;
            let user =
                session_user(state, &request.headers)
                    .await
                    .map_err(|error| match error {
                        AdminError::Unauthenticated => MarketingError::Unauthenticated,
                        other => other.unexpected(),
                    })?;
            if !user.role.may(Permission::ViewReports) {
                return Err(MarketingError::Unauthenticated);
            }
            let date = |text: &Option<String>| -> Result<Option<NaiveDate>, MarketingError> {
                match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
                    None => Ok(None),
                    Some(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                        .map(Some)
                        .map_err(|_| MarketingError::BadDate),
                }
            };
            let filter = ReportQuery {
                from: date(&query.from)?,
                to: date(&query.to)?,
                search: query.search,
                page: query.page.max(1),
                per_page: if query.per_page == 0 {
                    50
                } else {
                    query.per_page
                },
            };
            let mut report = report::build(
                &state.db,
                &filter,
                state.config.campaign.campaign_message_cost,
                &state.config.currency,
            )
            .await
            .map_err(|error| AdminError::from(error).unexpected())?;
            api::marketing::in_clinic_time(&state.clock, &mut report.returned);
            Ok(report)
        })
    }
}

/// Sign-in and sign-out, which set the session cookie through the server function.
struct Sessions(AppState);

fn for_sign_in(error: AdminError) -> SignInError {
    match error {
        AdminError::Invalid(..) => SignInError::InvalidCredentials,
        AdminError::TooMany(minutes) => SignInError::TooMany(minutes),
        AdminError::CrossSite => {
            SignInError::Unexpected("a request from another site was refused".to_owned())
        }
        other => other.unexpected(),
    }
}

impl AdminSource for Sessions {
    fn sign_in<'a>(
        &'a self,
        request: &'a Parts,
        username: String,
        password: String,
    ) -> CookieFuture<'a> {
        Box::pin(async move {
            let ip = session::request_ip(&self.0, request);
            session::start_session(&self.0, &request.headers, ip, &username, &password)
                .await
                .map(|(_, cookies)| cookies)
                .map_err(for_sign_in)
        })
    }

    fn sign_out<'a>(&'a self, request: &'a Parts) -> CookieFuture<'a> {
        Box::pin(async move {
            end_session(&self.0, &request.headers)
                .await
                .map_err(for_sign_in)
        })
    }

    fn csrf<'a>(
        &'a self,
        request: &'a Parts,
    ) -> app::port::PortFuture<'a, Option<String>, SignInError> {
        Box::pin(async move {
            match session::session_user_for(&self.0, &request.headers, crate::admin::Activity::Poll)
                .await
            {
                Ok(user) => Ok(Some(user.csrf)),
                Err(AdminError::Unauthenticated) => Ok(None),
                Err(other) => Err(other.unexpected()),
            }
        })
    }
}

/// The do-not-contact list (admins).
struct Exclusions(AppState);

fn for_list(error: AdminError) -> ExclusionError {
    match error {
        AdminError::Unauthenticated => ExclusionError::Unauthenticated,
        AdminError::Forbidden => ExclusionError::Forbidden,
        AdminError::Invalid(code, _) => ExclusionError::InvalidMobile(code.to_owned()),
        AdminError::NotFound => ExclusionError::NotFound,
        other => other.unexpected(),
    }
}

impl ExclusionSource for Exclusions {
    fn list<'a>(
        &'a self,
        request: &'a Parts,
        search: Option<String>,
        page: u32,
    ) -> exclusion_port::Fut<'a, ExclusionPage> {
        Box::pin(async move {
            signed_in_admin(&self.0, request).await.map_err(for_list)?;
            api::exclusions::page(&self.0, search.as_deref(), page)
                .await
                .map_err(for_list)
        })
    }

    fn add<'a>(
        &'a self,
        request: &'a Parts,
        mobile: String,
        reason: Option<String>,
    ) -> exclusion_port::Fut<'a, String> {
        Box::pin(async move {
            let user = signed_in_admin(&self.0, request).await.map_err(for_list)?;
            api::exclusions::add_number(&self.0, &user, &mobile, reason.as_deref())
                .await
                .map(|(mobile, _)| mobile)
                .map_err(for_list)
        })
    }

    fn restore<'a>(&'a self, request: &'a Parts, id: i64) -> exclusion_port::Fut<'a, ()> {
        Box::pin(async move {
            let user = signed_in_admin(&self.0, request).await.map_err(for_list)?;
            api::exclusions::restore_number(&self.0, &user, id)
                .await
                .map_err(for_list)
        })
    }
}

/// The message log (admins).
struct MessageLog(AppState);

fn for_log(error: AdminError) -> LogError {
    match error {
        AdminError::Unauthenticated => LogError::Unauthenticated,
        AdminError::Forbidden => LogError::Forbidden,
        AdminError::Invalid(..) => LogError::BadFilter,
        AdminError::NotFound => LogError::NotUncertain,
        other => other.unexpected(),
    }
}

impl MessageLogSource for MessageLog {
    fn list<'a>(
        &'a self,
        request: &'a Parts,
        filter: LogFilter,
    ) -> log_port::Fut<'a, Vec<LogEntry>> {
        Box::pin(async move {
            signed_in_admin(&self.0, request).await.map_err(for_log)?;
            let query = LogQuery {
                kind: filter.kind,
                state: filter.state,
                to: filter.to,
                limit: None,
            };
            let rows = api::messages::read(&self.0, &query)
                .await
                .map_err(for_log)?;
            Ok(rows
                .into_iter()
                .map(|row| LogEntry {
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
                    touch: row.touch,
                })
                .collect())
        })
    }

    fn resolve<'a>(&'a self, request: &'a Parts, id: i64, action: String) -> log_port::Fut<'a, ()> {
        Box::pin(async move {
            let user = signed_in_admin(&self.0, request).await.map_err(for_log)?;
            api::messages::resolve(&self.0, &user, id, &action)
                .await
                .map_err(for_log)
        })
    }
}

/// Broadcasts and the do-not-contact import (admins).
struct Broadcasts(AppState);

impl Broadcasts {
    async fn admin(&self, request: &Parts) -> Result<SessionUser, BroadcastError> {
        signed_in_admin(&self.0, request)
            .await
            .map_err(|error| Refusal::from(error).for_page())
    }
}

impl BroadcastSource for Broadcasts {
    fn review<'a>(
        &'a self,
        request: &'a Parts,
        numbers: String,
        csv: Option<String>,
        message: String,
    ) -> broadcast_port::Fut<'a, i64> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            api::broadcasts::review(&self.0, &user, &numbers, csv.as_deref(), &message)
                .await
                .map_err(Refusal::for_page)
        })
    }

    fn list<'a>(&'a self, request: &'a Parts) -> broadcast_port::Fut<'a, Vec<BroadcastSummary>> {
        Box::pin(async move {
            self.admin(request).await?;
            broadcast::recent(&self.0.messaging.outbox)
                .await
                .map_err(|failure| Refusal::from(failure).for_page())
        })
    }

    fn get<'a>(&'a self, request: &'a Parts, id: i64) -> broadcast_port::Fut<'a, BroadcastView> {
        Box::pin(async move {
            self.admin(request).await?;
            broadcast::view(&self.0.messaging.outbox, id)
                .await
                .map_err(|failure| Refusal::from(failure).for_page())
        })
    }

    fn send<'a>(&'a self, request: &'a Parts, id: i64) -> broadcast_port::Fut<'a, ()> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            api::broadcasts::send(&self.0, &user, id)
                .await
                .map(|_| ())
                .map_err(Refusal::for_page)
        })
    }

    fn cancel<'a>(&'a self, request: &'a Parts, id: i64) -> broadcast_port::Fut<'a, i64> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            api::broadcasts::cancel(&self.0, &user, id)
                .await
                .map_err(Refusal::for_page)
        })
    }

    fn import_exclusions<'a>(
        &'a self,
        request: &'a Parts,
        numbers: String,
        csv: Option<String>,
        reason: Option<String>,
    ) -> broadcast_port::Fut<'a, ImportOutcome> {
        Box::pin(async move {
            let user = self.admin(request).await?;
            api::broadcasts::import_exclusions(
                &self.0,
                &user,
                &numbers,
                csv.as_deref(),
                reason.as_deref(),
            )
            .await
            .map_err(Refusal::for_page)
        })
    }
}

/// The inbox and the reception's list (admins).
struct Inbox(AppState);

fn for_inbox(error: AdminError) -> InboxError {
    match error {
        AdminError::Unauthenticated => InboxError::Unauthenticated,
        AdminError::Forbidden => InboxError::Forbidden,
        AdminError::NotFound => InboxError::NotFound,
        AdminError::Invalid("bad_filter", _) => InboxError::BadFilter,
        AdminError::Invalid("invalid_mobile", _) => InboxError::BadNumber,
        AdminError::Invalid("bad_date", _) => InboxError::BadDate,
        AdminError::Invalid("empty_reply", _) => InboxError::EmptyReply,
        AdminError::Invalid("reply_too_long", _) => InboxError::TooLong,
        AdminError::Invalid("window_closed", _) => InboxError::WindowClosed,
        other => other.unexpected(),
    }
}

impl Inbox {
    async fn admin(&self, request: &Parts, poll: bool) -> Result<SessionUser, InboxError> {
        let activity = if poll {
            crate::admin::Activity::Poll
        } else {
            crate::admin::Activity::Use
        };
        let user = session::session_user_for(&self.0, &request.headers, activity)
            .await
            .map_err(for_inbox)?;
        require_admin(&user).map_err(for_inbox)?;
        Ok(user)
    }
}

impl InboxSource for Inbox {
    fn list<'a>(
        &'a self,
        request: &'a Parts,
        filter: Option<String>,
        search: Option<String>,
        poll: bool,
    ) -> inbox_port::Fut<'a, Vec<ConversationSummary>> {
        Box::pin(async move {
            self.admin(request, poll).await?;
            api::conversations::list(&self.0, filter.as_deref(), search.as_deref(), 1)
                .await
                .map_err(for_inbox)
        })
    }

    fn open<'a>(
        &'a self,
        request: &'a Parts,
        mobile: String,
        poll: bool,
    ) -> inbox_port::Fut<'a, Conversation> {
        Box::pin(async move {
            self.admin(request, poll).await?;
            api::conversations::open(&self.0, &mobile, true)
                .await
                .map_err(for_inbox)
        })
    }

    fn reply<'a>(
        &'a self,
        request: &'a Parts,
        mobile: String,
        body: String,
    ) -> inbox_port::Fut<'a, ()> {
        Box::pin(async move {
            let user = self.admin(request, false).await?;
            api::conversations::reply(&self.0, &user, &mobile, &body)
                .await
                .map(|_| ())
                .map_err(for_inbox)
        })
    }

    fn mark_handled<'a>(&'a self, request: &'a Parts, mobile: String) -> inbox_port::Fut<'a, ()> {
        Box::pin(async move {
            let user = self.admin(request, false).await?;
            api::conversations::mark_handled(&self.0, &user, &mobile)
                .await
                .map_err(for_inbox)
        })
    }

    fn count<'a>(&'a self, request: &'a Parts) -> inbox_port::Fut<'a, Option<i64>> {
        Box::pin(async move {
            match self.admin(request, true).await {
                Ok(_) => {}
                Err(InboxError::Unauthenticated | InboxError::Forbidden) => return Ok(None),
                Err(other) => return Err(other),
            }
            crate::messaging::conversations::needing_action(&self.0.db)
                .await
                .map(Some)
                .map_err(|error| for_inbox(error.into()))
        })
    }

    fn day<'a>(
        &'a self,
        request: &'a Parts,
        date: Option<String>,
    ) -> inbox_port::Fut<'a, DayReplies> {
        Box::pin(async move {
            self.admin(request, false).await?;
            api::conversations::day(&self.0, date.as_deref())
                .await
                .map_err(for_inbox)
        })
    }
}
