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
mod history;
pub use alerts::*;
pub use batch::*;
pub use history::*;

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

// ---- basics and tasks ----------------------------------------------------------

/// `ping` answers on a reachable store.
pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}

/// A task round-trips every field (Unicode name of 255 characters, parameters,
/// options, millisecond timestamps); an unknown id is `NotFound`.
pub async fn create_and_get_task(store: Arc<dyn Store>) {
    let name = format!("日報🚀{}", "é".repeat(252));
    assert_eq!(name.chars().count(), 255);
    let (mut t, _) = NewTask::new(name, "0 30 9 * * MON-FRI")
        .timezone("Europe/Berlin")
        .parameters(obj(
            json!({"region": "eu", "limits": {"max": 10}, "tags": ["a", "b"], "note": "ü"}),
        ))
        .execution_mode(ModeName::SEQUENTIAL)
        .load_balance_strategy(StrategyName::WEIGHTED_ROUND_ROBIN)
        .max_retry(7)
        .timeout_seconds(90)
        .misfire_policy(MisfirePolicy::Skip)
        .validate(TaskId::generate(), at_ms(123))
        .expect("a valid task");
    t.next_run_time = Some(at_ms(300_456));
    t.updated_at = at_ms(789);
    let stored = create(&*store, t.clone()).await;
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), stored);

    let p = create(&*store, paused_task("paused one", at(1))).await;
    assert_eq!(store.get_task(&p.id).await.expect("get_task"), p);

    let unknown = TaskId::generate();
    assert_not_found(store.get_task(&unknown).await, "task", unknown.as_str());
}

/// `create_task` with an assignment naming an unknown executor is `NotFound`
/// (kind `executor`) and writes neither the task nor its assignments.
pub async fn create_task_with_unknown_executor_writes_nothing(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let ghost = ExecutorId::generate();
    let t = task("orphan", at(1));
    let r = store
        .create_task(&t, &[assignment(&x.id, 1, 0), assignment(&ghost, 1, 0)])
        .await;
    assert_not_found(r, "executor", ghost.as_str());
    assert_not_found(store.get_task(&t.id).await, "task", t.id.as_str());
    assert_eq!(list_tasks(&*store, None, None).await.total, 0);

    // The name was not taken by the failed insert.
    let again = task("orphan", at(2));
    let stored = store
        .create_task(&again, &[assignment(&x.id, 4, 2)])
        .await
        .expect("create_task");
    assert_eq!(stored, again);
    assert_eq!(
        store.task_executors(&again.id).await.expect("task_executors"),
        vec![assignment(&x.id, 4, 2)]
    );
}

/// Without a status filter deleted tasks are left out; with one, only that
/// status is listed.
pub async fn list_tasks_filters_by_status(store: Arc<dyn Store>) {
    let a = create_active(&*store, "a", at(0)).await;
    let p = create(&*store, paused_task("p", at(1))).await;
    let d = create_active(&*store, "d", at(2)).await;
    store.delete_task(&d.id, at(3)).await.expect("delete_task");
    let a2 = create_active(&*store, "a2", at(4)).await;

    let all = list_tasks(&*store, None, None).await;
    assert_eq!(names(&all), ["a2", "p", "a"]);
    assert_eq!(all.total, 3);
    assert_eq!(all.items[0], a2);
    assert_eq!(all.items[1], p);
    assert_eq!(all.items[2], a);

    let active = list_tasks(&*store, Some(TaskStatus::Active), None).await;
    assert_eq!(names(&active), ["a2", "a"]);
    assert_eq!(active.total, 2);

    let paused = list_tasks(&*store, Some(TaskStatus::Paused), None).await;
    assert_eq!(names(&paused), ["p"]);
    assert_eq!(paused.total, 1);

    let deleted = list_tasks(&*store, Some(TaskStatus::Deleted), None).await;
    assert_eq!(names(&deleted), ["d"]);
    assert_eq!(deleted.total, 1);
    assert_eq!(deleted.items[0].status, TaskStatus::Deleted);
}

/// The name filter is a case-sensitive substring match in which `_` and `%`
/// are plain characters, combined with the status filter.
pub async fn list_tasks_filters_by_name_substring(store: Arc<dyn Store>) {
    create_active(&*store, "report-daily", at(0)).await;
    create(&*store, paused_task("report-weekly", at(1))).await;
    create_active(&*store, "cleanup", at(2)).await;
    create_active(&*store, "abc", at(3)).await;
    create_active(&*store, "a_c", at(4)).await;
    create_active(&*store, "Report-monthly", at(5)).await;
    create_active(&*store, "100%-done", at(6)).await;
    let old = create_active(&*store, "report-old", at(7)).await;
    store.delete_task(&old.id, at(8)).await.expect("delete_task");

    let report = list_tasks(&*store, None, Some("report")).await;
    assert_eq!(names(&report), ["report-weekly", "report-daily"]);
    assert_eq!(report.total, 2);

    assert_eq!(
        names(&list_tasks(&*store, None, Some("Report")).await),
        ["Report-monthly"]
    );
    assert_eq!(
        names(&list_tasks(&*store, None, Some("weekly")).await),
        ["report-weekly"]
    );
    assert_eq!(names(&list_tasks(&*store, None, Some("a_c")).await), ["a_c"]);
    assert_eq!(names(&list_tasks(&*store, None, Some("%")).await), ["100%-done"]);
    let none = list_tasks(&*store, None, Some("nothing")).await;
    assert!(none.items.is_empty());
    assert_eq!(none.total, 0);

    let paused = list_tasks(&*store, Some(TaskStatus::Paused), Some("report")).await;
    assert_eq!(names(&paused), ["report-weekly"]);
    let deleted = list_tasks(&*store, Some(TaskStatus::Deleted), Some("report")).await;
    assert_eq!(names(&deleted), ["report-old"]);
}

/// Page 2 of 5 over 12 tasks holds the 6th to 10th newest, with the total.
pub async fn list_tasks_pages_newest_first(store: Arc<dyn Store>) {
    // Inserted out of order: the order comes from created_at, not insertion.
    for i in [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6] {
        create_active(&*store, &format!("task-{i:02}"), at(i)).await;
    }
    let page = |p| {
        let store = store.clone();
        async move {
            store
                .list_tasks(&TaskFilter::default(), Page::new(p, 5))
                .await
                .expect("list_tasks")
        }
    };
    let p1 = page(1).await;
    assert_eq!(names(&p1), ["task-11", "task-10", "task-09", "task-08", "task-07"]);
    assert_eq!(p1.total, 12);
    let p2 = page(2).await;
    assert_eq!(names(&p2), ["task-06", "task-05", "task-04", "task-03", "task-02"]);
    assert_eq!(p2.total, 12);
    let p3 = page(3).await;
    assert_eq!(names(&p3), ["task-01", "task-00"]);
    assert_eq!(p3.total, 12);
    let p4 = page(4).await;
    assert!(p4.items.is_empty());
    assert_eq!(p4.total, 12);
}

/// A name is unique among tasks that are not deleted (paused ones included);
/// a deleted task's name can be reused.
pub async fn task_names_are_unique_among_live_tasks(store: Arc<dyn Store>) {
    let first = create_active(&*store, "nightly", at(0)).await;
    let dup = task("nightly", at(1));
    assert_name_taken(store.create_task(&dup, &[]).await, "nightly");
    assert_not_found(store.get_task(&dup.id).await, "task", dup.id.as_str());
    assert_eq!(list_tasks(&*store, None, None).await.total, 1);

    create(&*store, paused_task("weekly", at(2))).await;
    assert_name_taken(store.create_task(&task("weekly", at(3)), &[]).await, "weekly");

    store.delete_task(&first.id, at(4)).await.expect("delete_task");
    let reused = create_active(&*store, "nightly", at(5)).await;
    assert_ne!(reused.id, first.id);
    let old = store.get_task(&first.id).await.expect("get_task");
    assert_eq!((old.name.as_str(), old.status), ("nightly", TaskStatus::Deleted));

    // The live task now holds the name again.
    assert_name_taken(store.create_task(&task("nightly", at(6)), &[]).await, "nightly");
}

/// `update_task` replaces every mutable field and keeps `created_at`.
pub async fn update_task_replaces_mutable_fields(store: Arc<dyn Store>) {
    let t = create_active(&*store, "before", at(0)).await;
    let mut u = t.clone();
    u.name = "after".to_owned();
    u.cron_expression = "0 0 * * * *".to_owned();
    u.timezone = "Asia/Tokyo".to_owned();
    u.parameters = Some(obj(json!({"k": 1, "nested": {"x": [true, null]}})));
    u.execution_mode = ModeName::SKIP;
    u.load_balance_strategy = StrategyName::LEAST_LOADED;
    u.max_retry = 0;
    u.timeout_seconds = 1;
    u.misfire_policy = MisfirePolicy::Skip;
    u.status = TaskStatus::Paused;
    u.next_run_time = None;
    u.updated_at = at_ms(60_250);
    u.created_at = at(999); // not a mutable field: ignored

    let mut expected = u.clone();
    expected.created_at = t.created_at;
    assert_eq!(store.update_task(&u, None).await.expect("update_task"), expected);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), expected);
    assert_eq!(names(&list_tasks(&*store, None, Some("after")).await), ["after"]);

    // Resume, and clear the parameters.
    let mut r = expected.clone();
    r.status = TaskStatus::Active;
    r.next_run_time = Some(at(3600));
    r.parameters = None;
    r.updated_at = at(61);
    assert_eq!(store.update_task(&r, None).await.expect("update_task"), r);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), r);

    // The old name is free.
    create_active(&*store, "before", at(62)).await;

    let ghost = task("ghost", at(63));
    assert_not_found(store.update_task(&ghost, None).await, "task", ghost.id.as_str());
}

