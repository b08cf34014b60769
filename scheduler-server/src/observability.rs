//! Metrics (Prometheus text at `/metrics`) and logs (`tracing-subscriber`).

use crate::config::LogFormat;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics::Unit;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Instant;

/// Seconds an HTTP request took, by `method`, `route` and `status`.
///
/// Every label comes from a fixed set, so no request can create a new series:
/// `method` is one of the standard methods or `other`, `route` is the route
/// pattern (`/api/v1/tasks/{id}`) or `other` when no route matched, and
/// `status` is a status code the server itself produced.
pub const HTTP_REQUEST_DURATION: &str = "chronoflow_http_request_duration_seconds";

/// Always 1, labelled `version` with the server's version: joins a build to
/// the other series (`* on(instance) group_left(version)`).
pub const BUILD_INFO: &str = "chronoflow_build_info";

/// Histogram buckets, in seconds, shared by the fire lag and request durations.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process-wide Prometheus recorder, installed on first use, with the
/// help text of every metric (the engine's and the server's) and
/// [`BUILD_INFO`] set.
///
/// When another recorder is already installed (an embedding program chose
/// its own), the returned handle renders an empty page rather than failing.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = || {
                PrometheusBuilder::new()
                    .set_buckets(BUCKETS)
                    // `set_buckets` only fails for an empty slice, and BUCKETS is not empty.
                    .unwrap_or_else(|_| PrometheusBuilder::new())
            };
            match builder().install_recorder() {
                Ok(handle) => {
                    describe();
                    handle
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a metrics recorder is already installed; /metrics will be empty");
                    builder().build_recorder().handle()
                }
            }
        })
        .clone()
}

/// Registers the help text and unit of every metric with the installed
/// recorder and sets [`BUILD_INFO`].
fn describe() {
    use crate::alerts::{
        ALERTS_FAILED, ALERTS_GIVEN_UP, ALERTS_LOST, ALERTS_PENDING, ALERTS_QUEUED_TOTAL, ALERTS_SENT,
        ALERTS_SUPPRESSED,
    };
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    scheduler_core::metrics::describe();
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Seconds to answer an HTTP request, by method, route pattern and status."
    );
    describe_counter!(
        ALERTS_QUEUED_TOTAL,
        Unit::Count,
        "Alerts written to the outbox, by event."
    );
    describe_counter!(ALERTS_SENT, Unit::Count, "Alerts delivered to a webhook, by event.");
    describe_counter!(
        ALERTS_FAILED,
        Unit::Count,
        "Alert deliveries that failed and will be retried, by event."
    );
    describe_counter!(
        ALERTS_GIVEN_UP,
        Unit::Count,
        "Alerts still undelivered an hour after their event, by event."
    );
    describe_counter!(
        ALERTS_SUPPRESSED,
        Unit::Count,
        "Alerts held back by min_interval, by event."
    );
    describe_counter!(
        ALERTS_LOST,
        Unit::Count,
        "Events this instance could not record as alerts."
    );
    describe_gauge!(
        ALERTS_PENDING,
        Unit::Count,
        "Alerts in the outbox neither delivered nor given up."
    );
    describe_gauge!(BUILD_INFO, "Always 1; the version label is the server's version.");
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// The `method` label: the standard methods by name, anything else `other`.
///
/// hyper accepts any token as a method; a raw label would let every client
/// invent new series that the exporter keeps forever.
pub fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The `route` label: the matched route pattern, or `other`.
pub fn route_label(req: &Request) -> String {
    req.extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned())
}

/// Middleware: records [`HTTP_REQUEST_DURATION`].
pub async fn track_http(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = route_label(&req);
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    tracing::debug!(method, %route, status, elapsed_ms = elapsed.as_secs_f64() * 1000.0, "request");
    metrics::histogram!(HTTP_REQUEST_DURATION, "method" => method, "route" => route, "status" => status.to_string())
        .record(elapsed.as_secs_f64());
    response
}

/// Installs the log subscriber: level from `RUST_LOG` (default `info`),
/// human-readable or JSON lines on stderr. Does nothing when a subscriber is
/// already installed.
pub fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // An error only means a subscriber exists already (tests, embedding programs).
    let _ = result;
}
