//! Helpers shared by the server's integration tests: requests through
//! `app()` without a socket, stores that fail, a recording dispatcher, and
//! (in `e2e`) real servers with fake HTTP executors.

#![allow(dead_code)]

pub mod e2e;
pub mod node;
pub mod webhook;

use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::{DateTime, Utc};
use scheduler_core::*;
use scheduler_server::{AppState, app};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tower::ServiceExt;

/// A scheduler that never leads (nothing is dispatched): API tests only.
pub fn follower() -> Scheduler {
    let lock = LocalLock::new();
    let leadership: Arc<dyn Leadership> = lock.contender(Duration::from_secs(3600));
    Scheduler::builder().leadership(leadership).build()
}

/// The router over a follower scheduler on a fresh memory store.
pub fn open_api() -> (Router, Scheduler) {
    let s = follower();
    (app(AppState::new(s.clone())), s)
}

/// An answer: status, headers, JSON body (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Answer {
    /// Asserts the status and the API's error body with `code`; returns the message.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        assert_eq!(
            self.body["error"]["code"], code,
            "unexpected error code; body: {}",
            self.text
        );
        let message = self.body["error"]["message"]
            .as_str()
            .expect("error.message is a string");
        assert!(!message.is_empty());
        let keys: Vec<&String> = self.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["error"], "error body has only `error`");
        message.to_owned()
    }

    /// Asserts a 400 `validation_failed` whose message starts with `field: `.
    #[track_caller]
    pub fn invalid(&self, field: &str) -> String {
        let m = self.error(400, "validation_failed");
        assert!(
            m.starts_with(&format!("{field}: ")),
            "message {m:?} should name field {field:?}"
        );
        m
    }

    /// Asserts the status; returns the body.
    #[track_caller]
    pub fn ok(&self, status: u16) -> &Value {
        assert_eq!(self.status.as_u16(), status, "unexpected status; body: {}", self.text);
        &self.body
    }
}

/// Sends a request through the router.
pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let resp = app.clone().oneshot(req).await.expect("the router never fails");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// A request without a body.
pub fn req(method: Method, uri: &str) -> Request<Body> {
    Request::builder().method(method).uri(uri).body(Body::empty()).unwrap()
}

/// A request with a JSON body.
pub fn json(method: Method, uri: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// A request with raw bytes and an optional content type.
pub fn raw(method: Method, uri: &str, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(body.into()).unwrap()
}

pub async fn get(app: &Router, uri: &str) -> Answer {
    send(app, req(Method::GET, uri)).await
}

pub async fn post(app: &Router, uri: &str, body: &Value) -> Answer {
    send(app, json(Method::POST, uri, body)).await
}

pub async fn put(app: &Router, uri: &str, body: &Value) -> Answer {
    send(app, json(Method::PUT, uri, body)).await
}

pub async fn post_empty(app: &Router, uri: &str) -> Answer {
    send(app, req(Method::POST, uri)).await
}

pub async fn delete(app: &Router, uri: &str) -> Answer {
    send(app, req(Method::DELETE, uri)).await
}

/// Whether `s` reads exactly `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn is_api_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
    b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z'
}

/// Asserts every listed field of `v` is null or an API timestamp (and at least one is present).
#[track_caller]
pub fn assert_timestamps(v: &Value, fields: &[&str]) {
    for f in fields {
        match &v[*f] {
            Value::Null => {}
            Value::String(s) => assert!(is_api_timestamp(s), "{f} = {s:?} is not YYYY-MM-DDTHH:MM:SS.mmmZ"),
            other => panic!("{f} = {other} is not a timestamp"),
        }
    }
}

/// A minimal valid task body.
pub fn task_body(name: &str) -> Value {
    serde_json::json!({ "name": name, "cron_expression": "0 0 * * * *" })
}

/// Creates a task through the API and returns its JSON.
pub async fn create_task(app: &Router, body: &Value) -> Value {
    post(app, "/api/v1/tasks", body).await.ok(201).clone()
}

