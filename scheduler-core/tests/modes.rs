//! Execution modes: what a scheduled fire does while the task still runs.

mod common;
use common::*;
use scheduler_core::*;

/// Every second, executions stay running (the executor accepts and never reports).
async fn run_mode(mode: ModeName) -> (Harness, Task) {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h
        .task(
            NewTask::new("t", "*/1 * * * * *")
                .execution_mode(mode)
                .timeout_seconds(3600),
        )
        .await;
    h.run_until(t0() + secs(3) + ms(200)).await;
    (h, task)
}

#[tokio::test(start_paused = true)]
async fn parallel_always_dispatches() {
    let (h, task) = run_mode(ModeName::PARALLEL).await;
    let ex = h.executions(&task.id).await;
    assert_eq!(ex.len(), 3);
    assert!(ex.iter().all(|e| e.status == ExecutionStatus::Running));
    assert_eq!(h.dispatcher.calls().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn sequential_writes_nothing_while_one_is_running() {
    let (h, task) = run_mode(ModeName::SEQUENTIAL).await;
    let ex = h.executions(&task.id).await;
    assert_eq!(ex.len(), 1, "only the first fire is recorded");
    assert_eq!(ex[0].scheduled_time, t0() + secs(1));
    assert_eq!(h.dispatcher.calls().len(), 1);
    // next_run_time still moves on.
    assert_eq!(
        h.scheduler.get_task(&task.id).await.unwrap().next_run_time,
        Some(t0() + secs(4))
    );
    // Once it finishes, the next fire runs.
    let token = ex[0].callback_token.clone().unwrap();
    let done = ExecutionReport {
        status: ExecutionStatus::Success,
        result: None,
        logs: None,
        end_time: None,
    };
    h.scheduler.report(&ex[0].id, &token, done).await.unwrap();
    h.run_until(t0() + secs(4) + ms(500)).await;
    let ex = h.executions(&task.id).await;
    assert_eq!(ex.len(), 2);
    assert_eq!(ex[1].scheduled_time, t0() + secs(4));
}

#[tokio::test(start_paused = true)]
async fn sequential_also_waits_for_pending() {
    let h = harness().await;
    // No executor at all: the first execution fails its attempt and waits
    // (pending) for a retry 60 s away.
    let mut cfg = config();
    cfg.retry_backoff = std::time::Duration::from_secs(60);
    drop(h);
    let h = harness_with(cfg, |b| b).await;
    let task = h
        .task(NewTask::new("t", "*/1 * * * * *").execution_mode(ModeName::SEQUENTIAL))
        .await;
    h.run_until(t0() + secs(3) + ms(500)).await;
    let ex = h.executions(&task.id).await;
    assert_eq!(ex.len(), 1);
    assert_eq!(ex[0].status, ExecutionStatus::Pending);
    assert_eq!(ex[0].retry_count, 1);
}

#[tokio::test(start_paused = true)]
async fn skip_records_skipped_while_one_is_running() {
    let (h, task) = run_mode(ModeName::SKIP).await;
    let ex = h.executions(&task.id).await;
    let statuses: Vec<_> = ex.iter().map(|e| (e.scheduled_time, e.status)).collect();
    assert_eq!(
        statuses,
        vec![
            (t0() + secs(1), ExecutionStatus::Running),
            (t0() + secs(2), ExecutionStatus::Skipped),
            (t0() + secs(3), ExecutionStatus::Skipped),
        ]
    );
    assert_eq!(h.dispatcher.calls().len(), 1, "skipped fires are not dispatched");
    assert!(ex[1].logs.as_deref().unwrap_or("").contains("skipped"));
}

#[tokio::test(start_paused = true)]
async fn manual_trigger_bypasses_the_mode() {
    let (h, task) = run_mode(ModeName::SEQUENTIAL).await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(h.clock.now() + ms(10)).await;
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Running);
    assert_eq!(h.dispatcher.calls().len(), 2);
}

/// A mode registered by the embedding program: dispatch only on even seconds.
struct EvenSecondsOnly;

#[async_trait::async_trait]
impl ExecutionMode for EvenSecondsOnly {
    async fn decide(&self, ctx: &ModeContext<'_>) -> StoreResult<FireDecision> {
        let _ = ctx.task;
        Ok(FireDecision::Dispatch)
    }
}

#[tokio::test(start_paused = true)]
async fn custom_modes_are_registered_by_name() {
    let h = harness_with(config(), |b| b.mode("custom", std::sync::Arc::new(EvenSecondsOnly))).await;
    h.executor("e1").await;
    let task = h
        .task(NewTask::new("t", "*/1 * * * * *").execution_mode(ModeName::new("custom")))
        .await;
    h.run_until(t0() + secs(2) + ms(500)).await;
    assert_eq!(h.executions(&task.id).await.len(), 2);
    assert!(h.scheduler.mode_names().contains(&"custom".to_owned()));
}
