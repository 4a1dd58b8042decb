//! What every capability stands on: the clinic clock, stored instants, phone numbers, text made
//! safe to show, and the app database. Nothing here knows about a feature.

pub mod backup;
pub mod clock;
pub mod instance;
pub mod language;
pub mod metrics;
pub mod phone;
pub mod store;
pub mod text;
pub mod time;
pub mod transfer;
