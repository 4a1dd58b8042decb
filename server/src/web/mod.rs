//! The HTTP surface, the only layer that knows axum: the router (pages, server functions, the
//! JSON API, assets), the shared state, the ports `app`'s server functions reach, the session
//! checks, and the server that runs it all until Ctrl-C or SIGTERM.

pub mod access;
pub mod api;
pub mod assets;
pub mod cookies;
pub mod health;
pub mod language;
pub mod page_cache;
pub mod ports;
pub mod session;
pub mod state;

use crate::config::Config;
use crate::dashboard::cache::FiguresCache;
use crate::dashboard::history::RevenueHistory;
use crate::gateway::clinic::Clinic;
use crate::platform::store;
use crate::web::state::AppState;
use crate::{dashboard, jobs, messaging};
use anyhow::Context;
use app::{App, shell};
use axum::Router;
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, file_and_error_handler, generate_route_list};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::trace::TraceLayer;

/// Builds the router over `state`.
pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let leptos = state.leptos.clone();
    let context = ports::provide(&state);
    // A public board's pages are kept a moment (a private one's access check sees every request).
    let pages = (state.dashboard_key.is_none()).then(|| {
        Arc::new(page_cache::PageCache::new(std::time::Duration::from_secs(
            state.config.dashboard_ttl_secs,
        )))
    });
    let router = Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .merge(api::routes())
        .route("/", get(language::root))
        .route("/clinic-dashboard", get(language::unprefixed))
        .route("/marketing-report", get(language::unprefixed))
        .route("/clinic-dashboard/ar", get(language::legacy_dashboard))
        .route("/clinic-dashboard/en", get(language::legacy_dashboard))
        .leptos_routes_with_context(&state, routes, context, move || shell(leptos.clone()))
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            state.dashboard_key.clone(),
            access::guard,
        ))
        .layer(axum::middleware::from_fn(language::remember))
        .layer(axum::middleware::from_fn(session::refuse_cross_site))
        .layer(CompressionLayer::new());
    let router = match pages {
        Some(pages) => router.layer(axum::middleware::from_fn_with_state(
            pages,
            page_cache::serve,
        )),
        None => router,
    };
    // Static files compressed once at the best level, in the background from the start.
    let files = assets::Precompressed::start(state.config.site_root());
    router
        .layer(axum::middleware::from_fn_with_state(files, assets::serve))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, ready-to-run Nabd web server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// The job store, when the job runtime runs inside this process.
    jobs: Option<sqlx::SqlitePool>,
}

impl Application {
    /// Validates `config`, opens (and migrates) the app database, prepares the clinic handle and
    /// binds the listen address (port 0 picks a free port, as tests do).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let clock = config.clock()?;
        let db = store::open(&config.database_url).await?;
        let clinic = Clinic::from_config(&config).context("NABD_CLINIC_URL cannot be used")?;
        let statuses = Arc::new(crate::gateway::StatusCodes::from_config(&config));
        let figures_ttl = std::time::Duration::from_secs(config.dashboard_ttl_secs);
        let dashboard_key = config.dashboard_key().map_err(anyhow::Error::msg)?;
        let addr = config.listen_addr();
        let leptos = leptos_options(&config, addr);
        let jobs = if config.messaging.jobs_enabled {
            Some(jobs::open_store(&config.messaging.jobs_url(&config.database_url)).await?)
        } else {
            None
        };
        let timers = jobs.as_ref().map(|store| {
            Arc::new(jobs::StoreTimers::new(store)) as Arc<dyn messaging::outbox::Timers>
        });
        let messaging = messaging::setup::build(&config, db.clone(), clinic.clone(), clock, timers)
            .map_err(anyhow::Error::msg)?;
        let campaign = crate::campaign::Campaign::new(messaging.clone(), config.campaign.clone())
            .map_err(|error| anyhow::anyhow!("{error}"))?;
        let dashboard = dashboard::Board {
            clinic: clinic.clone(),
            clock,
            statuses: statuses.clone(),
            cache: Arc::new(FiguresCache::new(figures_ttl)),
            history: Arc::new(RevenueHistory::new()),
            currency: config.currency.clone(),
            refresh_secs: config.dashboard_refresh_secs,
        };
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (NABD_ADDR)"))?;
        let state = AppState {
            leptos,
            config: Arc::new(config),
            db,
            clinic,
            clock,
            statuses,
            dashboard,
            dashboard_key,
            messaging,
            campaign,
            sign_in_limiter: Arc::default(),
        };
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            state,
            jobs,
        })
    }

    /// Returns the address the server listens on.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Returns the shared state (for tests and jobs living beside the server).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves requests and runs the job runtime until `shutdown` completes, then finishes the
    /// requests and jobs in flight.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let stop = tokio_util::sync::CancellationToken::new();
        let runtime = self.jobs.map(|store| {
            let stop = stop.clone();
            let campaign = self.state.campaign.clone();
            tokio::spawn(async move {
                if let Err(error) =
                    jobs::run(campaign, store, async move { stop.cancelled().await }).await
                {
                    tracing::error!(%error, "the job runtime stopped");
                }
            })
        });
        let serving = axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown({
            let stop = stop.clone();
            async move {
                tokio::select! {
                    () = shutdown => {},
                    () = stop.cancelled() => {},
                }
                stop.cancel();
            }
        });
        let served = serving.await;
        stop.cancel();
        if let Some(runtime) = runtime {
            let _ = runtime.await;
        }
        served
    }
}

fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("PROD") | Ok("prod") => leptos::config::Env::PROD,
        _ => leptos::config::Env::DEV,
    };
    let reload_port = std::env::var("LEPTOS_RELOAD_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(3001);
    LeptosOptions::builder()
        .output_name("nabd")
        .site_root(config.site_root().display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .reload_port(reload_port)
        .env(env)
        .build()
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
