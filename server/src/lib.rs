//! The `nabd` server: configuration, the app database, the clinic database, the HTTP
//! application and the command line. `main.rs` only parses the command line and calls in here.

pub mod access;
pub mod admin;
pub mod assets;
pub mod auth;
pub mod broadcast;
pub mod campaign;
pub mod cli;
pub mod clinic;
pub mod clock;
pub mod commands;
pub mod config;
pub mod cookies;
pub mod dashboard;
pub mod demo;
pub mod exclusions;
pub mod feedback;
pub mod gateway;
pub mod health;
pub mod jobs;
pub mod language;
pub mod messaging;
pub mod number_list;
pub mod phone;
pub mod reminders;
pub mod state;
pub mod store;
pub mod time;
pub mod web;

/// Starts `tracing` output on stderr, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
}