/// Renaming to the name of another live task is `NameTaken` and changes
/// nothing; a deleted task's name and the task's own name are fine.
pub async fn update_task_refuses_a_taken_name(store: Arc<dyn Store>) {
    let a = create_active(&*store, "alpha", at(0)).await;
    let b = create_active(&*store, "beta", at(1)).await;

    let mut renamed = b.clone();
    renamed.name = "alpha".to_owned();
    renamed.max_retry = 9;
    renamed.updated_at = at(2);
    assert_name_taken(store.update_task(&renamed, None).await, "alpha");
    assert_eq!(store.get_task(&b.id).await.expect("get_task"), b);

    // Keeping its own name is not a clash.
    let mut same = b.clone();
    same.max_retry = 5;
    same.updated_at = at(3);
    assert_eq!(store.update_task(&same, None).await.expect("update_task"), same);

    store.delete_task(&a.id, at(4)).await.expect("delete_task");
    renamed.updated_at = at(5);
    assert_eq!(store.update_task(&renamed, None).await.expect("update_task"), renamed);
    // "beta" was released by the rename.
    create_active(&*store, "beta", at(6)).await;
}

/// `update_task` on a deleted task is a `Conflict` and changes nothing.
pub async fn update_task_on_deleted_task_conflicts(store: Arc<dyn Store>) {
    let t = create_active(&*store, "doomed", at(0)).await;
    let deleted = store.delete_task(&t.id, at(1)).await.expect("delete_task");
    let mut u = deleted.clone();
    u.status = TaskStatus::Active;
    u.next_run_time = Some(at(300));
    u.name = "revived".to_owned();
    u.updated_at = at(2);
    assert_conflict(store.update_task(&u, None).await);
    assert_conflict(store.update_task(&u, Some(&[])).await);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), deleted);
}

/// Assignments given to `update_task` replace the set together with the task's
/// fields; an unknown executor writes neither; `None` keeps the set.
pub async fn update_task_replaces_assignments_atomically(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let t = task("t1", at(3));
    store
        .create_task(&t, &[assignment(&x.id, 2, 0), assignment(&y.id, 3, 1)])
        .await
        .expect("create_task");

    let mut u = t.clone();
    u.name = "t2".to_owned();
    u.updated_at = at(4);
    let set = [assignment(&z.id, 5, -1)];
    assert_eq!(store.update_task(&u, Some(&set)).await.expect("update_task"), u);
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), set);

    let mut kept = u.clone();
    kept.max_retry = 8;
    kept.updated_at = at(5);
    store.update_task(&kept, None).await.expect("update_task");
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), set);

    let ghost = ExecutorId::generate();
    let mut refused = kept.clone();
    refused.name = "t3".to_owned();
    refused.max_retry = 1;
    refused.updated_at = at(6);
    let r = store
        .update_task(&refused, Some(&[assignment(&x.id, 1, 0), assignment(&ghost, 1, 0)]))
        .await;
    assert_not_found(r, "executor", ghost.as_str());
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), kept);
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), set);

    let mut cleared = kept.clone();
    cleared.updated_at = at(7);
    store.update_task(&cleared, Some(&[])).await.expect("update_task");
    assert!(store.task_executors(&t.id).await.expect("task_executors").is_empty());
}

/// `delete_task` soft-deletes (status `deleted`, `next_run_time` null,
/// `updated_at = at`), keeps history and assignments, and refuses a second time.
pub async fn delete_task_soft_deletes(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let t = task("to-delete", at(1));
    assert!(t.next_run_time.is_some());
    store
        .create_task(&t, &[assignment(&x.id, 3, 0)])
        .await
        .expect("create_task");
    let e = insert(
        &*store,
        execution_in(&t.id, at(2), ExecutionStatus::Success, Some(&x.id)),
    )
    .await;

    let deleted = store.delete_task(&t.id, at_ms(30_500)).await.expect("delete_task");
    let mut expected = t.clone();
    expected.status = TaskStatus::Deleted;
    expected.next_run_time = None;
    expected.updated_at = at_ms(30_500);
    assert_eq!(deleted, expected);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), expected);

    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), e);
    assert_eq!(list_executions(&*store, of_task(&t.id)).await.total, 1);
    assert_eq!(
        store.task_executors(&t.id).await.expect("task_executors"),
        vec![assignment(&x.id, 3, 0)]
    );
    assert!(store.active_tasks().await.expect("active_tasks").is_empty());

    assert_conflict(store.delete_task(&t.id, at(31)).await);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), expected);
    let ghost = TaskId::generate();
    assert_not_found(store.delete_task(&ghost, at(32)).await, "task", ghost.as_str());
}

/// `active_tasks` returns exactly the active tasks, as stored.
pub async fn active_tasks_are_the_active_ones(store: Arc<dyn Store>) {
    assert!(store.active_tasks().await.expect("active_tasks").is_empty());
    let a1 = create_active(&*store, "a1", at(0)).await;
    let a2 = create_active(&*store, "a2", at(1)).await;
    create(&*store, paused_task("p", at(2))).await;
    let d = create_active(&*store, "d", at(3)).await;
    store.delete_task(&d.id, at(4)).await.expect("delete_task");

    let mut got = store.active_tasks().await.expect("active_tasks");
    got.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = vec![a1, a2];
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got, want);
}

/// `tasks_changed_since` returns tasks with `updated_at >= since` (inclusive),
/// deleted ones included; `set_next_run_time` does not count as a change.
pub async fn tasks_changed_since_includes_deleted_tasks(store: Arc<dyn Store>) {
    let old = create_active(&*store, "old", at(-10)).await;
    let mid = create_active(&*store, "mid", at(0)).await;
    let new = create_active(&*store, "new", at(5)).await;
    let gone = create_active(&*store, "gone", at(-20)).await;
    store.delete_task(&gone.id, at(20)).await.expect("delete_task");
    let edited = create_active(&*store, "edited", at(-30)).await;
    let mut e = edited.clone();
    e.max_retry = 0;
    e.updated_at = at(10);
    store.update_task(&e, None).await.expect("update_task");
    store
        .set_next_run_time(&old.id, Some(at(600)))
        .await
        .expect("set_next_run_time");

    let changed = store.tasks_changed_since(at(0)).await.expect("tasks_changed_since");
    let got = id_set(&changed, |t: &Task| &t.id);
    let want: BTreeSet<TaskId> = [&mid.id, &new.id, &gone.id, &edited.id].into_iter().cloned().collect();
    assert_eq!(got, want);
    let g = changed.iter().find(|t| t.id == gone.id).expect("the deleted task");
    assert_eq!(g.status, TaskStatus::Deleted);

    assert_eq!(
        store
            .tasks_changed_since(at(-10))
            .await
            .expect("tasks_changed_since")
            .len(),
        5
    );
    assert!(
        store
            .tasks_changed_since(at(21))
            .await
            .expect("tasks_changed_since")
            .is_empty()
    );
}

/// `set_next_run_time` changes an active task only, leaves `updated_at`
/// alone, and is no error for an unknown task.
pub async fn set_next_run_time_only_for_active_tasks(store: Arc<dyn Store>) {
    let a = create_active(&*store, "active", at(0)).await;
    store
        .set_next_run_time(&a.id, Some(at_ms(120_001)))
        .await
        .expect("set_next_run_time");
    let got = store.get_task(&a.id).await.expect("get_task");
    assert_eq!(got.next_run_time, Some(at_ms(120_001)));
    assert_eq!(got.updated_at, a.updated_at);
    store.set_next_run_time(&a.id, None).await.expect("set_next_run_time");
    assert_eq!(store.get_task(&a.id).await.expect("get_task").next_run_time, None);

    let p = create(&*store, paused_task("paused", at(1))).await;
    store
        .set_next_run_time(&p.id, Some(at(120)))
        .await
        .expect("set_next_run_time");
    assert_eq!(store.get_task(&p.id).await.expect("get_task"), p);

    let d = create_active(&*store, "deleted", at(2)).await;
    let d = store.delete_task(&d.id, at(3)).await.expect("delete_task");
    store
        .set_next_run_time(&d.id, Some(at(120)))
        .await
        .expect("set_next_run_time");
    assert_eq!(store.get_task(&d.id).await.expect("get_task"), d);

    store
        .set_next_run_time(&TaskId::generate(), Some(at(120)))
        .await
        .expect("an unknown task is no error");
}

// ---- task executors ------------------------------------------------------------

/// Assignments round-trip weight and priority, listed by executor id; an
/// unknown task is `NotFound`.
pub async fn task_executors_round_trip(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let set = vec![
        assignment(&z.id, 1000, -5),
        assignment(&x.id, 1, 0),
        assignment(&y.id, 7, 3),
    ];
    let t = task("assigned", at(3));
    store.create_task(&t, &set).await.expect("create_task");
    assert_eq!(
        store.task_executors(&t.id).await.expect("task_executors"),
        sorted_by_executor(set)
    );

    let bare = create_active(&*store, "bare", at(4)).await;
    assert!(store.task_executors(&bare.id).await.expect("task_executors").is_empty());

    let ghost = TaskId::generate();
    assert_not_found(store.task_executors(&ghost).await, "task", ghost.as_str());
}

