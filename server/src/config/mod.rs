//! Nabd's one typed configuration: every setting, its environment variable, unit and default.
//!
//! Settings come from `NABD_*` environment variables (a `.env` file in the working directory is
//! read first when present) or the matching command-line flags. `.env.example` lists them all.
//! A bad value stops Nabd at start with a message that names the setting.

pub mod backup;
pub mod campaign;
pub mod messaging;
mod values;

pub use values::{Network, PublicUrl, Schedule, Secret};

use crate::platform::clock::{AmbiguousNow, Clock};
use chrono::NaiveDateTime;
use chrono_tz::Tz;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Every setting Nabd reads at start.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address the web server listens on. Default: `LEPTOS_SITE_ADDR` when run by cargo-leptos,
    /// else 127.0.0.1:3000.
    #[arg(long, env = "NABD_ADDR", global = true, value_parser = parse_addr)]
    pub addr: Option<SocketAddr>,

    /// Nabd's own database: a SQLite URL (the default, one process) or a PostgreSQL 15+ URL
    /// (`postgres://user:password@host/db`, shared by any number of `nabd serve` processes).
    /// Its migrations are applied at start; a SQLite file is created when missing.
    #[arg(
        long,
        env = "NABD_DATABASE_URL",
        global = true,
        default_value = "sqlite://data/nabd.db",
        value_parser = parse_database_url
    )]
    pub database_url: String,

    /// Seconds between this process's heartbeats in the app database. A process whose
    /// heartbeat is three beats old counts as dead: its unfinished sends become `uncertain`,
    /// its scheduled jobs are taken over. The same on every process sharing a database.
    #[arg(long, env = "NABD_HEARTBEAT_SECS", global = true, default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub heartbeat_secs: u64,

    /// The clinic's practice-management database, read only: `sqlite://path` for the embedded
    /// demo clinic, or an ADO.NET connection string for SQL Server
    /// (`server=tcp:host,1433;database=...;user id=...;password=...;encrypt=true`).
    #[arg(long, env = "NABD_CLINIC_URL", global = true, value_parser = parse_clinic_url)]
    pub clinic_url: Option<Secret>,

    /// The clinic's IANA time zone; "today" and every schedule are in it.
    #[arg(
        long,
        env = "NABD_TIMEZONE",
        global = true,
        default_value = "Asia/Riyadh",
        value_parser = parse_timezone
    )]
    pub timezone: Tz,

    /// A fixed "now" in clinic-local time (`2026-01-05T10:30` or `2026-01-05 10:30:00`) that the
    /// whole program reads its clock from, for demos and tests. Unset: the real clock.
    #[arg(long, env = "NABD_NOW", global = true, value_parser = parse_now)]
    pub now: Option<NaiveDateTime>,

    /// How long one clinic database query may take before it is abandoned, in seconds.
    #[arg(long, env = "NABD_CLINIC_TIMEOUT_SECS", global = true, default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub clinic_timeout_secs: u64,

    /// Most connections Nabd opens to a SQL Server clinic database at once.
    #[arg(long, env = "NABD_CLINIC_POOL_SIZE", global = true, default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub clinic_pool_size: u16,

    /// How long dashboard figures are reused before the clinic database is asked again, in
    /// seconds (per doctor filter; 0 asks on every view).
    #[arg(
        long,
        env = "NABD_DASHBOARD_TTL_SECS",
        global = true,
        default_value_t = 60
    )]
    pub dashboard_ttl_secs: u64,

    /// How often an open dashboard asks for fresh figures, in seconds.
    #[arg(long, env = "NABD_DASHBOARD_REFRESH_SECS", global = true, default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(2..=3600))]
    pub dashboard_refresh_secs: u32,

    /// Who may see the dashboard: `public` (anyone) or `token` (holders of the access link
    /// `?key=<NABD_DASHBOARD_TOKEN>`).
    #[arg(
        long,
        env = "NABD_DASHBOARD_ACCESS",
        global = true,
        default_value = "public",
        value_enum
    )]
    pub dashboard_access: DashboardAccess,

    /// The dashboard's access key when `NABD_DASHBOARD_ACCESS=token` (at least 16 characters,
    /// letters, digits, `-` and `_`).
    #[arg(long, env = "NABD_DASHBOARD_TOKEN", global = true, value_parser = parse_token)]
    pub dashboard_token: Option<Secret>,

    /// ISO 4217 code of the clinic's currency, used for every money figure.
    #[arg(long, env = "NABD_CURRENCY", global = true, default_value = "SAR", value_parser = parse_currency)]
    pub currency: String,

    /// Appointment status codes meaning "unconfirmed" (comma-separated).
    #[arg(
        long,
        env = "NABD_STATUS_UNCONFIRMED",
        global = true,
        value_delimiter = ',',
        default_value = "0"
    )]
    pub status_unconfirmed: Vec<i64>,

    /// Appointment status codes meaning "confirmed" (comma-separated).
    #[arg(
        long,
        env = "NABD_STATUS_CONFIRMED",
        global = true,
        value_delimiter = ',',
        default_value = "1"
    )]
    pub status_confirmed: Vec<i64>,

    /// Appointment status codes meaning "attended" (comma-separated).
    #[arg(
        long,
        env = "NABD_STATUS_ATTENDED",
        global = true,
        value_delimiter = ',',
        default_value = "2"
    )]
    pub status_attended: Vec<i64>,

    /// Appointment status codes meaning "cancelled" (comma-separated); such appointments count
    /// nowhere.
    #[arg(
        long,
        env = "NABD_STATUS_CANCELLED",
        global = true,
        value_delimiter = ',',
        default_value = "3"
    )]
    pub status_cancelled: Vec<i64>,

    /// Appointment status codes meaning "no-show" (comma-separated).
    #[arg(
        long,
        env = "NABD_STATUS_NO_SHOW",
        global = true,
        value_delimiter = ',',
        default_value = "4"
    )]
    pub status_no_show: Vec<i64>,

    /// Folder holding the built site (`pkg/` and `assets/`). Default: `LEPTOS_SITE_ROOT` when run
    /// by cargo-leptos, else `target/site`.
    #[arg(long, env = "NABD_SITE_ROOT", global = true)]
    pub site_root: Option<PathBuf>,

    /// Minutes an admin session may sit unused before it ends.
    #[arg(long, env = "NABD_ADMIN_IDLE_MINUTES", global = true, default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=10080))]
    pub admin_idle_minutes: u32,

    /// Hours an admin session lives at most, however busy (a clinic day of 08:00-22:00).
    #[arg(long, env = "NABD_ADMIN_MAX_HOURS", global = true, default_value_t = 14,
          value_parser = clap::value_parser!(u32).range(1..=168))]
    pub admin_max_hours: u32,

    /// The address the clinic opens Nabd at, e.g. `https://dash.clinic.example`. When set, a
    /// request naming another host is refused (DNS rebinding), and its scheme decides whether
    /// cookies are `Secure` (instead of an `X-Forwarded-Proto` header anyone can send). Unset
    /// (local use): any host is served.
    #[arg(long, env = "NABD_PUBLIC_URL", global = true, value_parser = values::parse_public_url)]
    pub public_url: Option<values::PublicUrl>,

    /// Who may frame the public board (its CSP `frame-ancestors`), e.g. the clinic's signage
    /// page `https://signage.clinic.example`; then the board sends no `X-Frame-Options`.
    /// Unset: no page may frame any of Nabd's pages.
    #[arg(long, env = "NABD_DASHBOARD_FRAME_ANCESTORS", global = true,
          value_parser = values::parse_frame_ancestors)]
    pub dashboard_frame_ancestors: Option<String>,

    /// Seconds a client may take to send a request's headers, and to start the next request on
    /// a kept-alive connection; slower clients are disconnected (slowloris).
    #[arg(long, env = "NABD_HEADER_READ_TIMEOUT_SECS", global = true, default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub header_read_timeout_secs: u64,

    /// The most connections served at once; more wait in the listen queue until one closes.
    #[arg(long, env = "NABD_MAX_CONNECTIONS", global = true, default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(8..=65536))]
    pub max_connections: u32,

    /// The longest delay, in seconds, before a password check for a username that keeps
    /// failing (1 s, 2 s, 4 s... up to this); 0 turns the delay off.
    #[arg(long, env = "NABD_ADMIN_SLOWDOWN_MAX_SECS", global = true, default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub admin_slowdown_max_secs: u64,

    /// Reverse proxies whose `X-Forwarded-For` is believed (addresses or CIDR ranges,
    /// comma-separated, e.g. `127.0.0.1,10.0.0.0/8`). The sign-in limits and the audit log then
    /// see the client's address instead of the proxy's. Empty: the connecting address is used.
    #[arg(long, env = "NABD_TRUSTED_PROXIES", global = true, value_delimiter = ',',
          value_parser = values::parse_network)]
    pub trusted_proxies: Vec<values::Network>,

    /// The bearer token Prometheus sends to read `/metrics` from another machine (at least 16
    /// letters, digits, `-` or `_`). Unset: `/metrics` answers only direct connections from
    /// this machine's loopback that carry no proxy headers.
    #[arg(long, env = "NABD_METRICS_TOKEN", global = true, value_parser = parse_metrics_token)]
    pub metrics_token: Option<Secret>,

    /// How log lines are written on standard error: `text` (for people, the default) or `json`
    /// (one JSON object a line with the span fields, for log shippers). `RUST_LOG` filters
    /// either.
    #[arg(
        long,
        env = "NABD_LOG_FORMAT",
        global = true,
        default_value = "text",
        value_enum
    )]
    pub log_format: LogFormat,

    /// WhatsApp, the job runtime, reminders, feedback and sending rules.
    #[command(flatten)]
    pub messaging: messaging::MessagingConfig,

    /// The reactivation campaign.
    #[command(flatten)]
    pub campaign: campaign::CampaignConfig,

    /// The scheduled backup.
    #[command(flatten)]
    pub backup: backup::BackupConfig,
}

