//! What every request handler and port shares. Capabilities never see it: handlers hand them
//! the parts they use.

use crate::config::{Config, Secret};
use crate::gateway::StatusCodes;
use crate::gateway::clinic::Clinic;
use crate::messaging::Messaging;
use crate::platform::clock::Clock;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use std::sync::Arc;

/// The server's shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Leptos's settings (site root, output name, reload port).
    pub leptos: LeptosOptions,
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Nabd's own database.
    pub db: crate::platform::store::Db,
    /// The clinic's database.
    pub clinic: Clinic,
    /// The clock in the clinic's time zone.
    pub clock: Clock,
    /// What each appointment status code means.
    pub statuses: Arc<StatusCodes>,
    /// The dashboard: its figures, their cache and the settled days already read.
    pub dashboard: crate::dashboard::Board,
    /// The dashboard's access key, when it is not public.
    pub dashboard_key: Option<Secret>,
    /// The outbox, the WhatsApp provider and the reminder and feedback services.
    pub messaging: Messaging,
    /// The reactivation campaign.
    pub campaign: crate::campaign::Campaign,
    /// Failed admin sign-ins per IP and per username.
    pub sign_in_limiter: Arc<crate::admin::AttemptLimiter>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos.clone()
    }
}
