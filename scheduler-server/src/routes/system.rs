//! `/api/v1/system/status`, `/api/v1/schedule/preview`, `/api/v1/openapi.json`,
//! and the probes outside `/api/v1`: `/healthz`, `/readyz`, `/metrics`.

use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::extract::QueryParams;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use scheduler_core::Schedule;
use utoipa::IntoParams;

/// Largest `count` of a schedule preview.
pub const MAX_PREVIEW: u32 = 50;

/// Leader, instances, and executor/task/execution counts.
#[utoipa::path(
    get, path = "/api/v1/system/status", tag = "system",
    responses(
        (status = 200, description = "System status", body = SystemStatusDto),
    )
)]
pub(crate) async fn system_status(State(state): State<AppState>) -> ApiResult<Json<SystemStatusDto>> {
    let status = state.scheduler.system_status().await?;
    Ok(Json(status.into()))
}

/// Query of `GET /schedule/preview`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PreviewQuery {
    /// The cron expression to evaluate.
    cron_expression: String,
    /// IANA time zone (default `UTC`).
    timezone: Option<String>,
    /// How many instants, 1..=50.
    #[param(minimum = 1, maximum = 50, default = 5, required = false)]
    count: u32,
}

impl PreviewQuery {
    fn from_query(mut q: QueryParams) -> ApiResult<Self> {
        let cron_expression = q
            .take("cron_expression")
            .ok_or_else(|| ApiError::field("cron_expression", "is required"))?;
        let timezone = q.take("timezone");
        let count = q.int_in("count", 5, 1, MAX_PREVIEW)?;
        q.finish()?;
        Ok(Self {
            cron_expression,
            timezone,
            count,
        })
    }
}

/// The next instants a cron expression fires at, in a time zone.
#[utoipa::path(
    get, path = "/api/v1/schedule/preview", tag = "system",
    params(PreviewQuery),
    responses(
        (status = 200, description = "Upcoming instants", body = SchedulePreview),
        (status = 400, description = "Invalid cron expression, time zone or count", body = ErrorResponse),
    )
)]
pub(crate) async fn schedule_preview(
    State(state): State<AppState>,
    q: QueryParams,
) -> ApiResult<Json<SchedulePreview>> {
    let query = PreviewQuery::from_query(q)?;
    let timezone = query.timezone.as_deref().unwrap_or("UTC");
    let schedule = Schedule::new(&query.cron_expression, timezone)?;
    let now = state.scheduler.clock().now();
    let items = schedule
        .upcoming(now, query.count as usize)
        .into_iter()
        .map(Timestamp)
        .collect();
    Ok(Json(SchedulePreview { items }))
}

/// The OpenAPI 3 document of this API.
#[utoipa::path(
    get, path = "/api/v1/openapi.json", tag = "system",
    responses(
        (status = 200, description = "OpenAPI document", content_type = "application/json"),
    )
)]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::document_json(),
    )
}

/// Liveness: the process serves requests.
#[utoipa::path(
    get, path = "/healthz", tag = "probes", security(()),
    responses((status = 200, description = "Alive", body = ProbeStatus))
)]
pub(crate) async fn healthz() -> Json<ProbeStatus> {
    Json(ProbeStatus {
        status: "ok".to_owned(),
    })
}

/// Readiness: the store answers.
#[utoipa::path(
    get, path = "/readyz", tag = "probes", security(()),
    responses(
        (status = 200, description = "Ready", body = ProbeStatus),
        (status = 503, description = "The store does not answer", body = ErrorResponse),
    )
)]
pub(crate) async fn readyz(State(state): State<AppState>) -> ApiResult<Json<ProbeStatus>> {
    match tokio::time::timeout(std::time::Duration::from_secs(5), state.scheduler.store().ping()).await {
        Ok(Ok(())) => Ok(Json(ProbeStatus {
            status: "ok".to_owned(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            Err(ApiError::Unavailable("the store does not answer".to_owned()))
        }
        Err(_) => Err(ApiError::Unavailable("the store did not answer within 5 s".to_owned())),
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get, path = "/metrics", tag = "probes", security(()),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"))
)]
pub(crate) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let body = state.metrics.render();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        body,
    )
}