impl Config {
    /// Returns the dashboard's access key when access is by token; an error naming the setting
    /// when token access is chosen without a key.
    pub fn dashboard_key(&self) -> Result<Option<Secret>, String> {
        match (self.dashboard_access, &self.dashboard_token) {
            (DashboardAccess::Token, Some(token)) => Ok(Some(token.clone())),
            (DashboardAccess::Token, None) => Err(
                "NABD_DASHBOARD_ACCESS=token needs NABD_DASHBOARD_TOKEN (at least 16 characters)"
                    .to_owned(),
            ),
            (DashboardAccess::Public, _) => Ok(None),
        }
    }

    /// Returns the program's clock: real time in `NABD_TIMEZONE`, or stopped at `NABD_NOW`.
    pub fn clock(&self) -> Result<Clock, AmbiguousNow> {
        match self.now {
            Some(now) => Clock::fixed(self.timezone, now),
            None => Ok(Clock::system(self.timezone)),
        }
    }

    /// Returns how long one clinic query may take.
    pub fn clinic_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.clinic_timeout_secs)
    }

    /// Returns the listen address, falling back to cargo-leptos's `LEPTOS_SITE_ADDR`.
    pub fn listen_addr(&self) -> SocketAddr {
        self.addr
            .or_else(|| std::env::var("LEPTOS_SITE_ADDR").ok()?.parse().ok())
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)))
    }

    /// Returns the site root, falling back to cargo-leptos's `LEPTOS_SITE_ROOT`.
    pub fn site_root(&self) -> PathBuf {
        self.site_root
            .clone()
            .or_else(|| std::env::var_os("LEPTOS_SITE_ROOT").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("target/site"))
    }
}

