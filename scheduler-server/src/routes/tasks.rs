//! `/api/v1/tasks`.

use super::{take_enum, take_page};
use crate::AppState;
use crate::dto::*;
use crate::error::{ApiResult, ErrorResponse};
use crate::extract::{ApiJson, IdPath, OptionalJson, QueryParams};
use crate::openapi::{BadQuery, UnknownId};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use scheduler_core::{NewTask, Page, TaskFilter, TaskId, TaskPatch, TaskStats, TaskStatus};
use utoipa::IntoParams;

/// Query of `GET /tasks`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct TaskListQuery {
    /// Only this status; without it, deleted tasks are left out.
    status: Option<TaskStatus>,
    /// Name contains this substring.
    name: Option<String>,
    /// Page number, from 1.
    #[param(minimum = 1, maximum = 2147483647, default = 1, required = false)]
    page: u32,
    /// Rows per page, 1..=200.
    #[param(minimum = 1, maximum = 200, default = 20, required = false)]
    page_size: u32,
}

impl TaskListQuery {
    fn from_query(mut q: QueryParams) -> ApiResult<Self> {
        let status = take_enum(&mut q, "status", TaskStatus::parse, &["active", "paused", "deleted"])?;
        let name = q.take("name");
        let page = take_page(&mut q)?;
        q.finish()?;
        Ok(Self {
            status,
            name,
            page: page.page,
            page_size: page.page_size,
        })
    }
}

/// Creates a task (with optional executor assignments).
#[utoipa::path(
    post, path = "/api/v1/tasks", tag = "tasks",
    request_body = NewTask,
    responses(
        (status = 201, description = "The task", body = TaskDto),
        (status = 400, description = "Malformed JSON, a wrong type, an unknown field or enum value, an invalid cron or timezone, an out-of-range number", body = ErrorResponse),
        (status = 409, description = "A task that is not deleted has this name", body = ErrorResponse),
    )
)]
pub(crate) async fn create_task(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<NewTask>,
) -> ApiResult<(StatusCode, Json<TaskDto>)> {
    let task = state.scheduler.create_task(req).await?;
    Ok((StatusCode::CREATED, Json(task.into())))
}

/// Lists tasks, newest first.
#[utoipa::path(
    get, path = "/api/v1/tasks", tag = "tasks",
    params(TaskListQuery),
    responses(
        (status = 200, description = "A page of tasks", body = TaskList),
        BadQuery,
    )
)]
pub(crate) async fn list_tasks(State(state): State<AppState>, q: QueryParams) -> ApiResult<Json<TaskList>> {
    let query = TaskListQuery::from_query(q)?;
    let page = Page::new(query.page, query.page_size);
    let filter = TaskFilter {
        status: query.status,
        name: query.name,
    };
    let found = state.scheduler.list_tasks(&filter, page).await?;
    Ok(Json(TaskList {
        items: found.items.into_iter().map(Into::into).collect(),
        total: found.total,
        page: page.page,
        page_size: page.page_size,
    }))
}

/// A task, deleted ones included.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskDto),
        UnknownId,
    )
)]
pub(crate) async fn get_task(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<Json<TaskDto>> {
    let task = state.scheduler.get_task(&TaskId::new(id)).await?;
    Ok(Json(task.into()))
}

/// Changes the fields given; a schedule change takes effect at once.
#[utoipa::path(
    put, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    request_body = TaskPatch,
    responses(
        (status = 200, description = "The task", body = TaskDto),
        (status = 400, description = "Invalid field, or a read-only one (id, status, timestamps)", body = ErrorResponse),
        UnknownId,
        (status = 409, description = "The task is deleted, or the name is taken", body = ErrorResponse),
    )
)]
pub(crate) async fn update_task(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<TaskPatch>,
) -> ApiResult<Json<TaskDto>> {
    let task = state.scheduler.update_task(&TaskId::new(id), req).await?;
    Ok(Json(task.into()))
}

/// Soft-deletes a task; its history stays.
#[utoipa::path(
    delete, path = "/api/v1/tasks/{id}", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 204, description = "Deleted"),
        UnknownId,
        (status = 409, description = "Already deleted", body = ErrorResponse),
    )
)]
pub(crate) async fn delete_task(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<StatusCode> {
    state.scheduler.delete_task(&TaskId::new(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pauses a task.
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/pause", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskDto),
        UnknownId,
        (status = 409, description = "The task is deleted", body = ErrorResponse),
    )
)]
pub(crate) async fn pause_task(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<Json<TaskDto>> {
    let task = state.scheduler.pause_task(&TaskId::new(id)).await?;
    Ok(Json(task.into()))
}

/// Resumes a task from its next instant.
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/resume", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "The task", body = TaskDto),
        UnknownId,
        (status = 409, description = "The task is deleted", body = ErrorResponse),
    )
)]
pub(crate) async fn resume_task(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<Json<TaskDto>> {
    let task = state.scheduler.resume_task(&TaskId::new(id)).await?;
    Ok(Json(task.into()))
}

/// Runs a task now (also while paused); `parameters` are shallow-merged over the task's.
#[utoipa::path(
    post, path = "/api/v1/tasks/{id}/trigger", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    request_body(content = Option<TriggerRequest>, description = "Optional"),
    responses(
        (status = 201, description = "The manual execution", body = ExecutionDto),
        (status = 400, description = "Invalid body", body = ErrorResponse),
        UnknownId,
        (status = 409, description = "The task is deleted", body = ErrorResponse),
    )
)]
pub(crate) async fn trigger_task(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    OptionalJson(req): OptionalJson<TriggerRequest>,
) -> ApiResult<(StatusCode, Json<ExecutionDto>)> {
    let parameters = req.and_then(|r| r.parameters);
    scheduler_core::internal::validate_parameters("parameters", parameters.as_ref())?;
    let exec = state.scheduler.trigger(&TaskId::new(id), parameters).await?;
    Ok((StatusCode::CREATED, Json(exec.into())))
}

/// The task's executor assignments.
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}/executors", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "Assignments", body = TaskExecutorList),
        UnknownId,
    )
)]
pub(crate) async fn get_task_executors(
    State(state): State<AppState>,
    IdPath(id): IdPath,
) -> ApiResult<Json<TaskExecutorList>> {
    let list = state.scheduler.task_executors(&TaskId::new(id)).await?;
    Ok(Json(list.into()))
}

/// Replaces the task's executor assignments.
#[utoipa::path(
    put, path = "/api/v1/tasks/{id}/executors", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    request_body = SetTaskExecutorsRequest,
    responses(
        (status = 200, description = "Assignments", body = TaskExecutorList),
        (status = 400, description = "Invalid assignment or unknown executor", body = ErrorResponse),
        UnknownId,
        (status = 409, description = "The task is deleted", body = ErrorResponse),
    )
)]
pub(crate) async fn set_task_executors(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    ApiJson(req): ApiJson<SetTaskExecutorsRequest>,
) -> ApiResult<Json<TaskExecutorList>> {
    let list = state
        .scheduler
        .set_task_executors(&TaskId::new(id), req.executors)
        .await?;
    Ok(Json(list.into()))
}

/// Statistics of a task (24h, 7d, 90d, health score, 30-day trend).
#[utoipa::path(
    get, path = "/api/v1/tasks/{id}/stats", tag = "tasks",
    params(("id" = String, Path, description = "Task id")),
    responses(
        (status = 200, description = "Statistics", body = TaskStats),
        UnknownId,
    )
)]
pub(crate) async fn task_stats(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<Json<TaskStats>> {
    Ok(Json(state.scheduler.task_stats(&TaskId::new(id)).await?))
}
