//! What every request handler, server function and job shares.

use crate::clinic::Clinic;
use crate::clock::Clock;
use crate::config::{Config, Secret};
use crate::dashboard::cache::FiguresCache;
use crate::gateway::StatusCodes;
use crate::messaging::Messaging;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sqlx::SqlitePool;
use std::sync::Arc;

/// The server's shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Leptos's settings (site root, output name, reload port).
    pub leptos: LeptosOptions,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Nabd's own database.
    pub db: SqlitePool,
    /// The clinic's database.
    pub clinic: Clinic,
    /// The clock in the clinic's time zone.
    pub clock: Clock,
    /// What each appointment status code means.
    pub statuses: Arc<StatusCodes>,
    /// The dashboard figures, computed at most once per TTL per doctor filter.
    pub dashboard_cache: Arc<FiguresCache>,
    /// Settled days' revenue already read from the clinic.
    pub revenue_history: Arc<crate::dashboard::history::RevenueHistory>,
    /// The dashboard's access key, when it is not public.
    pub dashboard_key: Option<Secret>,
    /// The outbox, the WhatsApp provider and the reminder and feedback services.
    pub messaging: Messaging,
    /// The reactivation campaign.
    pub campaign: crate::campaign::Campaign,
    /// Failed admin sign-ins per IP and per username.
    pub sign_in_limiter: Arc<crate::auth::AttemptLimiter>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