/// Who may see the dashboard: `Public` anyone, `Token` holders of the access link
/// `?key=<NABD_DASHBOARD_TOKEN>`. (The variants carry no doc comments: clap would print them as
/// a long list in `nabd --help`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DashboardAccess {
    Public,
    Token,
}

/// How log lines are written: `Text` for people, `Json` for log shippers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

fn parse_addr(value: &str) -> Result<SocketAddr, String> {
    value
        .parse()
        .map_err(|_| format!("NABD_ADDR must be host:port such as 127.0.0.1:3000, not {value:?}"))
}

fn parse_database_url(value: &str) -> Result<String, String> {
    if value.starts_with("sqlite:")
        || crate::platform::store::Backend::of_url(value)
            == crate::platform::store::Backend::Postgres
    {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "NABD_DATABASE_URL must be a SQLite URL such as sqlite://data/nabd.db or a \
             PostgreSQL URL such as postgres://nabd@db.clinic.lan/nabd, not {}",
            crate::platform::store::redact(value)
        ))
    }
}

fn parse_clinic_url(value: &str) -> Result<Secret, String> {
    let value = value.trim();
    if value.starts_with("sqlite:") {
        return Ok(Secret::new(value));
    }
    let lower = value.to_ascii_lowercase();
    let has_server = lower.split(';').any(|part| {
        matches!(
            part.split('=').next().map(str::trim),
            Some("server" | "data source")
        )
    });
    if has_server {
        Ok(Secret::new(value))
    } else {
        Err("NABD_CLINIC_URL must be sqlite://<file> or an ADO.NET connection string with server=..."
            .to_owned())
    }
}

