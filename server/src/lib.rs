//! The `nabd` server, one folder per capability. `main.rs` only parses the command line and
//! calls in here.
//!
//! Dependencies point one way: [`web`] (the HTTP surface) and [`cli`] call the capabilities
//! ([`dashboard`], [`messaging`], [`campaign`], [`admin`]), which use the [`gateway`] to the
//! clinic's database and the [`platform`] pieces (clock, time, phone numbers, the app
//! database) and their part of [`config`]. No capability imports `axum`, the web state or the
//! `app` crate's port traits. [`jobs`] runs the capabilities on their schedules.

#![warn(unreachable_pub)]

pub mod admin;
pub mod campaign;
pub mod check;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod gateway;
pub mod jobs;
pub mod messaging;
pub mod platform;
pub mod web;

/// Starts `tracing` output on stderr, filtered by `RUST_LOG` (default `info`), in people's
/// `text` or one JSON object a line (`NABD_LOG_FORMAT=json`, with the current span's fields and
/// the span list, for log shippers).
pub fn init_tracing(format: config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        config::LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        config::LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}
