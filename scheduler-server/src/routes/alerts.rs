//! `/api/v1/alerts`: the alerts of the last 7 days, read-only.

use super::take_page;
use crate::AppState;
use crate::alerts::KEEP_FOR;
use crate::dto::Timestamp;
use crate::error::ApiResult;
use crate::extract::QueryParams;
use crate::openapi::BadQuery;
use axum::Json;
use axum::extract::State;
use scheduler_core::{Alert, EventKind, EventSubject};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

/// Query of `GET /alerts`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // Documents the query; parsed by `take_page`.
pub(crate) struct AlertListQuery {
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 2147483647, default = 1, required = false)]
    page: u32,
    /// Rows per page, 1..=200.
    #[param(minimum = 1, maximum = 200, default = 20, required = false)]
    page_size: u32,
}

/// The event an alert is about (schema of the core's `EventKind`).
#[derive(ToSchema)]
#[schema(as = AlertEvent)]
#[allow(dead_code)] // Schema only.
#[serde(rename_all = "snake_case")]
#[derive(Serialize)]
pub(crate) enum AlertEventSchema {
    ExecutionFailed,
    ExecutionTimeout,
    ExecutorUnhealthy,
    ExecutorRecovered,
    LeaderChanged,
    Misfire,
}

/// What an alert is about; only the fields that apply are present (schema
/// of the core's `EventSubject`).
#[derive(ToSchema)]
#[schema(as = AlertSubject)]
#[allow(dead_code)] // Schema only.
pub(crate) struct AlertSubjectSchema {
    /// The task (execution events, misfire).
    task_id: Option<String>,
    /// The task's name.
    task_name: Option<String>,
    /// The execution (execution events).
    execution_id: Option<String>,
    /// The executor (executor events; execution events when one ran it).
    executor_id: Option<String>,
    /// The scheduler instance (`leader_changed`) or the executor's instance.
    instance_id: Option<String>,
}

/// An alert: one event for one webhook, and how its delivery went.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Alert)]
pub struct AlertDto {
    /// Its id; the webhook payload carries the same one.
    pub id: String,
    /// The event.
    #[schema(value_type = AlertEventSchema)]
    pub event: EventKind,
    /// When the event happened.
    pub at: Timestamp,
    /// What it is about.
    #[schema(value_type = AlertSubjectSchema)]
    pub subject: EventSubject,
    /// One line for a human.
    pub message: String,
    /// Alerts of the same key held back by `min_interval` before this one.
    pub suppressed: u64,
    /// Whether the webhook took it (2xx).
    pub delivered: bool,
    /// Delivery attempts so far.
    pub attempts: u32,
}

impl From<Alert> for AlertDto {
    fn from(a: Alert) -> Self {
        Self {
            id: a.id,
            event: a.event,
            at: Timestamp(a.at),
            subject: a.subject,
            message: a.message,
            suppressed: a.suppressed,
            delivered: a.delivered,
            attempts: a.attempts,
        }
    }
}

/// A page of alerts, newest first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AlertList {
    /// This page's rows.
    pub items: Vec<AlertDto>,
    /// Alerts of the last 7 days, all pages.
    pub total: u64,
    /// Page number, from 1.
    pub page: u32,
    /// Rows per page.
    pub page_size: u32,
}

/// Lists the alerts of the last 7 days, newest first, delivered or not.
#[utoipa::path(
    get, path = "/api/v1/alerts", tag = "alerts",
    params(AlertListQuery),
    responses(
        (status = 200, description = "A page of alerts", body = AlertList),
        BadQuery,
    )
)]
pub(crate) async fn list_alerts(State(state): State<AppState>, mut q: QueryParams) -> ApiResult<Json<AlertList>> {
    let page = take_page(&mut q)?;
    q.finish()?;
    let now = state.scheduler.clock().now();
    let since = now - chrono::Duration::from_std(KEEP_FOR).unwrap_or(chrono::Duration::days(7));
    let found = state.scheduler.store().list_alerts(since, page).await?;
    Ok(Json(AlertList {
        items: found.items.into_iter().map(Into::into).collect(),
        total: found.total,
        page: page.page,
        page_size: page.page_size,
    }))
}