fn parse_currency(value: &str) -> Result<String, String> {
    let code = value.trim().to_ascii_uppercase();
    if code.len() == 3 && code.bytes().all(|byte| byte.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(format!(
            "NABD_CURRENCY must be a three-letter ISO 4217 code such as SAR, not {value:?}"
        ))
    }
}

fn parse_token(value: &str) -> Result<Secret, String> {
    let value = value.trim();
    let allowed = value
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
    if value.len() >= 16 && allowed {
        Ok(Secret::new(value))
    } else {
        Err("NABD_DASHBOARD_TOKEN must be at least 16 letters, digits, '-' or '_'".to_owned())
    }
}

fn parse_metrics_token(value: &str) -> Result<Secret, String> {
    parse_token(value).map_err(|_| {
        "NABD_METRICS_TOKEN must be at least 16 letters, digits, '-' or '_'".to_owned()
    })
}

fn parse_timezone(value: &str) -> Result<Tz, String> {
    value.parse().map_err(|_| {
        format!("NABD_TIMEZONE must be an IANA time zone such as Asia/Riyadh, not {value:?}")
    })
}

/// Parses `NABD_NOW`: a clinic-local date and time, with a `T` or a space, seconds optional.
pub fn parse_now(value: &str) -> Result<NaiveDateTime, String> {
    let value = value.trim();
    [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
    .ok_or_else(|| {
        format!("NABD_NOW must be a local date and time such as 2026-01-05T10:30, not {value:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_now_accepts_a_t_or_a_space_and_optional_seconds() {
        let expected = chrono::NaiveDate::from_ymd_opt(2026, 1, 5)
            .and_then(|d| d.and_hms_opt(10, 30, 0))
            .expect("valid date");
        assert_eq!(parse_now("2026-01-05T10:30"), Ok(expected));
        assert_eq!(parse_now("2026-01-05 10:30:00"), Ok(expected));
        let error = parse_now("tomorrow").expect_err("not a date");
        assert!(error.contains("NABD_NOW"), "{error}");
    }

    #[test]
    fn a_bad_time_zone_names_the_setting() {
        let error = parse_timezone("Asia/Ryadh").expect_err("misspelt zone");
        assert!(error.contains("NABD_TIMEZONE"), "{error}");
        assert_eq!(parse_timezone("Asia/Riyadh"), Ok(chrono_tz::Asia::Riyadh));
    }

    #[test]
    fn the_clinic_url_is_sqlite_or_an_ado_connection_string() {
        assert!(parse_clinic_url("sqlite://data/clinic.db").is_ok());
        assert!(parse_clinic_url("server=tcp:db,1433;database=pms;user id=ro;password=x").is_ok());
        let error = parse_clinic_url("postgres://x").expect_err("not supported");
        assert!(error.contains("NABD_CLINIC_URL"), "{error}");
    }

    #[test]
    fn a_secret_never_prints_its_value() {
        let secret = Secret::new("server=db;password=hunter2");
        assert!(!format!("{secret:?} {secret}").contains("hunter2"));
    }
}
