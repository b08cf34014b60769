//! `/api/v1/executions`.

use super::{take_enum, take_page};
use crate::AppState;
use crate::dto::*;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::extract::{ApiJson, IdPath, QueryParams};
use crate::openapi::{BadQuery, UnknownId};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use scheduler_core::{
    ExecutionCursor, ExecutionFilter, ExecutionId, ExecutionReport, ExecutionStatus, ExecutorId, ListFrom, MAX_ID_LEN,
    TaskId,
};
use utoipa::IntoParams;

/// The header that authenticates a callback.
pub const CALLBACK_TOKEN_HEADER: &str = "x-callback-token";

/// How far in the future a callback's `end_time` may lie (clock skew between
/// the executor and the scheduler).
pub const END_TIME_SKEW: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Query of `GET /executions`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExecutionListQuery {
    /// Only this task.
    task_id: Option<String>,
    /// Only this executor.
    executor_id: Option<String>,
    /// Only this status.
    status: Option<ExecutionStatus>,
    /// `scheduled_time >= from` (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<Timestamp>,
    /// `scheduled_time <= to` (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<Timestamp>,
    /// Page number, from 1 (not with `cursor`).
    #[param(minimum = 1, maximum = 2147483647, default = 1, required = false)]
    page: u32,
    /// The previous page's `next_cursor`: the page after it, at the cost of
    /// a first page whatever the depth (not with `page`).
    #[param(value_type = Option<String>, required = false)]
    cursor: Option<ExecutionCursor>,
    /// Rows per page, 1..=200.
    #[param(minimum = 1, maximum = 200, default = 20, required = false)]
    page_size: u32,
}

impl ExecutionListQuery {
    fn from_query(mut q: QueryParams) -> ApiResult<Self> {
        let task_id = q.take("task_id");
        let executor_id = q.take("executor_id");
        let status = take_enum(
            &mut q,
            "status",
            ExecutionStatus::parse,
            &ExecutionStatus::ALL.map(ExecutionStatus::as_str),
        )?;
        let rfc3339 = "must be an RFC 3339 timestamp such as 2026-11-24T10:00:00Z";
        let from = q.parse("from", parse_timestamp, rfc3339)?;
        let to = q.parse("to", parse_timestamp, rfc3339)?;
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(ApiError::field("from", "must not be after to"));
        }
        let cursor = q.parse("cursor", decode_cursor, "must be a next_cursor from an earlier page")?;
        if cursor.is_some() && q.has("page") {
            return Err(ApiError::field("page", "must be absent when cursor is given"));
        }
        let page = take_page(&mut q)?;
        q.finish()?;
        Ok(Self {
            task_id,
            executor_id,
            status,
            from: from.map(Timestamp),
            to: to.map(Timestamp),
            page: page.page,
            page_size: page.page_size,
            cursor,
        })
    }
}

/// Lists executions, newest `scheduled_time` first.
#[utoipa::path(
    get, path = "/api/v1/executions", tag = "executions",
    params(ExecutionListQuery),
    responses(
        (status = 200, description = "A page of executions", body = ExecutionList),
        BadQuery,
    )
)]
pub(crate) async fn list_executions(State(state): State<AppState>, q: QueryParams) -> ApiResult<Json<ExecutionList>> {
    let query = ExecutionListQuery::from_query(q)?;
    let filter = ExecutionFilter {
        task_id: query.task_id.map(TaskId::new),
        executor_id: query.executor_id.map(ExecutorId::new),
        status: query.status,
        from: query.from.map(|t| t.0),
        to: query.to.map(|t| t.0),
    };
    let (from, page) = match query.cursor {
        Some(c) => (ListFrom::After(c), None),
        None => (ListFrom::Page(query.page), Some(query.page)),
    };
    let found = state
        .scheduler
        .store()
        .list_executions(&filter, &from, query.page_size)
        .await?;
    Ok(Json(ExecutionList {
        items: found.items.into_iter().map(Into::into).collect(),
        total: found.total,
        total_is_lower_bound: found.total_is_lower_bound,
        page,
        page_size: query.page_size,
        next_cursor: found.next.as_ref().map(encode_cursor),
    }))
}

