//! The HTTP surface, the only layer that knows axum: the router (pages, server functions, the
//! JSON API, assets), the shared state, the ports `app`'s server functions reach, the session
//! checks, and the server that runs it all until Ctrl-C or SIGTERM.

pub mod access;
pub mod api;
pub mod assets;
pub mod canonical;
pub mod cookies;
pub mod headers;
pub mod health;
pub mod language;
pub mod metrics;
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
    let policy = Arc::new(headers::Policy {
        board_frame_ancestors: state.config.dashboard_frame_ancestors.clone(),
        dev_reload: std::env::var_os("LEPTOS_WATCH").is_some(),
    });
    let router = Router::new()
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::serve))
        .merge(api::routes())
        .route("/", get(language::root))
        .route("/clinic-dashboard", get(language::unprefixed))
        .route("/marketing-report", get(language::unprefixed))
        .route("/clinic-dashboard/ar", get(language::legacy_dashboard))
        .route("/clinic-dashboard/en", get(language::legacy_dashboard))
        .leptos_routes_with_context(&state, routes, context, move || shell(leptos.clone()))
        // Every route above labels its answer with its template, for the request metrics.
        .route_layer(axum::middleware::from_fn(metrics::label))
        .fallback(file_and_error_handler::<AppState, _>(shell))
        .layer(axum::middleware::from_fn_with_state(
            policy.clone(),
            headers::content_policy,
        ))
        .layer(axum::middleware::from_fn_with_state(
            (state.dashboard_key.clone(), state.config.public_url.clone()),
            access::guard,
        ))
        .layer(axum::middleware::from_fn(language::remember))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::require_csrf,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::carry_csrf,
        ))
        .layer(axum::middleware::from_fn(
            session::unreadable_arguments_are_422,
        ))
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
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            canonical::redirect,
        ))
        .layer(axum::middleware::from_fn_with_state(
            policy,
            headers::secure,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.config.public_url.clone(),
            session::refuse_other_hosts,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::from_fn(metrics::track))
        .with_state(state)
}

/// A bound, ready-to-run Nabd web server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    /// The job store, when the job runtime runs inside this process.
    jobs: Option<jobs::JobStore>,
}

impl Application {
    /// Validates `config`, opens (and migrates) the app database, prepares the clinic handle and
    /// binds the listen address (port 0 picks a free port, as tests do).
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let clock = config.clock()?;
        // Process-wide, once: every application built in this process records into it.
        let _ = crate::platform::metrics::install();
        let db = store::open(&config.database_url).await?;
        let instance = crate::platform::instance::Instance::start(
            &db,
            clock,
            std::time::Duration::from_secs(config.heartbeat_secs),
        )
        .await
        .context("cannot register this process in the app database")?;
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
        let messaging =
            messaging::setup::build(&config, db.clone(), clinic.clone(), clock, timers, instance)
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
        let slowdown = std::time::Duration::from_secs(config.admin_slowdown_max_secs);
        let sign_in_limiter = Arc::new(crate::admin::AttemptLimiter::new(db.clone(), slowdown));
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
            sign_in_limiter,
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
        let instance = self.state.messaging.outbox.instance().clone();
        let beating = tokio::spawn({
            let instance = instance.clone();
            let stop = stop.clone();
            async move { instance.keep_beating(stop).await }
        });
        let runtime = self.jobs.map(|store| {
            let stop = stop.clone();
            let campaign = self.state.campaign.clone();
            let config = self.state.config.clone();
            tokio::spawn(async move {
                if let Err(error) =
                    jobs::run(
                        campaign,
                        store,
                        config,
                        async move { stop.cancelled().await },
                    )
                    .await
                {
                    tracing::error!(%error, "the job runtime stopped");
                }
            })
        });
        let limits = Limits {
            header_read_timeout: std::time::Duration::from_secs(
                self.state.config.header_read_timeout_secs,
            ),
            max_connections: self.state.config.max_connections as usize,
        };
        let serving = serve(self.listener, self.router, limits, {
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
        let _ = beating.await;
        // Nothing of this process is in flight any more: peers need not wait for its
        // heartbeat to go stale.
        if let Err(error) = instance.stop().await {
            tracing::warn!(%error, "this instance could not be marked stopped");
        }
        served
    }
}

/// How the accept loop protects itself from slow and numerous clients.
struct Limits {
    header_read_timeout: std::time::Duration,
    max_connections: usize,
}

/// Serves HTTP/1.1 on `listener` until `shutdown`, then lets the connections in flight finish
/// (up to 30 s). A client that does not send a request's headers within the timeout, or that
/// keeps a connection idle that long, is disconnected; at most `max_connections` are served
/// at once (`axum::serve` has neither setting).
async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = router.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        );
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(std::time::Duration::from_secs(30)) => {
            tracing::warn!("connections still open 30 s after shutdown began; closing them");
        }
    }
    Ok(())
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