/// `replace_task_executors` replaces the set atomically: an unknown executor
/// (`NotFound`), an unknown task (`NotFound`) or a deleted task (`Conflict`)
/// changes nothing.
pub async fn replace_task_executors_checks_every_executor(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let t = task("t", at(3));
    store
        .create_task(&t, &[assignment(&x.id, 1, 0)])
        .await
        .expect("create_task");

    let set = vec![assignment(&z.id, 9, 2), assignment(&y.id, 2, 1)];
    let want = sorted_by_executor(set.clone());
    assert_eq!(
        store
            .replace_task_executors(&t.id, &set)
            .await
            .expect("replace_task_executors"),
        want
    );
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), want);

    let ghost = ExecutorId::generate();
    let r = store
        .replace_task_executors(&t.id, &[assignment(&x.id, 1, 0), assignment(&ghost, 1, 0)])
        .await;
    assert_not_found(r, "executor", ghost.as_str());
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), want);

    let no_task = TaskId::generate();
    assert_not_found(
        store.replace_task_executors(&no_task, &set).await,
        "task",
        no_task.as_str(),
    );

    store.delete_task(&t.id, at(4)).await.expect("delete_task");
    assert_conflict(store.replace_task_executors(&t.id, &[assignment(&x.id, 1, 0)]).await);
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), want);

    assert!(
        store
            .replace_task_executors(&create_active(&*store, "u", at(5)).await.id, &[])
            .await
            .expect("replace_task_executors")
            .is_empty()
    );
}

// ---- executors -----------------------------------------------------------------

/// Registering a known `instance_id` updates that executor: same id and
/// `created_at`, new name/URLs/metadata/`updated_at`, `offline` becomes
/// `online`, health reset to healthy with zero failures.
pub async fn register_executor_creates_then_updates_by_instance_id(store: Arc<dyn Store>) {
    let mut first = executor("billing", "billing-1", at_ms(1_001));
    first.health_check_url = Some("http://billing-1.test:9000/hc".to_owned());
    first.metadata = Some(obj(json!({"zone": "a", "cores": 8})));
    let first = register(&*store, first).await;
    assert_eq!(store.get_executor(&first.id).await.expect("get_executor"), first);

    store
        .set_executor_status(&first.id, ExecutorStatus::Offline, at(5))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &first.id, at(6)).await;
    let recovering = store
        .record_health(&first.id, true, at(9), HealthThresholds::default())
        .await
        .expect("record_health");
    assert_eq!((recovering.is_healthy, recovering.health_check_successes), (false, 1));

    let mut again = executor("billing-v2", "billing-1", at(60));
    again.base_url = "https://billing.example:8443/api".to_owned();
    again.metadata = Some(obj(json!({"zone": "b"})));
    let (updated, how) = store.register_executor(&again).await.expect("register_executor");
    assert_eq!(how, Registered::Updated);
    assert_eq!(updated.id, first.id, "the executor keeps its id");
    assert_eq!(updated.created_at, first.created_at, "and its created_at");
    assert_eq!(updated.instance_id, "billing-1");
    assert_eq!(updated.name, "billing-v2");
    assert_eq!(updated.base_url, "https://billing.example:8443/api");
    assert_eq!(updated.health_check_url, None);
    assert_eq!(updated.metadata, again.metadata);
    assert_eq!(updated.status, ExecutorStatus::Online, "offline becomes online");
    assert!(updated.is_healthy, "health is reset");
    assert_eq!(updated.health_check_failures, 0);
    assert_eq!(updated.health_check_successes, 0, "both counters restart");
    assert_eq!(updated.updated_at, at(60));
    assert_eq!(store.get_executor(&first.id).await.expect("get_executor"), updated);
    assert_not_found(store.get_executor(&again.id).await, "executor", again.id.as_str());
    assert_eq!(
        store.all_executors().await.expect("all_executors"),
        vec![updated.clone()]
    );

    // Health counters restart from zero: one failure does not make it unhealthy.
    let e = store
        .record_health(&first.id, false, at(61), HealthThresholds::default())
        .await
        .expect("record_health");
    assert!(e.is_healthy);
    assert_eq!(e.health_check_failures, 1);

    // Another instance of the same service is another executor.
    register_new(&*store, "billing-v2", "billing-2", at(62)).await;
    assert_eq!(store.all_executors().await.expect("all_executors").len(), 2);
}

/// Re-registration keeps `maintenance` (and `online`), and resets health.
pub async fn register_executor_keeps_maintenance_and_resets_health(store: Arc<dyn Store>) {
    let m = register_new(&*store, "svc", "m", at(0)).await;
    store
        .set_executor_status(&m.id, ExecutorStatus::Maintenance, at(1))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &m.id, at(2)).await;
    let (again, how) = store
        .register_executor(&executor("svc", "m", at(10)))
        .await
        .expect("register_executor");
    assert_eq!(how, Registered::Updated);
    assert_eq!(again.id, m.id);
    assert_eq!(again.status, ExecutorStatus::Maintenance);
    assert!(again.is_healthy);
    assert_eq!(again.health_check_failures, 0);

    let o = register_new(&*store, "svc", "o", at(20)).await;
    let (again, how) = store
        .register_executor(&executor("svc", "o", at(21)))
        .await
        .expect("register_executor");
    assert_eq!(how, Registered::Updated);
    assert_eq!(again.id, o.id);
    assert_eq!(again.status, ExecutorStatus::Online);
}

/// `get_executor` and `all_executors` return what was registered; an unknown
/// id is `NotFound`.
pub async fn get_and_all_executors(store: Arc<dyn Store>) {
    assert!(store.all_executors().await.expect("all_executors").is_empty());
    let mut a = executor("svc-a", "a", at_ms(1_500));
    a.metadata = Some(obj(json!({"labels": {"gpu": true}})));
    let a = register(&*store, a).await;
    let b = register_new(&*store, "svc-b", "b", at(2)).await;
    assert_eq!(store.get_executor(&a.id).await.expect("get_executor"), a);
    assert_eq!(store.get_executor(&b.id).await.expect("get_executor"), b);
    let all = store.all_executors().await.expect("all_executors");
    assert_eq!(all.len(), 2);
    assert_eq!(
        id_set(&all, |e: &Executor| &e.id),
        id_set(&[a, b], |e: &Executor| &e.id)
    );
    let ghost = ExecutorId::generate();
    assert_not_found(store.get_executor(&ghost).await, "executor", ghost.as_str());
}

