//! Misfires and recovery after a restart, from the persisted store state.

mod common;
use common::*;
use scheduler_core::*;
use std::sync::Arc;

/// A task created by a previous run whose next fire is `next`, as the store
/// would hold it after that run stopped.
async fn stored_task(
    store: &MemoryStore,
    name: &str,
    cron: &str,
    policy: MisfirePolicy,
    next: chrono::DateTime<chrono::Utc>,
) -> Task {
    let (mut task, _) = NewTask::new(name, cron)
        .misfire_policy(policy)
        .validate(TaskId::generate(), t0() - secs(3600))
        .unwrap();
    task.next_run_time = Some(next);
    store.create_task(&task, &[]).await.unwrap()
}

async fn one_executor(store: &MemoryStore) {
    let e = ExecutorRegistration {
        name: "e1".into(),
        instance_id: "e1".into(),
        base_url: "http://e1.test".into(),
        ..Default::default()
    }
    .validate(ExecutorId::generate(), t0() - secs(3600))
    .unwrap();
    store.register_executor(&e).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn fire_once_fires_the_latest_missed_instant_once() {
    let store = Arc::new(MemoryStore::new());
    one_executor(&store).await;
    // Every 10 s; the previous run stopped before 23:59:20, we start at 00:00:00 (40 s late).
    let task = stored_task(&store, "t", "*/10 * * * * *", MisfirePolicy::FireOnce, t0() - secs(40)).await;
    let h = harness_on(store, config(), |b| b).await;
    h.run_until(t0() + secs(25)).await;
    let ex = h.executions(&task.id).await;
    let got: Vec<_> = ex.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(got, vec![t0(), t0() + secs(10), t0() + secs(20)]);
    // The misfire fired at once, for the latest missed instant (00:00:00 itself).
    assert!(ex[0].logs.as_deref().unwrap_or("").contains("misfire"));
    assert_eq!(h.dispatcher.calls()[0].at, t0());
}

#[tokio::test(start_paused = true)]
async fn fire_once_uses_the_latest_missed_instant_not_the_first() {
    let store = Arc::new(MemoryStore::new());
    one_executor(&store).await;
    // Instants at :05, :15, ...; missed 23:59:25, :35, :45, :55; we start at 00:00:00.
    let cron = "5,15,25,35,45,55 * * * * *";
    let task = stored_task(&store, "t", cron, MisfirePolicy::FireOnce, t0() - secs(35)).await;
    let h = harness_on(store, config(), |b| b).await;
    h.run_until(t0() + secs(1)).await;
    let ex = h.executions(&task.id).await;
    assert_eq!(ex.len(), 1, "one fire for all missed instants");
    assert_eq!(ex[0].scheduled_time, t0() - secs(5), "the latest missed instant");
    assert_eq!(h.dispatcher.calls()[0].at, t0(), "fired now");
    assert_eq!(
        h.scheduler.get_task(&task.id).await.unwrap().next_run_time,
        Some(t0() + secs(5))
    );
}

#[tokio::test(start_paused = true)]
async fn skip_fires_none_of_the_missed_instants() {
    let store = Arc::new(MemoryStore::new());
    one_executor(&store).await;
    let task = stored_task(&store, "t", "*/10 * * * * *", MisfirePolicy::Skip, t0() - secs(40)).await;
    let h = harness_on(store, config(), |b| b).await;
    h.run_until(t0() + secs(25)).await;
    let got: Vec<_> = h.executions(&task.id).await.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(got, vec![t0() + secs(10), t0() + secs(20)]);
}

#[tokio::test(start_paused = true)]
async fn a_fire_late_by_less_than_the_threshold_is_not_a_misfire() {
    let store = Arc::new(MemoryStore::new());
    one_executor(&store).await;
    // Due 3 s ago (threshold 5 s): fired for its own instant, skip policy or not.
    let task = stored_task(&store, "t", "*/1 * * * * *", MisfirePolicy::Skip, t0() - secs(3)).await;
    let h = harness_on(store, config(), |b| b).await;
    h.run_until(t0() + ms(100)).await;
    let ex = h.executions(&task.id).await;
    let got: Vec<_> = ex.iter().map(|e| e.scheduled_time).collect();
    // Each instant late by <= 5 s fires with its own instant.
    assert_eq!(got, vec![t0() - secs(3), t0() - secs(2), t0() - secs(1), t0()]);
    assert!(!ex[0].logs.as_deref().unwrap_or("").contains("misfire"));
}

#[tokio::test(start_paused = true)]
async fn restart_recovers_pending_running_and_unanswered_executions() {
    let store = Arc::new(MemoryStore::new());
    one_executor(&store).await;
    let task = stored_task(
        &store,
        "t",
        "0 0 0 1 1 *",
        MisfirePolicy::Skip,
        t0() + secs(365 * 86400),
    )
    .await;
    let executor = store.all_executors().await.unwrap().remove(0);
    let at = t0() - secs(600);
    // pending, never sent: dispatched on recovery.
    let pending = Execution::new_pending(task.id.clone(), TriggerType::Manual, at, None, at);
    store.insert_execution(&pending).await.unwrap();
    // running past its deadline: times out on recovery.
    let mut overdue = Execution::new_pending(task.id.clone(), TriggerType::Manual, at, None, at);
    overdue.status = ExecutionStatus::Running;
    overdue.executor_id = Some(executor.id.clone());
    overdue.retry_count = task.max_retry;
    overdue.start_time = Some(at);
    overdue.dispatched_at = Some(at);
    overdue.timeout_at = Some(at + secs(300));
    store.insert_execution(&overdue).await.unwrap();
    // sent by the previous leader, no answer recorded: treated as running, not re-sent.
    let mut unanswered = Execution::new_pending(
        task.id.clone(),
        TriggerType::Manual,
        t0() - secs(5),
        None,
        t0() - secs(5),
    );
    unanswered.executor_id = Some(executor.id.clone());
    unanswered.dispatched_at = Some(t0() - secs(5));
    unanswered.timeout_at = Some(t0() + secs(3600));
    unanswered.callback_token = Some("tok".into());
    store.insert_execution(&unanswered).await.unwrap();

    let h = harness_on(store, config(), |b| b).await;
    h.run_until(t0() + secs(3)).await;
    let p = h.execution(&pending.id).await;
    assert_eq!(p.status, ExecutionStatus::Success, "pending was dispatched");
    let o = h.execution(&overdue.id).await;
    assert_eq!(o.status, ExecutionStatus::Timeout, "overdue running timed out");
    let u = h.execution(&unanswered.id).await;
    assert_eq!(u.status, ExecutionStatus::Running);
    assert_eq!(u.start_time, Some(t0() - secs(5)));
    let sent: Vec<_> = h.dispatcher.calls().into_iter().map(|c| c.execution_id).collect();
    assert_eq!(
        sent,
        vec![pending.id.clone()],
        "the unanswered attempt is never re-sent"
    );
    // Its callback still completes it.
    let done = ExecutionReport {
        status: ExecutionStatus::Success,
        result: None,
        logs: None,
        end_time: None,
    };
    let u = h.scheduler.report(&unanswered.id, "tok", done).await.unwrap();
    assert_eq!(u.status, ExecutionStatus::Success);
}

#[tokio::test(start_paused = true)]
async fn shutdown_and_restart_keep_the_schedule() {
    let store = Arc::new(MemoryStore::new());
    let h = harness_on(store.clone(), config(), |b| b).await;
    h.executor("e1").await;
    let task = h.task(NewTask::new("t", "*/1 * * * * *")).await;
    h.run_until(t0() + secs(3) + ms(500)).await;
    h.scheduler.shutdown().await;
    assert!(
        store.list_instances().await.unwrap().is_empty(),
        "instance row removed on clean shutdown"
    );
    drop(h);
    // The new engine's clock starts at t0 again; the store says the next fire is t0+4s.
    let h2 = harness_on(store, config(), |b| b).await;
    h2.run_until(t0() + secs(5) + ms(200)).await;
    let got: Vec<_> = h2.executions(&task.id).await.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(got, (1..=5).map(|i| t0() + secs(i)).collect::<Vec<_>>());
}