/// A cursor as the API shows it: opaque to clients, hex of
/// `<scheduled_time in ms>:<id>` (URL-safe, no padding).
fn encode_cursor(c: &ExecutionCursor) -> String {
    let plain = format!("{}:{}", c.scheduled_time.timestamp_millis(), c.id.as_str());
    plain.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The cursor [`encode_cursor`] made, or `None` for anything else.
fn decode_cursor(s: &str) -> Option<ExecutionCursor> {
    if !s.len().is_multiple_of(2) || s.len() > 2 * (20 + 1 + MAX_ID_LEN) {
        return None;
    }
    let bytes = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    let plain = String::from_utf8(bytes).ok()?;
    let (ms, id) = plain.split_once(':')?;
    let ms: i64 = ms.parse().ok()?;
    let scheduled_time = DateTime::<Utc>::from_timestamp_millis(ms)?;
    let valid_id = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid_id.then(|| ExecutionCursor {
        scheduled_time,
        id: ExecutionId::new(id),
    })
}

#[cfg(test)]
mod cursor_tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_anything_else_is_refused() {
        let c = ExecutionCursor {
            scheduled_time: "2026-11-24T10:00:00.123Z".parse().unwrap(),
            id: ExecutionId::new("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
        };
        assert_eq!(decode_cursor(&encode_cursor(&c)), Some(c));
        for bad in ["", "zz", "abc", "3a", "313a", "6e6f", &"41".repeat(400)] {
            assert_eq!(decode_cursor(bad), None, "{bad}");
        }
    }
}

/// An execution.
#[utoipa::path(
    get, path = "/api/v1/executions/{id}", tag = "executions",
    params(("id" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "The execution", body = ExecutionDto),
        UnknownId,
    )
)]
pub(crate) async fn get_execution(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<Json<ExecutionDto>> {
    let exec = state.scheduler.store().get_execution(&ExecutionId::new(id)).await?;
    Ok(Json(exec.into()))
}

/// Cancels a pending or running execution and asks its executor to stop.
#[utoipa::path(
    post, path = "/api/v1/executions/{id}/stop", tag = "executions",
    params(("id" = String, Path, description = "Execution id")),
    responses(
        (status = 200, description = "The execution, cancelled", body = ExecutionDto),
        UnknownId,
        (status = 409, description = "Already final", body = ErrorResponse),
    )
)]
pub(crate) async fn stop_execution(State(state): State<AppState>, IdPath(id): IdPath) -> ApiResult<Json<ExecutionDto>> {
    let exec = state.scheduler.stop_execution(&ExecutionId::new(id)).await?;
    Ok(Json(exec.into()))
}

/// The `X-Callback-Token` header. Missing or malformed (not the shape of a
/// token the engine issues) is a 401 before the body is read or the store
/// is asked anything.
#[derive(Debug)]
pub(crate) struct CallbackToken(String);

impl<S: Send + Sync> FromRequestParts<S> for CallbackToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Some(value) = parts.headers.get(CALLBACK_TOKEN_HEADER) else {
            return Err(ApiError::Unauthorized("missing X-Callback-Token header".to_owned()));
        };
        let token = value.as_bytes();
        if !scheduler_core::internal::is_callback_token(token) {
            return Err(ApiError::Unauthorized("malformed X-Callback-Token header".to_owned()));
        }
        // Checked above: ASCII hex digits only.
        Ok(Self(String::from_utf8_lossy(token).into_owned()))
    }
}

/// Compares secrets in time independent of where they differ.
fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `end_time` must lie between the attempt's start and now (plus
/// [`END_TIME_SKEW`]): a far-future value would skew durations and may not
/// even be storable.
async fn check_end_time(state: &AppState, id: &ExecutionId, token: &str, req: &CallbackRequest) -> ApiResult<()> {
    let Some(end) = req.end_time.map(|t| t.0) else {
        return Ok(());
    };
    let now = chrono::Utc::now();
    if end > now + END_TIME_SKEW {
        return Err(ApiError::field(
            "end_time",
            format!(
                "must not be in the future (more than {} s after the server's clock, {})",
                END_TIME_SKEW.num_seconds(),
                Timestamp(now)
            ),
        ));
    }
    if req.status == CallbackStatus::Running {
        return Ok(());
    }
    let exec = state.scheduler.store().get_execution(id).await?;
    // Never tell a caller without the right token anything about the execution.
    if !exec.callback_token.as_deref().is_some_and(|t| same_secret(t, token)) {
        return Err(ApiError::Unauthorized(format!(
            "wrong or missing callback token for execution {id}"
        )));
    }
    if let Some(start) = exec.start_time.or(exec.dispatched_at)
        && end < start
    {
        return Err(ApiError::field(
            "end_time",
            format!("must not be before the attempt's start_time ({})", Timestamp(start)),
        ));
    }
    Ok(())
}

/// An executor reports progress (`running`) or the end (`success`, `failed`).
/// Authenticated by `X-Callback-Token` only (no JWT).
#[utoipa::path(
    post, path = "/api/v1/executions/{id}/callback", tag = "executions",
    params(
        ("id" = String, Path, description = "Execution id"),
        ("X-Callback-Token" = String, Header, description = "The callback_token sent with the dispatch (32 lower-case hex digits)", pattern = "^[0-9a-f]{32}$"),
    ),
    request_body = CallbackRequest,
    security(()),
    responses(
        (status = 200, description = "The execution", body = ExecutionDto),
        (status = 400, description = "Invalid body (status must be running, success or failed)", body = ErrorResponse),
        (status = 401, description = "Missing or wrong callback token", body = ErrorResponse),
        UnknownId,
        (status = 409, description = "The execution is already final", body = ErrorResponse),
        (status = 503, description = "Store unreachable; retry", body = ErrorResponse),
    )
)]
pub(crate) async fn callback(
    State(state): State<AppState>,
    IdPath(id): IdPath,
    CallbackToken(token): CallbackToken,
    ApiJson(req): ApiJson<CallbackRequest>,
) -> ApiResult<Json<ExecutionDto>> {
    let id = ExecutionId::new(id);
    if let Some(result) = &req.result {
        scheduler_core::internal::validate_json_depth("result", result)?;
    }
    check_end_time(&state, &id, &token, &req).await?;
    let report = ExecutionReport {
        status: req.status.into(),
        result: req.result,
        logs: req.logs,
        end_time: req.end_time.map(|t| t.0),
    };
    let exec = state.scheduler.report(&id, &token, report).await?;
    Ok(Json(exec.into()))
}