/// `list_executors` filters by status, name substring and health, newest
/// first, with paging and totals.
pub async fn list_executors_filters_and_pages(store: Arc<dyn Store>) {
    let mut e = Vec::new();
    for i in 0..7i64 {
        let name = if i % 2 == 0 { "svc-a" } else { "svc-b" };
        e.push(register_new(&*store, name, &format!("i-{i}"), at(i)).await);
    }
    store
        .set_executor_status(&e[1].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    store
        .set_executor_status(&e[2].id, ExecutorStatus::Maintenance, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[3].id, at(11)).await;

    let list = |filter: ExecutorFilter, page: Page| {
        let store = store.clone();
        async move {
            let got = store.list_executors(&filter, page).await.expect("list_executors");
            let idx: Vec<usize> = got.items.iter().map(|x| e_index(&x.instance_id)).collect();
            (idx, got.total)
        }
    };
    fn e_index(instance_id: &str) -> usize {
        instance_id
            .trim_start_matches("i-")
            .parse()
            .expect("an instance id of this case")
    }
    let all = Page::new(1, 100);

    assert_eq!(
        list(ExecutorFilter::default(), all).await,
        (vec![6, 5, 4, 3, 2, 1, 0], 7)
    );
    let offline = ExecutorFilter {
        status: Some(ExecutorStatus::Offline),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(offline, all).await, (vec![1], 1));
    let maintenance = ExecutorFilter {
        status: Some(ExecutorStatus::Maintenance),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(maintenance, all).await, (vec![2], 1));
    let online = ExecutorFilter {
        status: Some(ExecutorStatus::Online),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(online, all).await, (vec![6, 5, 4, 3, 0], 5));
    let unhealthy = ExecutorFilter {
        healthy: Some(false),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(unhealthy, all).await, (vec![3], 1));
    let healthy = ExecutorFilter {
        healthy: Some(true),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(healthy, all).await, (vec![6, 5, 4, 2, 1, 0], 6));
    let b = ExecutorFilter {
        name: Some("svc-b".to_owned()),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(b, all).await, (vec![5, 3, 1], 3));
    let substring = ExecutorFilter {
        name: Some("vc-".to_owned()),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(substring, all).await.1, 7);
    let combined = ExecutorFilter {
        status: Some(ExecutorStatus::Online),
        name: Some("svc-a".to_owned()),
        healthy: Some(true),
    };
    assert_eq!(list(combined, all).await, (vec![6, 4, 0], 3));
    let nobody = ExecutorFilter {
        name: Some("nobody".to_owned()),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(nobody, all).await, (vec![], 0));

    assert_eq!(
        list(ExecutorFilter::default(), Page::new(2, 3)).await,
        (vec![3, 2, 1], 7)
    );
    assert_eq!(list(ExecutorFilter::default(), Page::new(3, 3)).await, (vec![0], 7));
    assert_eq!(list(ExecutorFilter::default(), Page::new(4, 3)).await, (vec![], 7));
}

/// `update_executor` replaces name, URLs, metadata and `updated_at` only.
pub async fn update_executor_replaces_descriptive_fields(store: Arc<dyn Store>) {
    let mut e = executor("svc", "inst", at(0));
    e.metadata = Some(obj(json!({"v": 1})));
    let e = register(&*store, e).await;

    let mut u = e.clone();
    u.name = "svc-renamed".to_owned();
    u.base_url = "https://elsewhere.test".to_owned();
    u.health_check_url = Some("https://elsewhere.test/ready".to_owned());
    u.metadata = None;
    u.updated_at = at_ms(5_005);
    // Not descriptive: must be ignored.
    u.status = ExecutorStatus::Offline;
    u.is_healthy = false;
    u.health_check_failures = 7;
    u.instance_id = "other".to_owned();
    u.created_at = at(99);

    let mut want = e.clone();
    want.name = u.name.clone();
    want.base_url = u.base_url.clone();
    want.health_check_url = u.health_check_url.clone();
    want.metadata = None;
    want.updated_at = u.updated_at;
    assert_eq!(store.update_executor(&u).await.expect("update_executor"), want);
    assert_eq!(store.get_executor(&e.id).await.expect("get_executor"), want);

    let ghost = executor("svc", "ghost", at(1));
    assert_not_found(store.update_executor(&ghost).await, "executor", ghost.id.as_str());
}

/// `set_executor_status` sets the status and `updated_at`, nothing else.
pub async fn set_executor_status_changes_only_the_status(store: Arc<dyn Store>) {
    let e = register_new(&*store, "svc", "inst", at(0)).await;
    for (i, status) in [
        ExecutorStatus::Maintenance,
        ExecutorStatus::Offline,
        ExecutorStatus::Online,
    ]
    .into_iter()
    .enumerate()
    {
        let when = at_ms(1_000 + i64::try_from(i).expect("small") * 7);
        let got = store
            .set_executor_status(&e.id, status, when)
            .await
            .expect("set_executor_status");
        let mut want = e.clone();
        want.status = status;
        want.updated_at = when;
        assert_eq!(got, want);
        assert_eq!(store.get_executor(&e.id).await.expect("get_executor"), want);
    }
    let ghost = ExecutorId::generate();
    assert_not_found(
        store.set_executor_status(&ghost, ExecutorStatus::Offline, at(5)).await,
        "executor",
        ghost.as_str(),
    );
}

/// Three consecutive failures make an executor unhealthy, two consecutive
/// successes make it healthy again; counters and `last_health_check` follow.
pub async fn record_health_applies_thresholds(store: Arc<dyn Store>) {
    let e = register_new(&*store, "svc", "inst", at(0)).await;
    let th = HealthThresholds::default();
    let probe = |ok: bool, t: DateTime<Utc>| {
        let store = store.clone();
        let id = e.id.clone();
        async move {
            let got = store.record_health(&id, ok, t, th).await.expect("record_health");
            assert_eq!(store.get_executor(&id).await.expect("get_executor"), got);
            assert_eq!(got.last_health_check, Some(t));
            (got.is_healthy, got.health_check_failures)
        }
    };
    assert_eq!(probe(true, at_ms(1_001)).await, (true, 0));
    assert_eq!(probe(false, at(2)).await, (true, 1));
    assert_eq!(probe(false, at(3)).await, (true, 2));
    assert_eq!(probe(false, at(4)).await, (false, 3));
    assert_eq!(probe(false, at(5)).await, (false, 4));
    assert_eq!(probe(true, at(6)).await, (false, 0));
    // A failure in between restarts the recovery count.
    assert_eq!(probe(false, at(7)).await, (false, 1));
    assert_eq!(probe(true, at(8)).await, (false, 0));
    assert_eq!(probe(true, at(9)).await, (true, 0));
    assert_eq!(probe(true, at(10)).await, (true, 0));
    // A success in between restarts the failure count.
    assert_eq!(probe(false, at(11)).await, (true, 1));
    assert_eq!(probe(false, at(12)).await, (true, 2));
    assert_eq!(probe(true, at(13)).await, (true, 0));
    assert_eq!(probe(false, at(14)).await, (true, 1));

    let ghost = ExecutorId::generate();
    assert_not_found(
        store.record_health(&ghost, true, at(15), th).await,
        "executor",
        ghost.as_str(),
    );
}

/// Deleting an executor removes it and its assignments; its executions stay
/// with `executor_id` null; its instance id is free again.
pub async fn delete_executor_keeps_execution_history(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let both = task("both", at(2));
    store
        .create_task(&both, &[assignment(&x.id, 2, 0), assignment(&y.id, 3, 1)])
        .await
        .expect("create_task");
    let only_x = task("only-x", at(3));
    store
        .create_task(&only_x, &[assignment(&x.id, 1, 0)])
        .await
        .expect("create_task");
    let done = insert(
        &*store,
        execution_in(&both.id, at(4), ExecutionStatus::Success, Some(&x.id)),
    )
    .await;
    let running = insert(
        &*store,
        execution_in(&both.id, at(5), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    let on_y = insert(
        &*store,
        execution_in(&both.id, at(6), ExecutionStatus::Running, Some(&y.id)),
    )
    .await;

    store.delete_executor(&x.id).await.expect("delete_executor");
    assert_not_found(store.get_executor(&x.id).await, "executor", x.id.as_str());
    assert_eq!(store.all_executors().await.expect("all_executors"), vec![y.clone()]);

    for before in [&done, &running] {
        let mut want = before.clone();
        want.executor_id = None;
        assert_eq!(store.get_execution(&before.id).await.expect("get_execution"), want);
    }
    assert_eq!(store.get_execution(&on_y.id).await.expect("get_execution"), on_y);
    let by_x = ExecutionFilter {
        executor_id: Some(x.id.clone()),
        ..ExecutionFilter::default()
    };
    assert_eq!(list_executions(&*store, by_x).await.total, 0);
    assert_eq!(list_executions(&*store, of_task(&both.id)).await.total, 3);
    let counts = store
        .running_counts(std::slice::from_ref(&x.id))
        .await
        .expect("running_counts");
    assert_eq!(counts.get(&x.id).copied().unwrap_or(0), 0);

    assert_eq!(
        store.task_executors(&both.id).await.expect("task_executors"),
        vec![assignment(&y.id, 3, 1)]
    );
    assert!(
        store
            .task_executors(&only_x.id)
            .await
            .expect("task_executors")
            .is_empty()
    );
    // With its only assignment gone, the task may run on every executor.
    let c = store
        .dispatch_candidates(&only_x.id)
        .await
        .expect("dispatch_candidates");
    assert_eq!(c.iter().map(|c| &c.executor.id).collect::<Vec<_>>(), [&y.id]);

    assert_not_found(store.delete_executor(&x.id).await, "executor", x.id.as_str());
    let (again, how) = store
        .register_executor(&executor("svc", "x", at(7)))
        .await
        .expect("register_executor");
    assert_eq!(how, Registered::Created);
    assert_ne!(again.id, x.id);
}

/// With assignments, the candidates are the assigned executors that are online
/// and healthy, by executor id, with their weight and priority; none left
/// means no candidate (not every executor).
pub async fn dispatch_candidates_use_assignments_when_present(store: Arc<dyn Store>) {
    let mut e = Vec::new();
    for i in 0..6i64 {
        e.push(register_new(&*store, "svc", &format!("e{i}"), at(i)).await);
    }
    store
        .set_executor_status(&e[0].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    store
        .set_executor_status(&e[4].id, ExecutorStatus::Maintenance, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[2].id, at(11)).await;

    let t = task("assigned", at(20));
    store
        .create_task(
            &t,
            &[
                assignment(&e[3].id, 5, 1),
                assignment(&e[0].id, 1, 0),
                assignment(&e[1].id, 2, 0),
                assignment(&e[2].id, 1, 0),
                assignment(&e[4].id, 1, 0),
            ],
        )
        .await
        .expect("create_task");
    let got = store.dispatch_candidates(&t.id).await.expect("dispatch_candidates");
    let mut want = vec![
        Candidate {
            executor: store.get_executor(&e[3].id).await.expect("get_executor"),
            weight: 5,
            priority: 1,
        },
        Candidate {
            executor: store.get_executor(&e[1].id).await.expect("get_executor"),
            weight: 2,
            priority: 0,
        },
    ];
    want.sort_by(|a, b| a.executor.id.cmp(&b.executor.id));
    assert_eq!(got, want);

    // Assigned only to unavailable executors: no candidate at all.
    let stuck = task("stuck", at(21));
    store
        .create_task(&stuck, &[assignment(&e[0].id, 1, 0), assignment(&e[2].id, 1, 0)])
        .await
        .expect("create_task");
    assert!(
        store
            .dispatch_candidates(&stuck.id)
            .await
            .expect("dispatch_candidates")
            .is_empty()
    );

    // Recovery brings an assigned executor back.
    for s in 0..2 {
        store
            .record_health(&e[2].id, true, at(30 + s), HealthThresholds::default())
            .await
            .expect("record_health");
    }
    let got = store.dispatch_candidates(&stuck.id).await.expect("dispatch_candidates");
    assert_eq!(got.iter().map(|c| &c.executor.id).collect::<Vec<_>>(), [&e[2].id]);
}

/// Without assignments, every online and healthy executor is a candidate, by
/// executor id, with weight 1 and priority 0.
pub async fn dispatch_candidates_default_to_every_available_executor(store: Arc<dyn Store>) {
    let t = create_active(&*store, "anywhere", at(0)).await;
    assert!(
        store
            .dispatch_candidates(&t.id)
            .await
            .expect("dispatch_candidates")
            .is_empty()
    );

    let mut e = Vec::new();
    for i in 0..5i64 {
        e.push(register_new(&*store, "svc", &format!("e{i}"), at(i)).await);
    }
    store
        .set_executor_status(&e[1].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[3].id, at(11)).await;

    let got = store.dispatch_candidates(&t.id).await.expect("dispatch_candidates");
    let mut want = Vec::new();
    for i in [0, 2, 4] {
        want.push(Candidate {
            executor: store.get_executor(&e[i].id).await.expect("get_executor"),
            weight: 1,
            priority: 0,
        });
    }
    want.sort_by(|a, b| a.executor.id.cmp(&b.executor.id));
    assert_eq!(got, want);

    // An emptied assignment set means "every executor" again.
    store
        .replace_task_executors(&t.id, &[assignment(&e[4].id, 9, 3)])
        .await
        .expect("replace_task_executors");
    let got = store.dispatch_candidates(&t.id).await.expect("dispatch_candidates");
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].weight, got[0].priority), (9, 3));
    store
        .replace_task_executors(&t.id, &[])
        .await
        .expect("replace_task_executors");
    assert_eq!(
        store.dispatch_candidates(&t.id).await.expect("dispatch_candidates"),
        want
    );
}

/// `running_counts` counts `running` executions of every task per executor.
pub async fn running_counts_per_executor(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let t1 = create_active(&*store, "t1", at(3)).await;
    let t2 = create_active(&*store, "t2", at(4)).await;
    let r1 = insert(
        &*store,
        execution_in(&t1.id, at(10), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t2.id, at(11), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(12), ExecutionStatus::Running, Some(&y.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(13), ExecutionStatus::Pending, Some(&x.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(14), ExecutionStatus::Success, Some(&y.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(15), ExecutionStatus::Failed, Some(&z.id)),
    )
    .await;

    let ids = [x.id.clone(), y.id.clone(), z.id.clone()];
    let count = |m: &std::collections::HashMap<ExecutorId, u64>, id: &ExecutorId| m.get(id).copied().unwrap_or(0);
    let got = store.running_counts(&ids).await.expect("running_counts");
    assert_eq!((count(&got, &x.id), count(&got, &y.id), count(&got, &z.id)), (2, 1, 0));

    store
        .update_execution(
            &r1.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Running]),
            &ExecutionChange {
                status: Some(ExecutionStatus::Success),
                end_time: Some(Some(at(20))),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    let got = store.running_counts(&ids).await.expect("running_counts");
    assert_eq!((count(&got, &x.id), count(&got, &y.id), count(&got, &z.id)), (1, 1, 0));
    let only_y = store
        .running_counts(std::slice::from_ref(&y.id))
        .await
        .expect("running_counts");
    assert_eq!(count(&only_y, &y.id), 1);
    assert!(only_y.keys().all(|k| k == &y.id), "only the executors asked for");
}

// ---- executions ----------------------------------------------------------------

/// A second scheduled fire of the same `(task, scheduled_time)` is
/// `AlreadyFired` and writes nothing; another instant or task is fine.
pub async fn claim_fire_refuses_a_second_fire_of_the_same_instant(store: Arc<dyn Store>) {
    let a = create_active(&*store, "a", at(0)).await;
    let b = create_active(&*store, "b", at(0)).await;
    let first = execution(&a.id, TriggerType::Schedule, at(60));
    assert_eq!(
        store.claim_fire(&first, Some(at(120))).await.expect("claim_fire"),
        first
    );
    assert_eq!(store.get_execution(&first.id).await.expect("get_execution"), first);
    assert_eq!(
        store.get_task(&a.id).await.expect("get_task").next_run_time,
        Some(at(120))
    );

    let second = execution(&a.id, TriggerType::Schedule, at(60));
    match err(store.claim_fire(&second, Some(at(180))).await) {
        StoreError::AlreadyFired {
            task_id,
            scheduled_time,
        } => {
            assert_eq!(task_id, a.id);
            assert_eq!(scheduled_time, at(60));
        }
        other => panic!("expected AlreadyFired, got {other:?}"),
    }
    assert_not_found(store.get_execution(&second.id).await, "execution", second.id.as_str());
    assert_eq!(
        store.get_task(&a.id).await.expect("get_task").next_run_time,
        Some(at(120)),
        "a refused claim does not move next_run_time"
    );
    assert_eq!(list_executions(&*store, of_task(&a.id)).await.total, 1);

    // One millisecond later is another instant; another task is another fire.
    let later = execution(&a.id, TriggerType::Schedule, at_ms(60_001));
    store.claim_fire(&later, Some(at(120))).await.expect("claim_fire");
    let other_task = execution(&b.id, TriggerType::Schedule, at(60));
    store.claim_fire(&other_task, Some(at(120))).await.expect("claim_fire");
    assert_eq!(list_executions(&*store, of_task(&a.id)).await.total, 2);
}

/// Manual executions have no uniqueness on their instant and do not collide
/// with a scheduled fire at the same instant.
pub async fn claim_fire_ignores_manual_executions(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    insert(&*store, execution(&t.id, TriggerType::Manual, at(60))).await;
    let fire = execution(&t.id, TriggerType::Schedule, at(60));
    store.claim_fire(&fire, Some(at(120))).await.expect("claim_fire");
    insert(&*store, execution(&t.id, TriggerType::Manual, at(60))).await;
    insert(&*store, execution(&t.id, TriggerType::Manual, at(60))).await;
    assert_eq!(list_executions(&*store, of_task(&t.id)).await.total, 4);
    assert!(
        store
            .claim_fire(&execution(&t.id, TriggerType::Schedule, at(60)), None)
            .await
            .is_err()
    );
}

/// `claim_fire` sets `next_run_time` only while the task is active.
pub async fn claim_fire_sets_next_run_time_only_for_active_tasks(store: Arc<dyn Store>) {
    let p = create(&*store, paused_task("paused", at(0))).await;
    store
        .claim_fire(&execution(&p.id, TriggerType::Schedule, at(60)), Some(at(120)))
        .await
        .expect("claim_fire");
    assert_eq!(store.get_task(&p.id).await.expect("get_task"), p);

    let a = create_active(&*store, "active", at(0)).await;
    store
        .claim_fire(&execution(&a.id, TriggerType::Schedule, at(60)), None)
        .await
        .expect("claim_fire");
    let got = store.get_task(&a.id).await.expect("get_task");
    assert_eq!(got.next_run_time, None);
    assert_eq!(got.updated_at, a.updated_at, "firing is not a user change");
}

/// 32 concurrent claims of the same fire with different execution ids: exactly
/// one wins, every other one is `AlreadyFired`, one row is written.
pub async fn claim_fire_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    const CONTENDERS: usize = 32;
    let t = create_active(&*store, "contended", at(0)).await;
    for round in 0..3i64 {
        let instant = at(60 * (round + 1));
        let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
        let mut handles = Vec::with_capacity(CONTENDERS);
        for _ in 0..CONTENDERS {
            let store = store.clone();
            let barrier = barrier.clone();
            let e = execution(&t.id, TriggerType::Schedule, instant);
            handles.push(tokio::spawn(async move {
                barrier.wait().await;
                store.claim_fire(&e, Some(instant + Duration::seconds(60))).await
            }));
        }
        let mut won = Vec::new();
        for h in handles {
            match h.await.expect("a contender panicked") {
                Ok(e) => won.push(e),
                Err(StoreError::AlreadyFired { .. }) => {}
                Err(other) => panic!("expected AlreadyFired for a lost race, got {other:?}"),
            }
        }
        assert_eq!(won.len(), 1, "exactly one claim of {instant} wins");
        let rows = list_executions(
            &*store,
            ExecutionFilter {
                task_id: Some(t.id.clone()),
                from: Some(instant),
                to: Some(instant),
                ..ExecutionFilter::default()
            },
        )
        .await;
        assert_eq!(rows.total, 1);
        assert_eq!(rows.items[0], won[0]);
    }
}

/// An execution round-trips every field, the engine's bookkeeping included;
/// an unknown id is `NotFound`.
pub async fn insert_and_get_execution_round_trip(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let t = create_active(&*store, "t", at(0)).await;
    let full = Execution {
        id: ExecutionId::generate(),
        task_id: t.id.clone(),
        executor_id: Some(x.id.clone()),
        trigger_type: TriggerType::Manual,
        scheduled_time: at_ms(1_234),
        start_time: Some(at_ms(2_000)),
        end_time: Some(at_ms(9_999)),
        status: ExecutionStatus::Failed,
        parameters: Some(json!({"a": [1, 2], "b": {"c": "ü"}})),
        result: Some(json!({"ok": false, "code": 3})),
        logs: Some("line one\nline two ✓".to_owned()),
        retry_count: 2,
        created_at: at_ms(1_500),
        dispatched_at: Some(at_ms(1_900)),
        next_attempt_at: Some(at_ms(1_600)),
        timeout_at: Some(at_ms(302_000)),
        callback_token: Some("tok-123".to_owned()),
    };
    insert(&*store, full.clone()).await;
    assert_eq!(store.get_execution(&full.id).await.expect("get_execution"), full);

    let bare = execution(&t.id, TriggerType::Schedule, at(5));
    store.claim_fire(&bare, None).await.expect("claim_fire");
    assert_eq!(store.get_execution(&bare.id).await.expect("get_execution"), bare);

    let ghost = ExecutionId::generate();
    assert_not_found(store.get_execution(&ghost).await, "execution", ghost.as_str());
}

/// `list_executions` filters by task, executor, status and an inclusive
/// `[from, to]` on `scheduled_time`, newest first.
pub async fn list_executions_filters(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let a = create_active(&*store, "a", at(0)).await;
    let b = create_active(&*store, "b", at(0)).await;
    let a1 = insert(
        &*store,
        execution_in(&a.id, at(0), ExecutionStatus::Success, Some(&x.id)),
    )
    .await;
    let a2 = insert(
        &*store,
        execution_in(&a.id, at(10), ExecutionStatus::Failed, Some(&y.id)),
    )
    .await;
    let a3 = insert(&*store, execution_in(&a.id, at(20), ExecutionStatus::Pending, None)).await;
    let b1 = insert(
        &*store,
        execution_in(&b.id, at(15), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    let b2 = insert(
        &*store,
        execution_in(&b.id, at(30), ExecutionStatus::Success, Some(&y.id)),
    )
    .await;

    let check = |filter: ExecutionFilter, want: Vec<&Execution>| {
        let store = store.clone();
        let want: Vec<Execution> = want.into_iter().cloned().collect();
        async move {
            let got = list_executions(&*store, filter.clone()).await;
            assert_eq!(got.items, want, "filter {filter:?}");
            assert_eq!(got.total, want.len() as u64, "total of filter {filter:?}");
        }
    };
    let f = ExecutionFilter::default;
    check(f(), vec![&b2, &a3, &b1, &a2, &a1]).await;
    check(of_task(&a.id), vec![&a3, &a2, &a1]).await;
    check(
        ExecutionFilter {
            executor_id: Some(x.id.clone()),
            ..f()
        },
        vec![&b1, &a1],
    )
    .await;
    check(
        ExecutionFilter {
            status: Some(ExecutionStatus::Success),
            ..f()
        },
        vec![&b2, &a1],
    )
    .await;
    check(
        ExecutionFilter {
            status: Some(ExecutionStatus::Cancelled),
            ..f()
        },
        vec![],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at(10)),
            ..f()
        },
        vec![&b2, &a3, &b1, &a2],
    )
    .await;
    check(
        ExecutionFilter {
            to: Some(at(10)),
            ..f()
        },
        vec![&a2, &a1],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at(10)),
            to: Some(at(20)),
            ..f()
        },
        vec![&a3, &b1, &a2],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at_ms(10_001)),
            to: Some(at_ms(19_999)),
            ..f()
        },
        vec![&b1],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at(20)),
            to: Some(at(10)),
            ..f()
        },
        vec![],
    )
    .await;
    check(
        ExecutionFilter {
            task_id: Some(a.id.clone()),
            executor_id: Some(y.id.clone()),
            ..f()
        },
        vec![&a2],
    )
    .await;
    check(
        ExecutionFilter {
            task_id: Some(b.id.clone()),
            status: Some(ExecutionStatus::Running),
            from: Some(at(15)),
            to: Some(at(15)),
            executor_id: Some(x.id.clone()),
        },
        vec![&b1],
    )
    .await;
    check(of_task(&TaskId::generate()), vec![]).await;
    check(
        ExecutionFilter {
            executor_id: Some(ExecutorId::generate()),
            ..f()
        },
        vec![],
    )
    .await;
}

