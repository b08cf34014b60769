//! `/api/v1/executors`.

use super::{take_enum, take_page};
use crate::AppState;
use crate::auth::Caller;
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::extract::{ApiJson, IdPath, QueryParams};
use crate::openapi::{BadQuery, UnknownId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use scheduler_core::{
    ExecutorFilter, ExecutorId, ExecutorPatch, ExecutorRegistration, ExecutorStatus, Page, Registered,
};
use utoipa::IntoParams;

/// Query of `GET /executors`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExecutorListQuery {
    /// Only this status.
    status: Option<ExecutorStatus>,
    /// Name contains this substring.
    name: Option<String>,
    /// `true`: only healthy executors; `false`: only unhealthy ones.
    healthy: Option<bool>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 2147483647, default = 1, required = false)]
    page: u32,
    /// Rows per page, 1..=200.
    #[param(minimum = 1, maximum = 200, default = 20, required = false)]
    page_size: u32,
}

impl ExecutorListQuery {
    fn from_query(mut q: QueryParams) -> ApiResult<Self> {
        let status = take_enum(
            &mut q,
            "status",
            ExecutorStatus::parse,
            &["online", "offline", "maintenance"],
        )?;
        let name = q.take("name");
        let healthy = q.parse(
            "healthy",
            |v| match v {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            "must be true or false",
        )?;
        let page = take_page(&mut q)?;
        q.finish()?;
        Ok(Self {
            status,
            name,
            healthy,
            page: page.page,
            page_size: page.page_size,
        })
    }
}

/// An executor-scoped caller may only change the executor whose
/// `instance_id` is its token's subject; an unknown id is refused the same
/// way, so such a token cannot probe for ids.
async fn check_owner(state: &AppState, caller: &Caller, id: &str) -> ApiResult<()> {
    let Some(own) = caller.executor_instance() else {
        return Ok(());
    };
    match state.scheduler.store().get_executor(&ExecutorId::new(id)).await {
        Ok(e) => caller.check_instance(&e.instance_id),
        Err(scheduler_core::StoreError::NotFound { .. }) => Err(ApiError::Forbidden(format!(
            "an executor token for {own:?} can only change its own executor"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Registers an executor, or updates the one with the same `instance_id`.
#[utoipa::path(
    post, path = "/api/v1/executors/register", tag = "executors",
    request_body = ExecutorRegistration,
    responses(
        (status = 201, description = "A new executor", body = ExecutorDto),
        (status = 200, description = "The executor with this instance_id, updated", body = ExecutorDto),
        (status = 400, description = "Invalid field", body = ErrorResponse),
        (status = 409, description = "instance_id held by another executor", body = ErrorResponse),
    )
)]
pub(crate) async fn register_executor(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<ExecutorRegistration>,
) -> ApiResult<(StatusCode, Json<ExecutorDto>)> {
    caller.check_instance(&req.instance_id)?;
    let (executor, how) = state.scheduler.register_executor(req).await?;
    let status = match how {
        Registered::Created => StatusCode::CREATED,
        Registered::Updated => StatusCode::OK,
    };
    Ok((status, Json(executor.into())))
}

/// Lists executors, newest first.
#[utoipa::path(
    get, path = "/api/v1/executors", tag = "executors",
    params(ExecutorListQuery),
    responses(
        (status = 200, description = "A page of executors", body = ExecutorList),
        BadQuery,
    )
)]
pub(crate) async fn list_executors(State(state): State<AppState>, q: QueryParams) -> ApiResult<Json<ExecutorList>> {
    let query = ExecutorListQuery::from_query(q)?;
    let page = Page::new(query.page, query.page_size);
    let filter = ExecutorFilter {
        status: query.status,
        name: query.name,
        healthy: query.healthy,
    };
    let found = state.scheduler.store().list_executors(&filter, page).await?;
    Ok(Json(ExecutorList {
        items: found.items.into_iter().map(Into::into).collect(),
        total: found.total,
        page: page.page,
        page_size: page.page_size,
    }))
}

/// An executor.
#[utoipa::path(
    get, path = "/api/v1/executors/{id}", tag = "executors",
    params(("id" = String, Path, description = "Executor id")),
    responses(
        (status = 200, description = "The executor", body = ExecutorDto),
        UnknownId,
    )
)]
pub(crate) async fn get_executor(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<Json<ExecutorDto>> {
    let executor = state.scheduler.store().get_executor(&ExecutorId::new(id)).await?;
    Ok(Json(executor.into()))
}

/// Changes name, base_url, health_check_url or metadata.
#[utoipa::path(
    put, path = "/api/v1/executors/{id}", tag = "executors",
    params(("id" = String, Path, description = "Executor id")),
    request_body = ExecutorPatch,
    responses(
        (status = 200, description = "The executor", body = ExecutorDto),
        (status = 400, description = "Invalid field", body = ErrorResponse),
        UnknownId,
    )
)]
pub(crate) async fn update_executor(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<ExecutorPatch>,
) -> ApiResult<Json<ExecutorDto>> {
    check_owner(&state, &caller, &id).await?;
    let executor = state.scheduler.update_executor(&ExecutorId::new(id), req).await?;
    Ok(Json(executor.into()))
}

/// Sets the administrative status.
#[utoipa::path(
    put, path = "/api/v1/executors/{id}/status", tag = "executors",
    params(("id" = String, Path, description = "Executor id")),
    request_body = ExecutorStatusRequest,
    responses(
        (status = 200, description = "The executor", body = ExecutorDto),
        (status = 400, description = "Invalid status", body = ErrorResponse),
        UnknownId,
    )
)]
pub(crate) async fn set_executor_status(
    State(state): State<AppState>,
    caller: Caller,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<ExecutorStatusRequest>,
) -> ApiResult<Json<ExecutorDto>> {
    check_owner(&state, &caller, &id).await?;
    let executor = state
        .scheduler
        .set_executor_status(&ExecutorId::new(id), req.status, req.reason)
        .await?;
    Ok(Json(executor.into()))
}

/// Deletes an executor; its executions keep their history with `executor_id` null.
#[utoipa::path(
    delete, path = "/api/v1/executors/{id}", tag = "executors",
    params(("id" = String, Path, description = "Executor id")),
    responses(
        (status = 204, description = "Deleted"),
        UnknownId,
    )
)]
pub(crate) async fn delete_executor(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    state.scheduler.delete_executor(&ExecutorId::new(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
