//! The JSON API under `/api/v1` and the WhatsApp webhooks, one file per feature. Each handler is
//! thin: it authenticates (the [`crate::web::session::Admin`] extractor), reads its input, calls
//! a capability and maps the error. Operations that the admin pages' ports share with these
//! handlers (the audited ones) live beside the handler that answers them.

pub mod admin;
pub mod broadcasts;
pub mod conversations;
pub mod dashboard;
pub mod exclusions;
pub mod extract;
pub mod marketing;
pub mod messages;
pub mod webhook;

use crate::web::state::AppState;
use axum::Router;

/// Returns every route of the JSON API and the webhooks.
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(dashboard::routes())
        .merge(webhook::routes())
        .merge(admin::routes())
        .merge(marketing::routes())
        .merge(exclusions::routes())
        .merge(messages::routes())
        .merge(broadcasts::routes())
        .merge(conversations::routes())
}