/// Executions are listed newest `scheduled_time` first (not `created_at`),
/// ties by id descending, with paging and totals.
pub async fn list_executions_pages_newest_first(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let mut by_i = Vec::new();
    for i in [4, 9, 0, 11, 2, 7, 5, 1, 10, 3, 8, 6] {
        let mut e = execution(&t.id, TriggerType::Manual, at(i * 60));
        e.created_at = at(10_000 - i); // reverse order: must not matter
        by_i.push((i, insert(&*store, e).await));
    }
    by_i.sort_by_key(|(i, _)| *i);
    let ids_of = |is: &[usize]| is.iter().map(|&i| by_i[i].1.id.clone()).collect::<Vec<_>>();
    let page = |p| {
        let store = store.clone();
        let filter = of_task(&t.id);
        async move {
            store
                .list_executions(&filter, &ListFrom::Page(p), 5)
                .await
                .expect("list_executions")
        }
    };
    let p2 = page(2).await;
    assert_eq!(execution_ids(&p2.items), ids_of(&[6, 5, 4, 3, 2]));
    assert_eq!(p2.total, 12);
    let p3 = page(3).await;
    assert_eq!(execution_ids(&p3.items), ids_of(&[1, 0]));
    assert_eq!(p3.total, 12);
    assert!(page(4).await.items.is_empty());

    // Same scheduled_time: by id, descending.
    let u = create_active(&*store, "ties", at(0)).await;
    let mut tied = Vec::new();
    for _ in 0..3 {
        tied.push(insert(&*store, execution(&u.id, TriggerType::Manual, at(5))).await.id);
    }
    tied.sort();
    tied.reverse();
    let got = list_executions(&*store, of_task(&u.id)).await;
    assert_eq!(execution_ids(&got.items), tied);
}

