//! Builds a running server from a [`Config`]: store, leadership, HTTP
//! dispatcher and probe, engine, router, listener; and shuts it down cleanly.

use crate::config::Config;
use crate::deny_networks::DenyNetworks;
use crate::http_dispatch::{HttpDispatcher, executor_client_denying};
use crate::http_probe::HttpProbe;
use crate::open_mode::OpenModeGuard;
use crate::{AppState, app, observability};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use scheduler_core::{AlwaysLeader, Leadership, MemoryStore, Scheduler, SchedulerError, Store};
use scheduler_mysql::{MysqlLeadership, MysqlLeadershipConfig, MysqlStore, MysqlStoreOptions};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be reached or prepared.
    #[error("cannot use the database at {url}: {reason}")]
    Database {
        /// The URL, password removed.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// `host:port`.
        addr: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The HTTP client for executors could not be built.
    #[error("cannot build the HTTP client for executors: {0}")]
    HttpClient(String),
    /// The engine refused to start.
    #[error("cannot start the scheduler: {0}")]
    Scheduler(#[from] SchedulerError),
}

/// Which store the server runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The in-memory store: nothing survives a restart.
    Memory,
    /// MySQL at this URL (password removed).
    Mysql(String),
}

/// How long a client has to send a request's headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A built server, listening but not yet serving.
pub struct Server {
    listener: TcpListener,
    router: Router,
    scheduler: Scheduler,
    addr: SocketAddr,
    backend: Backend,
    callback_base: String,
    max_connections: usize,
    shutdown_grace: Duration,
    alerts: crate::alerts::Alerts,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

pub use crate::config::redact_url;

async fn open_store(config: &Config) -> Result<(Arc<dyn Store>, Arc<dyn Leadership>, Backend), StartError> {
    match config.database_url() {
        None => Ok((
            Arc::new(MemoryStore::with_max_log_bytes(config.history.max_log_bytes)),
            Arc::new(AlwaysLeader::default()),
            Backend::Memory,
        )),
        Some(url) => open_mysql(config, &url).await,
    }
}

async fn open_mysql(config: &Config, url: &str) -> Result<(Arc<dyn Store>, Arc<dyn Leadership>, Backend), StartError> {
    let max_connections = config.database.as_ref().map_or(10, |d| d.max_connections);
    let options = MysqlStoreOptions {
        max_connections,
        max_log_bytes: config.history.max_log_bytes,
        ..MysqlStoreOptions::default()
    };
    let store = MysqlStore::connect_with(url, options).await.map_err(|e| {
        let mut reason = e.to_string();
        if url.contains("require_ssl=true") && (reason.contains("SSL") || reason.contains("TLS")) {
            reason.push_str(
                " (database.url has require_ssl=true: the database server must offer TLS with a certificate \
                     this host trusts; add verify_ca=false&verify_identity=false only for a self-signed test server)",
            );
        }
        StartError::Database {
            url: redact_url(url),
            reason,
        }
    })?;
    let s = &config.scheduler;
    let leadership = MysqlLeadership::new(
        url,
        MysqlLeadershipConfig {
            lock_key: s.lock_key.clone(),
            heartbeat_interval: s.heartbeat_interval.0,
            lock_timeout: s.lock_timeout.0,
        },
    );
    Ok((Arc::new(store), Arc::new(leadership), Backend::Mysql(redact_url(url))))
}

impl Server {
    /// Opens the store, binds `api.host:api.port`, and starts the engine.
    pub async fn build(config: &Config) -> Result<Self, StartError> {
        // Installed first, so the engine's first metrics and their help text
        // reach the exporter.
        let metrics = observability::prometheus();
        let (store, leadership, backend) = open_store(config).await?;
        let host = &config.api.host;
        // An IPv6 literal needs brackets before the port.
        let bind = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]:{}", config.api.port)
        } else {
            format!("{host}:{}", config.api.port)
        };
        let listener = TcpListener::bind(&bind).await.map_err(|source| StartError::Bind {
            addr: bind.clone(),
            source,
        })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr: bind, source })?;
        let callback_base = config.callback_base(addr);

        let scfg = config.scheduler_config();
        // Validated with the configuration; an error here cannot happen for a loaded one.
        let deny = DenyNetworks::parse(&config.executors.deny_networks).map_err(StartError::HttpClient)?;
        let client = executor_client_denying(scfg.dispatch_timeout.min(Duration::from_secs(5)), &deny)
            .map_err(|e| StartError::HttpClient(e.to_string()))?;
        let access_token = config.executors.access_token.as_deref();
        let dispatcher = HttpDispatcher::new(client.clone(), callback_base.clone(), scfg.dispatch_timeout)
            .with_access_token(access_token)
            .with_per_executor_limit(scfg.max_workers.div_ceil(2))
            .with_deny_networks(deny.clone());
        let probe = HttpProbe::new(client, scfg.health_check_timeout)
            .with_access_token(access_token)
            .with_deny_networks(deny);
        let mut builder = Scheduler::builder()
            .store(store)
            .leadership(leadership)
            .dispatcher(Arc::new(dispatcher))
            .health_probe(Arc::new(probe))
            .config(scfg);
        if let Some(id) = &config.scheduler.instance_id {
            builder = builder.instance_id(id.clone());
        }
        let scheduler = builder.build();
        // Subscribed before the engine starts, so its first events are seen.
        let alerts = crate::alerts::Alerts::start(&scheduler, &config.alerts).map_err(StartError::HttpClient)?;
        scheduler.start().await?;

        let mut state = AppState::new(scheduler.clone())
            .with_metrics(metrics)
            .with_request_timeout(config.api.request_timeout.0);
        match &config.auth.jwt_secret {
            Some(secret) => state = state.with_jwt_secret(secret),
            None => {
                let public_host = config
                    .api
                    .public_url
                    .as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .and_then(|u| u.host_str().map(str::to_owned));
                let extra = std::iter::once(config.api.host.clone()).chain(public_host);
                state = state.with_open_mode_guard(OpenModeGuard::new(addr, extra));
            }
        }
        match &backend {
            Backend::Memory => {
                tracing::info!("using the in-memory store: nothing survives a restart (set database.url for MySQL)");
            }
            Backend::Mysql(url) => tracing::info!(database = %url, "using the MySQL store"),
        }
        if !state.auth_enabled() && !addr.ip().is_loopback() {
            tracing::warn!(%addr, "listening beyond loopback WITHOUT authentication (api.allow_unauthenticated): set auth.jwt_secret");
        }
        if config.api.public_url.is_none() && addr.ip().is_unspecified() {
            tracing::warn!(callback_base = %callback_base, "api.public_url is not set; executors will call back to this host name");
        }
        tracing::info!(%addr, instance_id = %scheduler.instance_id(), callback_base = %callback_base, "listening");
        Ok(Self {
            listener,
            router: app(state),
            scheduler,
            addr,
            backend,
            callback_base,
            max_connections: config.api.max_connections.max(1),
            shutdown_grace: config.api.shutdown_grace.0,
            alerts,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The engine.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// The store in use.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// The base of callback URLs given to executors.
    pub fn callback_base(&self) -> &str {
        &self.callback_base
    }

    /// Serves until `shutdown` completes, then stops accepting and, at the
    /// same time, stops the engine (no fire starts after this point) and
    /// lets requests in flight finish for at most `api.shutdown_grace`.
    ///
    /// Each connection is served by hyper with a timer, so a client that
    /// does not send its headers within 10 s (`HEADER_READ_TIMEOUT`) is
    /// disconnected; at most `api.max_connections` connections are served at
    /// once, and further ones wait in the listen queue.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let upkeep = tokio::spawn(async {
            let handle = observability::prometheus();
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
        let graceful = GracefulShutdown::new();
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
        let service = TowerToHyperService::new(self.router);
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                biased;
                () = &mut shutdown => break,
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(s) => s,
                    // The semaphore is never closed.
                    Err(_) => break,
                },
            };
            let (stream, _peer) = tokio::select! {
                biased;
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little rather than spin.
                        tracing::warn!(error = %e, "cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let conn = http.serve_connection(TokioIo::new(stream), service.clone());
            let conn = graceful.watch(conn);
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                drop(slot);
            });
        }
        tracing::info!(grace = ?self.shutdown_grace, "shutting down: no new connections, no new fires");
        let drain = async {
            if tokio::time::timeout(self.shutdown_grace, graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!("requests still in flight after api.shutdown_grace; closing their connections");
            }
        };
        tokio::join!(drain, self.scheduler.shutdown());
        self.alerts.stop();
        upkeep.abort();
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}
