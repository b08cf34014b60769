//! # scheduler-server
//!
//! The REST API of the scheduler, HTTP executors and the configuration of the
//! `scheduler-server` binary (see `docs/reference/api.md`,
//! `docs/reference/configuration.md`, `docs/operations.md` and
//! `docs/executor-protocol.md`).
//!
//! [`app`] builds the whole router from an [`AppState`]; it needs no socket,
//! so tests drive it with `tower::ServiceExt::oneshot`:
//!
//! ```no_run
//! use scheduler_core::Scheduler;
//! use scheduler_server::{AppState, app};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let scheduler = Scheduler::builder().build();
//! scheduler.start().await?;
//! let router = app(AppState::new(scheduler));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, router).await?;
//! # Ok(()) }
//! ```
//!
//! [`Server`] is what the binary runs: it builds the store, the leadership,
//! the HTTP dispatcher and probe from a [`Config`].

mod alerts;
mod auth;
#[doc(hidden)]
pub mod cli;
pub mod config;
mod dashboard;
mod deny_networks;
mod dto;
mod error;
mod extract;
/// The binary's `healthcheck` subcommand.
#[doc(hidden)]
pub mod healthcheck;
mod http_dispatch;
mod http_probe;
mod observability;
mod open_mode;
mod openapi;
mod routes;
mod server;

pub use auth::{AuthError, Claims, JwtAuth, MAX_TOKEN_TTL, Scope};
pub use config::Config;
pub use deny_networks::DenyNetworks;
pub use error::{ApiError, ApiResult};
pub use http_dispatch::{HttpDispatcher, executor_client, executor_client_denying};
pub use http_probe::HttpProbe;
pub use open_mode::OpenModeGuard;
pub use server::{Backend, Server, StartError, shutdown_signal};

/// What the `scheduler-server` binary calls and nothing else should.
#[doc(hidden)]
pub use observability::init_logging;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use metrics_exporter_prometheus::PrometheusHandle;
use scheduler_core::Scheduler;
use std::sync::Arc;
use std::time::Duration;

/// What every handler gets: the engine, the authenticator and the metrics handle.
#[derive(Clone)]
pub struct AppState {
    /// The engine (and through it the store).
    pub scheduler: Scheduler,
    auth: Option<Arc<JwtAuth>>,
    metrics: PrometheusHandle,
    open_mode: Option<Arc<OpenModeGuard>>,
    request_timeout: Option<Duration>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("scheduler", &self.scheduler)
            .field("auth", &self.auth.is_some())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// An open API (no authentication) over `scheduler`, with the
    /// process-wide Prometheus recorder.
    pub fn new(scheduler: Scheduler) -> Self {
        Self {
            scheduler,
            auth: None,
            metrics: observability::prometheus(),
            open_mode: None,
            request_timeout: None,
        }
    }

    /// Without a JWT secret: refuses foreign `Host` headers and
    /// state-changing requests without a JSON content type (see
    /// [`OpenModeGuard`]). Ignored when a secret is set.
    pub fn with_open_mode_guard(mut self, guard: OpenModeGuard) -> Self {
        self.open_mode = Some(Arc::new(guard));
        self
    }

    /// Answers 503 to a request not answered within `timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = Some(timeout);
        self
    }

    /// Requires HS256 bearer tokens signed with `secret` on `/api/v1` (but the callback).
    pub fn with_jwt_secret(mut self, secret: &str) -> Self {
        self.auth = Some(Arc::new(JwtAuth::new(secret)));
        self
    }

    /// Renders `/metrics` from this handle.
    pub fn with_metrics(mut self, handle: PrometheusHandle) -> Self {
        self.metrics = handle;
        self
    }

    /// Whether bearer tokens are required.
    pub fn auth_enabled(&self) -> bool {
        self.auth.is_some()
    }
}

/// The whole HTTP API: `/api/v1/*`, `/healthz`, `/readyz`, `/metrics`.
pub fn app(state: AppState) -> Router {
    use routes::{alerts, executions, executors, system, tasks};

    let mut api = Router::new()
        .route("/api/v1/tasks", post(tasks::create_task).get(tasks::list_tasks))
        .route(
            "/api/v1/tasks/{id}",
            get(tasks::get_task).put(tasks::update_task).delete(tasks::delete_task),
        )
        .route("/api/v1/tasks/{id}/pause", post(tasks::pause_task))
        .route("/api/v1/tasks/{id}/resume", post(tasks::resume_task))
        .route("/api/v1/tasks/{id}/trigger", post(tasks::trigger_task))
        .route(
            "/api/v1/tasks/{id}/executors",
            get(tasks::get_task_executors).put(tasks::set_task_executors),
        )
        .route("/api/v1/tasks/{id}/stats", get(tasks::task_stats))
        .route("/api/v1/executors", get(executors::list_executors))
        .route("/api/v1/executors/register", post(executors::register_executor))
        .route(
            "/api/v1/executors/{id}",
            get(executors::get_executor)
                .put(executors::update_executor)
                .delete(executors::delete_executor),
        )
        .route("/api/v1/executors/{id}/status", put(executors::set_executor_status))
        .route("/api/v1/executions", get(executions::list_executions))
        .route("/api/v1/executions/{id}", get(executions::get_execution))
        .route("/api/v1/executions/{id}/stop", post(executions::stop_execution))
        .route("/api/v1/alerts", get(alerts::list_alerts))
        .route("/api/v1/system/status", get(system::system_status))
        .route("/api/v1/schedule/preview", get(system::schedule_preview))
        .route("/api/v1/openapi.json", get(system::openapi_json));
    if let Some(auth) = state.auth.clone() {
        api = api.route_layer(axum::middleware::from_fn_with_state(auth, auth::require_jwt));
    }
    let open = Router::new()
        .route("/api/v1/executions/{id}/callback", post(executions::callback))
        .route("/healthz", get(system::healthz))
        .route("/readyz", get(system::readyz))
        .route("/metrics", get(system::metrics));
    let mut router = api
        .merge(open)
        .merge(dashboard::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed);
    if let Some(timeout) = state.request_timeout {
        router = router.layer(axum::middleware::from_fn_with_state(timeout, request_timeout));
    }
    if let (Some(guard), None) = (state.open_mode.clone(), &state.auth) {
        router = router.layer(axum::middleware::from_fn_with_state(guard, open_mode::guard));
    }
    router
        .layer(axum::middleware::from_fn(observability::track_http))
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .with_state(state)
}

/// Middleware: a request not answered within the limit gets 503 with the
/// error body (its handler is dropped; a store write in flight either
/// completes or not, as with a lost connection).
async fn request_timeout(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!(
            "the request was not answered within {}; try again later",
            config::ConfigDuration(limit)
        ))
        .into_response(),
    }
}

async fn not_found(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no route for {method} {}", uri.path()))
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}