/// When the guard holds, every field of the change is applied (including
/// setting optional fields back to null) and the others are left alone.
pub async fn update_execution_applies_the_change(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let t = create_active(&*store, "t", at(0)).await;
    let mut e = execution(&t.id, TriggerType::Schedule, at(60));
    e.parameters = Some(json!({"p": 1}));
    store.claim_fire(&e, None).await.expect("claim_fire");

    let send = ExecutionChange {
        executor_id: Some(Some(x.id.clone())),
        dispatched_at: Some(Some(at_ms(60_100))),
        timeout_at: Some(Some(at_ms(360_100))),
        callback_token: Some(Some("secret".to_owned())),
        next_attempt_at: Some(None),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending])
        .attempt(0)
        .dispatched(false);
    let got = store
        .update_execution(&e.id, &guard, &send)
        .await
        .expect("update_execution");
    let mut want = e.clone();
    send.apply_to(&mut want);
    assert_eq!(got, want);
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), want);

    let accept = ExecutionChange {
        status: Some(ExecutionStatus::Running),
        start_time: Some(Some(at_ms(60_200))),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending]).dispatched(true);
    let got = store
        .update_execution(&e.id, &guard, &accept)
        .await
        .expect("update_execution");
    accept.apply_to(&mut want);
    assert_eq!(got, want);

    // A failed attempt goes back to pending for a retry: nulls and a new attempt number.
    let retry = ExecutionChange {
        status: Some(ExecutionStatus::Pending),
        executor_id: Some(None),
        start_time: Some(None),
        retry_count: Some(1),
        dispatched_at: Some(None),
        next_attempt_at: Some(Some(at_ms(62_200))),
        timeout_at: Some(None),
        callback_token: Some(None),
        append_log: Some("attempt 0 failed: refused".to_owned()),
        result: Some(Some(json!({"error": "boom"}))),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Running]).attempt(0);
    let got = store
        .update_execution(&e.id, &guard, &retry)
        .await
        .expect("update_execution");
    retry.apply_to(&mut want);
    assert_eq!(got, want);
    assert_eq!(got.executor_id, None);
    assert_eq!(got.retry_count, 1);

    let finish = ExecutionChange {
        status: Some(ExecutionStatus::Success),
        executor_id: Some(Some(x.id.clone())),
        start_time: Some(Some(at_ms(63_000))),
        end_time: Some(Some(at_ms(64_500))),
        result: Some(None),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running]).attempt(1);
    let got = store
        .update_execution(&e.id, &guard, &finish)
        .await
        .expect("update_execution");
    finish.apply_to(&mut want);
    assert_eq!(got, want);
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), want);
    assert_eq!(want.parameters, Some(json!({"p": 1})));
    assert_eq!(want.scheduled_time, at(60));
}

/// The guard checks the status, the attempt number and whether the attempt
/// was sent; a failed guard is `Conflict` and changes nothing.
pub async fn update_execution_guard_checks_status_attempt_and_dispatch(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(60))).await;
    let change = ExecutionChange {
        dispatched_at: Some(Some(at(61))),
        append_log: Some("sent".to_owned()),
        ..ExecutionChange::default()
    };
    let pending = || ExecutionGuard::status_in(&[ExecutionStatus::Pending]);
    for refused in [
        ExecutionGuard::status_in(&[ExecutionStatus::Running]),
        ExecutionGuard::status_in(&[]),
        pending().attempt(1),
        pending().dispatched(true),
        pending().attempt(0).dispatched(true),
    ] {
        assert_conflict(store.update_execution(&e.id, &refused, &change).await);
        assert_eq!(
            store.get_execution(&e.id).await.expect("get_execution"),
            e,
            "{refused:?}"
        );
    }

    let sent = store
        .update_execution(&e.id, &pending().attempt(0).dispatched(false), &change)
        .await
        .expect("update_execution");
    assert_eq!(sent.dispatched_at, Some(at(61)));
    // The same attempt cannot be marked sent twice.
    assert_conflict(
        store
            .update_execution(&e.id, &pending().attempt(0).dispatched(false), &change)
            .await,
    );
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), sent);
    let got = store
        .update_execution(
            &e.id,
            &pending().attempt(0).dispatched(true),
            &ExecutionChange {
                status: Some(ExecutionStatus::Running),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    assert_eq!(got.status, ExecutionStatus::Running);
}

/// An execution in a final state is never changed, even by a guard that lists
/// its status.
pub async fn update_execution_never_overwrites_a_final_state(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let everything = ExecutionGuard::status_in(&ExecutionStatus::ALL);
    let change = ExecutionChange {
        status: Some(ExecutionStatus::Pending),
        end_time: Some(None),
        append_log: Some("must not appear".to_owned()),
        ..ExecutionChange::default()
    };
    let finals = [
        ExecutionStatus::Success,
        ExecutionStatus::Failed,
        ExecutionStatus::Timeout,
        ExecutionStatus::Skipped,
        ExecutionStatus::Cancelled,
    ];
    for (i, status) in finals.into_iter().enumerate() {
        let when = at(i64::try_from(i).expect("small") * 60);
        let e = insert(&*store, execution_in(&t.id, when, status, None)).await;
        assert_conflict(store.update_execution(&e.id, &everything, &change).await);
        assert_conflict(
            store
                .update_execution(&e.id, &everything.clone().attempt(0), &change)
                .await,
        );
        assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), e);
    }

    // Reaching a final state through the store closes it as well.
    let e = insert(&*store, execution_in(&t.id, at(600), ExecutionStatus::Running, None)).await;
    let cancel = ExecutionChange {
        status: Some(ExecutionStatus::Cancelled),
        end_time: Some(Some(at(601))),
        ..ExecutionChange::default()
    };
    let done = store
        .update_execution(&e.id, &everything, &cancel)
        .await
        .expect("update_execution");
    let success = ExecutionChange {
        status: Some(ExecutionStatus::Success),
        ..ExecutionChange::default()
    };
    assert_conflict(store.update_execution(&e.id, &everything, &success).await);
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), done);
}