/// Registers an executor through the API and returns its JSON.
pub async fn register_executor(app: &Router, instance_id: &str) -> Value {
    let body = serde_json::json!({
        "name": "worker",
        "instance_id": instance_id,
        "base_url": format!("http://127.0.0.1:9/{instance_id}"),
    });
    post(app, "/api/v1/executors/register", &body).await.ok(201).clone()
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// Polls `f` every 20 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {limit:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A dispatcher that accepts every attempt and remembers it.
#[derive(Default)]
pub struct AcceptAll {
    pub requests: Mutex<Vec<DispatchRequest>>,
    pub stops: Mutex<Vec<ExecutionId>>,
}

#[async_trait]
impl Dispatcher for AcceptAll {
    async fn dispatch(&self, _executor: &Executor, request: DispatchRequest) -> DispatchOutcome {
        self.requests.lock().unwrap().push(request);
        DispatchOutcome::Accepted
    }

    async fn stop(&self, _executor: &Executor, execution_id: &ExecutionId) {
        self.stops.lock().unwrap().push(execution_id.clone());
    }
}

/// A leading scheduler whose dispatches are accepted by [`AcceptAll`].
pub fn leader_with(dispatcher: Arc<AcceptAll>) -> Scheduler {
    Scheduler::builder().dispatcher(dispatcher).build()
}

/// Waits until the execution is `running` (accepted) and returns its callback token.
pub async fn running_token(s: &Scheduler, id: &str) -> String {
    eventually(Duration::from_secs(10), "the execution to run", || async {
        let e = s.store().get_execution(&ExecutionId::new(id)).await.ok()?;
        (e.status == ExecutionStatus::Running).then_some(e.callback_token?)
    })
    .await
}

/// A store whose every call fails as if the database were down.
pub struct DownStore;

fn down<T>() -> StoreResult<T> {
    Err(StoreError::Unavailable("connection refused (test)".to_owned()))
}

#[async_trait]
impl Store for DownStore {
    async fn ping(&self) -> StoreResult<()> {
        down()
    }
    async fn create_task(&self, _: &Task, _: &[TaskExecutor]) -> StoreResult<Task> {
        down()
    }
    async fn get_task(&self, _: &TaskId) -> StoreResult<Task> {
        down()
    }
    async fn list_tasks(&self, _: &TaskFilter, _: Page) -> StoreResult<Paged<Task>> {
        down()
    }
    async fn update_task(&self, _: &Task, _: Option<&[TaskExecutor]>) -> StoreResult<Task> {
        down()
    }
    async fn delete_task(&self, _: &TaskId, _: DateTime<Utc>) -> StoreResult<Task> {
        down()
    }
    async fn active_tasks(&self) -> StoreResult<Vec<Task>> {
        down()
    }
    async fn tasks_changed_since(&self, _: DateTime<Utc>) -> StoreResult<Vec<Task>> {
        down()
    }
    async fn set_next_run_time(&self, _: &TaskId, _: Option<DateTime<Utc>>) -> StoreResult<()> {
        down()
    }
    async fn task_executors(&self, _: &TaskId) -> StoreResult<Vec<TaskExecutor>> {
        down()
    }
    async fn replace_task_executors(&self, _: &TaskId, _: &[TaskExecutor]) -> StoreResult<Vec<TaskExecutor>> {
        down()
    }
    async fn register_executor(&self, _: &Executor) -> StoreResult<(Executor, Registered)> {
        down()
    }
    async fn get_executor(&self, _: &ExecutorId) -> StoreResult<Executor> {
        down()
    }
    async fn list_executors(&self, _: &ExecutorFilter, _: Page) -> StoreResult<Paged<Executor>> {
        down()
    }
    async fn all_executors(&self) -> StoreResult<Vec<Executor>> {
        down()
    }
    async fn update_executor(&self, _: &Executor) -> StoreResult<Executor> {
        down()
    }
    async fn set_executor_status(&self, _: &ExecutorId, _: ExecutorStatus, _: DateTime<Utc>) -> StoreResult<Executor> {
        down()
    }
    async fn record_health(
        &self,
        _: &ExecutorId,
        _: bool,
        _: DateTime<Utc>,
        _: HealthThresholds,
    ) -> StoreResult<Executor> {
        down()
    }
    async fn delete_executor(&self, _: &ExecutorId) -> StoreResult<()> {
        down()
    }
    async fn dispatch_candidates(&self, _: &TaskId) -> StoreResult<Vec<Candidate>> {
        down()
    }
    async fn running_counts(&self, _: &[ExecutorId]) -> StoreResult<HashMap<ExecutorId, u64>> {
        down()
    }
    async fn claim_fire(&self, _: &Execution, _: Option<DateTime<Utc>>) -> StoreResult<Execution> {
        down()
    }
    async fn insert_execution(&self, _: &Execution) -> StoreResult<Execution> {
        down()
    }
    async fn get_execution(&self, _: &ExecutionId) -> StoreResult<Execution> {
        down()
    }
    async fn list_executions(&self, _: &ExecutionFilter, _: &ListFrom, _: u32) -> StoreResult<ExecutionPage> {
        down()
    }
    async fn update_execution(
        &self,
        _: &ExecutionId,
        _: &ExecutionGuard,
        _: &ExecutionChange,
    ) -> StoreResult<Execution> {
        down()
    }
    async fn task_activity(&self, _: &TaskId) -> StoreResult<TaskActivity> {
        down()
    }
    async fn due_executions(&self, _: DateTime<Utc>, _: u32) -> StoreResult<Vec<Execution>> {
        down()
    }
    async fn unanswered_executions(&self, _: u32) -> StoreResult<Vec<Execution>> {
        down()
    }
    async fn overdue_executions(&self, _: DateTime<Utc>, _: u32) -> StoreResult<Vec<Execution>> {
        down()
    }
    async fn lb_state(&self, _: &TaskId, _: &str) -> StoreResult<Option<LbState>> {
        down()
    }
    async fn put_lb_state(&self, _: &TaskId, _: &str, _: Option<u64>, _: &Value) -> StoreResult<()> {
        down()
    }
    async fn hourly_counts(&self, _: &TaskId, _: DateTime<Utc>, _: DateTime<Utc>) -> StoreResult<Vec<HourlyCounts>> {
        down()
    }
    async fn purge_executions(&self, _: DateTime<Utc>, _: u32) -> StoreResult<u64> {
        down()
    }
    async fn purge_excess_executions(&self, _: u64, _: u32) -> StoreResult<u64> {
        down()
    }
    async fn purge_hourly_counts(&self, _: DateTime<Utc>) -> StoreResult<u64> {
        down()
    }
    async fn system_counts(&self) -> StoreResult<SystemCounts> {
        down()
    }
    async fn upsert_instance(&self, _: &SchedulerInstance) -> StoreResult<()> {
        down()
    }
    async fn list_instances(&self) -> StoreResult<Vec<SchedulerInstance>> {
        down()
    }
    async fn remove_instance(&self, _: &str) -> StoreResult<()> {
        down()
    }
    async fn enqueue_alert(&self, _: &NewAlert, _: Option<chrono::Duration>) -> StoreResult<AlertEnqueued> {
        down()
    }
    async fn due_alerts(&self, _: DateTime<Utc>, _: u32) -> StoreResult<Vec<Alert>> {
        down()
    }
    async fn record_alert_attempt(&self, _: &str, _: &AlertAttempt) -> StoreResult<Alert> {
        down()
    }
    async fn list_alerts(&self, _: DateTime<Utc>, _: Page) -> StoreResult<Paged<Alert>> {
        down()
    }
    async fn alert_backlog(&self) -> StoreResult<u64> {
        down()
    }
    async fn purge_alerts(&self, _: DateTime<Utc>) -> StoreResult<u64> {
        down()
    }
}
