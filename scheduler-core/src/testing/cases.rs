//! The conformance cases: one `pub async fn` per behaviour of [`Store`].
//!
//! Each case expects a fresh, empty store and panics when the store breaks the
//! contract written on the trait. Run them all with
//! [`store_conformance_tests!`](crate::store_conformance_tests).

use crate::{
    Candidate, Execution, ExecutionChange, ExecutionFilter, ExecutionGuard, ExecutionId, ExecutionPage,
    ExecutionStatus, Executor, ExecutorFilter, ExecutorId, ExecutorRegistration, ExecutorStatus, HealthThresholds,
    JsonObject, ListFrom, MisfirePolicy, ModeName, NewTask, Page, Paged, Registered, SchedulerInstance, StatusCounts,
    Store, StoreError, StoreResult, StrategyName, SystemCounts, Task, TaskActivity, TaskExecutor, TaskFilter, TaskId,
    TaskStatus, TriggerType,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::fmt::Debug;
use std::sync::Arc;

mod alerts;
mod batch;
mod claims;
mod dispatch;
mod execution_updates;
mod executions;
mod executors;
mod history;
mod lb_state;
mod stats_and_instances;
mod tasks;
pub use alerts::*;
pub use batch::*;
pub use claims::*;
pub use dispatch::*;
pub use execution_updates::*;
pub use executions::*;
pub use executors::*;
pub use history::*;
pub use lb_state::*;
pub use stats_and_instances::*;
pub use tasks::*;

// ---- helpers -----------------------------------------------------------------

/// The fixed instant every case measures from: a whole second, in the recent
/// past, so SQL `DATETIME(3)` stores it exactly.
fn base() -> DateTime<Utc> {
    utc(2026, 3, 2, 12, 0, 0)
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
        .single()
        .expect("a valid UTC date")
}

/// `base() + secs` seconds.
fn at(secs: i64) -> DateTime<Utc> {
    base() + Duration::seconds(secs)
}

/// `base() + ms` milliseconds.
fn at_ms(ms: i64) -> DateTime<Utc> {
    base() + Duration::milliseconds(ms)
}

fn obj(v: Value) -> JsonObject {
    v.as_object().cloned().expect("a JSON object")
}

/// An active task, validated as the API would, firing every 5 minutes.
fn task(name: &str, created_at: DateTime<Utc>) -> Task {
    let (mut t, _) = NewTask::new(name, "0 */5 * * * *")
        .validate(TaskId::generate(), created_at)
        .expect("a valid task");
    t.next_run_time = Some(created_at + Duration::minutes(5));
    t
}

fn paused_task(name: &str, created_at: DateTime<Utc>) -> Task {
    let mut t = task(name, created_at);
    t.status = TaskStatus::Paused;
    t.next_run_time = None;
    t
}

async fn create(store: &dyn Store, t: Task) -> Task {
    let stored = store.create_task(&t, &[]).await.expect("create_task");
    assert_eq!(stored, t, "create_task returns the task as stored");
    stored
}

async fn create_active(store: &dyn Store, name: &str, created_at: DateTime<Utc>) -> Task {
    create(store, task(name, created_at)).await
}

fn executor(name: &str, instance_id: &str, created_at: DateTime<Utc>) -> Executor {
    ExecutorRegistration {
        name: name.to_owned(),
        instance_id: instance_id.to_owned(),
        base_url: format!("http://{instance_id}.test:9000"),
        health_check_url: None,
        metadata: None,
    }
    .validate(ExecutorId::generate(), created_at)
    .expect("a valid executor")
}

async fn register(store: &dyn Store, e: Executor) -> Executor {
    let (stored, how) = store.register_executor(&e).await.expect("register_executor");
    assert_eq!(how, Registered::Created, "a new instance_id creates an executor");
    assert_eq!(stored, e, "register_executor returns the executor as stored");
    stored
}

async fn register_new(store: &dyn Store, name: &str, instance_id: &str, created_at: DateTime<Utc>) -> Executor {
    register(store, executor(name, instance_id, created_at)).await
}

/// Three failed probes with the default thresholds: unhealthy.
async fn make_unhealthy(store: &dyn Store, id: &ExecutorId, from: DateTime<Utc>) -> Executor {
    let mut last = None;
    for i in 0..3 {
        last = Some(
            store
                .record_health(id, false, from + Duration::seconds(i), HealthThresholds::default())
                .await
                .expect("record_health"),
        );
    }
    let e = last.expect("three probes");
    assert!(!e.is_healthy);
    e
}

fn assignment(executor_id: &ExecutorId, weight: u32, priority: i32) -> TaskExecutor {
    TaskExecutor {
        executor_id: executor_id.clone(),
        weight,
        priority,
    }
}

fn sorted_by_executor(mut list: Vec<TaskExecutor>) -> Vec<TaskExecutor> {
    list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
    list
}

/// A pending execution recorded at its scheduled instant.
fn execution(task_id: &TaskId, trigger: TriggerType, scheduled: DateTime<Utc>) -> Execution {
    Execution::new_pending(task_id.clone(), trigger, scheduled, None, scheduled)
}

/// A manual execution in `status`, on `executor`.
fn execution_in(
    task_id: &TaskId,
    scheduled: DateTime<Utc>,
    status: ExecutionStatus,
    executor: Option<&ExecutorId>,
) -> Execution {
    let mut e = execution(task_id, TriggerType::Manual, scheduled);
    e.status = status;
    e.executor_id = executor.cloned();
    if status != ExecutionStatus::Pending {
        e.start_time = Some(scheduled + Duration::milliseconds(10));
        e.dispatched_at = Some(scheduled + Duration::milliseconds(5));
    }
    if status.is_final() {
        e.end_time = Some(scheduled + Duration::milliseconds(1010));
    }
    e
}

async fn insert(store: &dyn Store, e: Execution) -> Execution {
    let stored = store.insert_execution(&e).await.expect("insert_execution");
    assert_eq!(stored, e, "insert_execution returns the execution as stored");
    stored
}

#[track_caller]
fn err<T: Debug>(r: StoreResult<T>) -> StoreError {
    match r {
        Ok(v) => panic!("expected an error, got Ok({v:?})"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_not_found<T: Debug>(r: StoreResult<T>, kind: &str, id: &str) {
    match err(r) {
        StoreError::NotFound { kind: k, id: i } => {
            assert_eq!(k, kind, "NotFound names the kind");
            assert_eq!(i, id, "NotFound names the id");
        }
        other => panic!("expected NotFound {{ kind: {kind:?} }}, got {other:?}"),
    }
}

#[track_caller]
fn assert_conflict<T: Debug>(r: StoreResult<T>) {
    match err(r) {
        StoreError::Conflict(_) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

#[track_caller]
fn assert_name_taken<T: Debug>(r: StoreResult<T>, name: &str) {
    match err(r) {
        StoreError::NameTaken(n) => assert_eq!(n, name, "NameTaken names the name"),
        other => panic!("expected NameTaken({name:?}), got {other:?}"),
    }
}

fn names(page: &Paged<Task>) -> Vec<&str> {
    page.items.iter().map(|t| t.name.as_str()).collect()
}

fn execution_ids(rows: &[Execution]) -> Vec<ExecutionId> {
    rows.iter().map(|e| e.id.clone()).collect()
}

fn id_set<T, I: Ord + Clone>(rows: &[T], id: impl Fn(&T) -> &I) -> BTreeSet<I> {
    rows.iter().map(|r| id(r).clone()).collect()
}

async fn list_tasks(store: &dyn Store, status: Option<TaskStatus>, name: Option<&str>) -> Paged<Task> {
    let filter = TaskFilter {
        status,
        name: name.map(str::to_owned),
    };
    store.list_tasks(&filter, Page::new(1, 100)).await.expect("list_tasks")
}

async fn list_executions(store: &dyn Store, filter: ExecutionFilter) -> ExecutionPage {
    store
        .list_executions(&filter, &ListFrom::Page(1), 100)
        .await
        .expect("list_executions")
}

fn of_task(task_id: &TaskId) -> ExecutionFilter {
    ExecutionFilter {
        task_id: Some(task_id.clone()),
        ..ExecutionFilter::default()
    }
}