/// `append_log` starts the logs or joins them to earlier logs with `\n`.
pub async fn update_execution_appends_logs_with_newlines(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let any = ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running]);
    let log = |line: &str| ExecutionChange {
        append_log: Some(line.to_owned()),
        ..ExecutionChange::default()
    };

    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(1))).await;
    assert_eq!(e.logs, None);
    let got = store
        .update_execution(&e.id, &any, &log("first"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("first"));
    let got = store
        .update_execution(&e.id, &any, &log("second: ✓ ünïcode"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("first\nsecond: ✓ ünïcode"));
    let got = store
        .update_execution(&e.id, &any, &log("multi\nline"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("first\nsecond: ✓ ünïcode\nmulti\nline"));
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), got);

    let mut pre = execution(&t.id, TriggerType::Manual, at(2));
    pre.logs = Some("from the start".to_owned());
    let pre = insert(&*store, pre).await;
    let got = store
        .update_execution(&pre.id, &any, &log("more"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("from the start\nmore"));
}

/// An unknown execution is `NotFound`, a guard that fails is `Conflict`.
pub async fn update_execution_not_found_vs_conflict(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(1))).await;
    let change = ExecutionChange {
        status: Some(ExecutionStatus::Running),
        ..ExecutionChange::default()
    };
    let ghost = ExecutionId::generate();
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending]);
    assert_not_found(
        store.update_execution(&ghost, &guard, &change).await,
        "execution",
        ghost.as_str(),
    );
    assert_conflict(
        store
            .update_execution(&e.id, &ExecutionGuard::status_in(&[ExecutionStatus::Running]), &change)
            .await,
    );
}

/// 16 concurrent compare-and-sets with the same guard: exactly one applies.
pub async fn update_execution_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    const CONTENDERS: usize = 16;
    let t = create_active(&*store, "t", at(0)).await;
    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(1))).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let mut handles = Vec::new();
    for i in 0..CONTENDERS {
        let (store, barrier, id) = (store.clone(), barrier.clone(), e.id.clone());
        handles.push(tokio::spawn(async move {
            let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending])
                .attempt(0)
                .dispatched(false);
            let change = ExecutionChange {
                dispatched_at: Some(Some(at(2))),
                append_log: Some(format!("sent by {i}")),
                ..ExecutionChange::default()
            };
            barrier.wait().await;
            store.update_execution(&id, &guard, &change).await
        }));
    }
    let mut won = 0;
    for h in handles {
        match h.await.expect("a contender panicked") {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("expected Conflict for a lost race, got {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let got = store.get_execution(&e.id).await.expect("get_execution");
    let logs = got.logs.expect("the winner's log line");
    assert!(logs.starts_with("sent by ") && !logs.contains('\n'), "{logs:?}");
}

/// `task_activity` counts the task's `pending` and `running` executions.
pub async fn task_activity_counts_pending_and_running(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let other = create_active(&*store, "other", at(0)).await;
    let activity = |id: TaskId| {
        let store = store.clone();
        async move { store.task_activity(&id).await.expect("task_activity") }
    };
    assert_eq!(activity(t.id.clone()).await, TaskActivity::default());

    let p1 = insert(&*store, execution_in(&t.id, at(1), ExecutionStatus::Pending, None)).await;
    insert(&*store, execution_in(&t.id, at(2), ExecutionStatus::Pending, None)).await;
    let r1 = insert(&*store, execution_in(&t.id, at(3), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&t.id, at(4), ExecutionStatus::Success, None)).await;
    insert(&*store, execution_in(&t.id, at(5), ExecutionStatus::Skipped, None)).await;
    insert(&*store, execution_in(&other.id, at(6), ExecutionStatus::Running, None)).await;
    assert_eq!(activity(t.id.clone()).await, TaskActivity { pending: 2, running: 1 });
    assert_eq!(
        activity(other.id.clone()).await,
        TaskActivity { pending: 0, running: 1 }
    );

    let to = |s: ExecutionStatus| ExecutionChange {
        status: Some(s),
        ..ExecutionChange::default()
    };
    let any = ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running]);
    store
        .update_execution(&p1.id, &any, &to(ExecutionStatus::Running))
        .await
        .expect("update_execution");
    assert_eq!(activity(t.id.clone()).await, TaskActivity { pending: 1, running: 2 });
    store
        .update_execution(&r1.id, &any, &to(ExecutionStatus::Timeout))
        .await
        .expect("update_execution");
    store
        .update_execution(&p1.id, &any, &to(ExecutionStatus::Pending))
        .await
        .expect("update_execution");
    assert_eq!(activity(t.id.clone()).await, TaskActivity { pending: 2, running: 0 });
}

/// `due_executions`: `pending`, not sent, `next_attempt_at` null or `<= now`,
/// oldest first, at most `limit`.
pub async fn due_executions_are_pending_undispatched_and_ripe(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let now = at(100);
    let pending = |scheduled: i64, created: i64, next: Option<DateTime<Utc>>| {
        let mut e = execution(&t.id, TriggerType::Manual, at(scheduled));
        e.created_at = at(created);
        e.next_attempt_at = next;
        e
    };
    // Oldest by created_at and by next_attempt_at alike: d1, d7, d2.
    let d1 = insert(&*store, pending(0, 0, None)).await;
    let d2 = insert(&*store, pending(5, 20, Some(now))).await;
    let d3 = insert(&*store, pending(6, 30, Some(at_ms(100_001)))).await;
    let mut sent = pending(7, 40, None);
    sent.dispatched_at = Some(at(41));
    insert(&*store, sent).await;
    insert(&*store, execution_in(&t.id, at(8), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&t.id, at(9), ExecutionStatus::Success, None)).await;
    let mut failed = execution_in(&t.id, at(10), ExecutionStatus::Failed, None);
    failed.dispatched_at = None;
    insert(&*store, failed).await;
    let d7 = insert(&*store, pending(11, 10, Some(at(50)))).await;

    let due = store.due_executions(now, 100).await.expect("due_executions");
    assert_eq!(execution_ids(&due), [d1.id.clone(), d7.id.clone(), d2.id.clone()]);
    assert_eq!(due[0], d1);
    let two = store.due_executions(now, 2).await.expect("due_executions");
    assert_eq!(execution_ids(&two), [d1.id.clone(), d7.id.clone()]);

    let later = store.due_executions(at_ms(100_001), 100).await.expect("due_executions");
    assert!(later.iter().any(|e| e.id == d3.id));
    assert_eq!(later.len(), 4);

    // Marking d1 sent takes it off the list.
    store
        .update_execution(
            &d1.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Pending]).dispatched(false),
            &ExecutionChange {
                dispatched_at: Some(Some(now)),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    let due = store.due_executions(now, 100).await.expect("due_executions");
    assert_eq!(execution_ids(&due), [d7.id.clone(), d2.id.clone()]);
}

/// `unanswered_executions`: `pending` executions with `dispatched_at` set, at
/// most `limit`.
pub async fn unanswered_executions_are_pending_and_dispatched(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let mut want = BTreeSet::new();
    for i in 0..3 {
        let mut e = execution(&t.id, TriggerType::Manual, at(i));
        e.dispatched_at = Some(at(i + 1));
        want.insert(insert(&*store, e).await.id);
    }
    insert(&*store, execution(&t.id, TriggerType::Manual, at(10))).await;
    insert(&*store, execution_in(&t.id, at(11), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&t.id, at(12), ExecutionStatus::Failed, None)).await;

    let got = store.unanswered_executions(100).await.expect("unanswered_executions");
    assert_eq!(id_set(&got, |e: &Execution| &e.id), want);
    assert!(
        got.iter()
            .all(|e| e.status == ExecutionStatus::Pending && e.dispatched_at.is_some())
    );
    let two = store.unanswered_executions(2).await.expect("unanswered_executions");
    assert_eq!(two.len(), 2);
    assert!(two.iter().all(|e| want.contains(&e.id)));
}

/// `overdue_executions`: `pending` or `running` with `timeout_at <= now`,
/// oldest deadline first, at most `limit`; final ones never.
pub async fn overdue_executions_are_unfinished_past_their_deadline(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let now = at(100);
    let with_deadline = |i: i64, status: ExecutionStatus, deadline: Option<DateTime<Utc>>| {
        let mut e = execution_in(&t.id, at(i), status, None);
        e.timeout_at = deadline;
        e
    };
    let o2 = insert(&*store, with_deadline(1, ExecutionStatus::Running, Some(now))).await;
    let o1 = insert(&*store, with_deadline(2, ExecutionStatus::Pending, Some(at(90)))).await;
    insert(
        &*store,
        with_deadline(3, ExecutionStatus::Running, Some(at_ms(100_001))),
    )
    .await;
    insert(&*store, with_deadline(4, ExecutionStatus::Success, Some(at(50)))).await;
    insert(&*store, with_deadline(5, ExecutionStatus::Running, None)).await;
    insert(&*store, with_deadline(6, ExecutionStatus::Timeout, Some(at(10)))).await;
    insert(&*store, with_deadline(7, ExecutionStatus::Cancelled, Some(at(10)))).await;

    let got = store.overdue_executions(now, 100).await.expect("overdue_executions");
    assert_eq!(execution_ids(&got), [o1.id.clone(), o2.id.clone()]);
    assert_eq!(got[0], o1);
    let one = store.overdue_executions(now, 1).await.expect("overdue_executions");
    assert_eq!(execution_ids(&one), std::slice::from_ref(&o1.id));

    store
        .update_execution(
            &o2.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Running]),
            &ExecutionChange {
                status: Some(ExecutionStatus::Timeout),
                end_time: Some(Some(now)),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    // A retry moves the deadline.
    store
        .update_execution(
            &o1.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Pending]),
            &ExecutionChange {
                timeout_at: Some(Some(at(400))),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    assert!(
        store
            .overdue_executions(now, 100)
            .await
            .expect("overdue_executions")
            .is_empty()
    );
    let got = store
        .overdue_executions(at(400), 100)
        .await
        .expect("overdue_executions");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].id, o1.id);
}

/// Load-balancer state is a per-(task, strategy) compare-and-set on a version
/// that starts with `None` and increments on every write.
pub async fn lb_state_is_a_versioned_compare_and_set(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let u = create_active(&*store, "u", at(0)).await;
    let rr = "round_robin";
    assert_eq!(store.lb_state(&t.id, rr).await.expect("lb_state"), None);
    assert_conflict(store.put_lb_state(&t.id, rr, Some(1), &json!({"next": 0})).await);
    assert_eq!(store.lb_state(&t.id, rr).await.expect("lb_state"), None);

    let v1 = json!({"next": 1, "bound": "e-1"});
    store.put_lb_state(&t.id, rr, None, &v1).await.expect("put_lb_state");
    let s1 = store.lb_state(&t.id, rr).await.expect("lb_state").expect("written");
    assert_eq!(s1.value, v1);

    assert_conflict(store.put_lb_state(&t.id, rr, None, &json!({"next": 9})).await);
    assert_conflict(
        store
            .put_lb_state(&t.id, rr, Some(s1.version + 1), &json!({"next": 9}))
            .await,
    );
    assert_eq!(store.lb_state(&t.id, rr).await.expect("lb_state"), Some(s1.clone()));

    let v2 = json!({"weights": {"a": 3, "b": -2}, "list": [1, 2, 3]});
    store
        .put_lb_state(&t.id, rr, Some(s1.version), &v2)
        .await
        .expect("put_lb_state");
    let s2 = store.lb_state(&t.id, rr).await.expect("lb_state").expect("written");
    assert_eq!(s2.value, v2);
    assert_eq!(s2.version, s1.version + 1);
    // The stale version loses.
    assert_conflict(store.put_lb_state(&t.id, rr, Some(s1.version), &v1).await);
    assert_eq!(store.lb_state(&t.id, rr).await.expect("lb_state"), Some(s2.clone()));

    // Other strategies and other tasks have their own state.
    assert_eq!(store.lb_state(&t.id, "sticky").await.expect("lb_state"), None);
    assert_eq!(store.lb_state(&u.id, rr).await.expect("lb_state"), None);
    store
        .put_lb_state(&t.id, "sticky", None, &json!("e-2"))
        .await
        .expect("put_lb_state");
    assert_eq!(
        store
            .lb_state(&t.id, "sticky")
            .await
            .expect("lb_state")
            .map(|s| s.value),
        Some(json!("e-2"))
    );
    assert_eq!(store.lb_state(&t.id, rr).await.expect("lb_state"), Some(s2));

    // Racing writers with the same expected version: exactly one wins.
    const CONTENDERS: usize = 16;
    let current = store.lb_state(&u.id, rr).await.expect("lb_state").map(|s| s.version);
    store
        .put_lb_state(&u.id, rr, current, &json!(0))
        .await
        .expect("put_lb_state");
    let base_version = store
        .lb_state(&u.id, rr)
        .await
        .expect("lb_state")
        .expect("written")
        .version;
    let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let mut handles = Vec::new();
    for i in 0..CONTENDERS {
        let (store, barrier, id) = (store.clone(), barrier.clone(), u.id.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            store.put_lb_state(&id, rr, Some(base_version), &json!(i)).await
        }));
    }
    let mut won = 0;
    for h in handles {
        match h.await.expect("a contender panicked") {
            Ok(()) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("expected Conflict for a lost race, got {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let s = store.lb_state(&u.id, rr).await.expect("lb_state").expect("written");
    assert_eq!(s.version, base_version + 1);
}

/// Racing first writers (expected version `None`): exactly one wins.
pub async fn lb_state_first_write_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    const CONTENDERS: usize = 16;
    let t = create_active(&*store, "t", at(0)).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let mut handles = Vec::new();
    for i in 0..CONTENDERS {
        let (store, barrier, id) = (store.clone(), barrier.clone(), t.id.clone());
        handles.push(tokio::spawn(async move {
            barrier.wait().await;
            store
                .put_lb_state(&id, "weighted_round_robin", None, &json!({"winner": i}))
                .await
                .map(|()| i)
        }));
    }
    let mut winners = Vec::new();
    for h in handles {
        match h.await.expect("a contender panicked") {
            Ok(i) => winners.push(i),
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("expected Conflict for a lost race, got {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1);
    let s = store
        .lb_state(&t.id, "weighted_round_robin")
        .await
        .expect("lb_state")
        .expect("written");
    assert_eq!(s.value, json!({"winner": winners[0]}));
}

// ---- statistics ----------------------------------------------------------------

/// `system_counts` counts executors by status and health, tasks by status
/// (deleted left out) and pending/running executions.
pub async fn system_counts_reflect_the_store(store: Arc<dyn Store>) {
    assert_eq!(
        store.system_counts().await.expect("system_counts"),
        SystemCounts::default()
    );

    let e: Vec<Executor> = futures::future::join_all((0..5).map(|i| {
        let store = store.clone();
        async move { register_new(&*store, "svc", &format!("e{i}"), at(i)).await }
    }))
    .await;
    store
        .set_executor_status(&e[0].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    store
        .set_executor_status(&e[1].id, ExecutorStatus::Maintenance, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[2].id, at(11)).await;
    make_unhealthy(&*store, &e[1].id, at(11)).await;

    let a = create_active(&*store, "a1", at(0)).await;
    create_active(&*store, "a2", at(0)).await;
    create(&*store, paused_task("p", at(0))).await;
    let d = create_active(&*store, "d", at(0)).await;
    store.delete_task(&d.id, at(1)).await.expect("delete_task");

    insert(&*store, execution_in(&a.id, at(20), ExecutionStatus::Pending, None)).await;
    let mut sent = execution_in(&a.id, at(21), ExecutionStatus::Pending, None);
    sent.dispatched_at = Some(at(22));
    insert(&*store, sent).await;
    insert(&*store, execution_in(&a.id, at(23), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&a.id, at(24), ExecutionStatus::Success, None)).await;
    insert(&*store, execution_in(&d.id, at(25), ExecutionStatus::Failed, None)).await;

    assert_eq!(
        store.system_counts().await.expect("system_counts"),
        SystemCounts {
            executors_total: 5,
            executors_online: 3,
            executors_offline: 1,
            executors_maintenance: 1,
            executors_healthy: 3,
            executors_unhealthy: 2,
            tasks_active: 2,
            tasks_paused: 1,
            executions_pending: 2,
            executions_running: 1,
        }
    );
}

/// Instance rows are upserted by `instance_id`, listed by `instance_id`, and
/// removed (removing an unknown one is no error).
pub async fn scheduler_instances_upsert_list_remove(store: Arc<dyn Store>) {
    assert!(store.list_instances().await.expect("list_instances").is_empty());
    let b = SchedulerInstance {
        instance_id: "node-b".to_owned(),
        hostname: "host-b".to_owned(),
        is_leader: false,
        started_at: at_ms(1_001),
        last_heartbeat: at_ms(1_001),
    };
    let mut a = SchedulerInstance {
        instance_id: "node-a".to_owned(),
        hostname: "host-a".to_owned(),
        is_leader: false,
        started_at: at(0),
        last_heartbeat: at(0),
    };
    store.upsert_instance(&b).await.expect("upsert_instance");
    store.upsert_instance(&a).await.expect("upsert_instance");
    assert_eq!(
        store.list_instances().await.expect("list_instances"),
        vec![a.clone(), b.clone()]
    );

    a.is_leader = true;
    a.last_heartbeat = at_ms(30_030);
    a.hostname = "host-a2".to_owned();
    store.upsert_instance(&a).await.expect("upsert_instance");
    assert_eq!(
        store.list_instances().await.expect("list_instances"),
        vec![a.clone(), b.clone()]
    );

    store.remove_instance("node-a").await.expect("remove_instance");
    assert_eq!(store.list_instances().await.expect("list_instances"), vec![b]);
    store
        .remove_instance("node-a")
        .await
        .expect("removing twice is no error");
    store
        .remove_instance("never")
        .await
        .expect("an unknown instance is no error");
}
