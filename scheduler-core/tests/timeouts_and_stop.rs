//! Timeouts, stop, callbacks, and late results that must not resurrect anything.

mod common;
use common::*;
use scheduler_core::*;

fn report(status: ExecutionStatus) -> ExecutionReport {
    ExecutionReport {
        status,
        result: Some(serde_json::json!({"n": 1})),
        logs: Some("from executor".into()),
        end_time: None,
    }
}

#[tokio::test(start_paused = true)]
async fn running_past_its_timeout_times_out_and_is_stopped() {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h
        .task(
            NewTask::new("t", "0 0 0 1 1 *")
                .timeout_seconds(5)
                .max_retry(0)
                .paused(),
        )
        .await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + ms(10)).await;
    let running = h.execution(&exec.id).await;
    assert_eq!(running.status, ExecutionStatus::Running);
    assert_eq!(running.start_time, Some(t0()));
    h.run_until(t0() + secs(4)).await;
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Running);
    h.run_until(t0() + secs(7)).await;
    let done = h.execution(&exec.id).await;
    assert_eq!(done.status, ExecutionStatus::Timeout);
    let end = done.end_time.unwrap();
    assert!(end >= t0() + secs(5) && end <= t0() + secs(6), "timed out at {end}");
    assert!(done.logs.unwrap().contains("timed out after 5 s"));
    assert_eq!(h.dispatcher.stops(), vec![(e.id.clone(), exec.id.clone())]);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_with_retries_left_is_retried() {
    let h = harness().await;
    let es = h.executors(&["a", "b"]).await;
    h.dispatcher.set(&es[0].id, Behavior::Accept);
    let task = h
        .task(
            NewTask::new("t", "0 0 0 1 1 *")
                .timeout_seconds(2)
                .max_retry(1)
                .paused(),
        )
        .await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + secs(10)).await;
    let done = h.execution(&exec.id).await;
    assert_eq!(done.status, ExecutionStatus::Success);
    assert_eq!(done.retry_count, 1);
    assert_eq!(done.executor_id, Some(es[1].id.clone()));
    assert_eq!(h.dispatcher.stops().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn callbacks_report_progress_then_success() {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + secs(1)).await;
    let token = h.dispatcher.calls()[0].token.clone();
    let progress = ExecutionReport {
        logs: Some("halfway".into()),
        ..report(ExecutionStatus::Running)
    };
    let e1 = h.scheduler.report(&exec.id, &token, progress).await.unwrap();
    assert_eq!(e1.status, ExecutionStatus::Running);
    h.run_until(t0() + secs(3)).await;
    let e2 = h
        .scheduler
        .report(&exec.id, &token, report(ExecutionStatus::Success))
        .await
        .unwrap();
    assert_eq!(e2.status, ExecutionStatus::Success);
    assert_eq!(e2.start_time, Some(t0()));
    assert_eq!(e2.end_time, Some(t0() + secs(3)));
    assert_eq!(e2.result, Some(serde_json::json!({"n": 1})));
    assert!(e2.logs.as_deref().unwrap().contains("halfway\nfrom executor"));
    // A second final report is a conflict and changes nothing.
    let err = h
        .scheduler
        .report(&exec.id, &token, report(ExecutionStatus::Failed))
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Store(StoreError::Conflict(_))), "{err:?}");
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Success);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_token_is_refused() {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + secs(1)).await;
    for bad in ["", "nope", "00000000000000000000000000000000"] {
        let err = h
            .scheduler
            .report(&exec.id, bad, report(ExecutionStatus::Success))
            .await
            .unwrap_err();
        assert!(matches!(err, SchedulerError::Unauthorized(_)), "{err:?}");
    }
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Running);
}

#[tokio::test(start_paused = true)]
async fn an_executor_reported_failure_is_retried() {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").max_retry(1).paused()).await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + ms(10)).await;
    let token = h.dispatcher.calls()[0].token.clone();
    let after = h
        .scheduler
        .report(&exec.id, &token, report(ExecutionStatus::Failed))
        .await
        .unwrap();
    assert_eq!((after.status, after.retry_count), (ExecutionStatus::Pending, 1));
    h.run_until(t0() + secs(2)).await;
    assert_eq!(h.dispatcher.calls().len(), 2);
    assert_ne!(h.dispatcher.calls()[1].token, token, "each attempt has its own token");
    // The first attempt's token no longer reports on this execution.
    let err = h
        .scheduler
        .report(&exec.id, &token, report(ExecutionStatus::Success))
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Unauthorized(_)));
}

#[tokio::test(start_paused = true)]
async fn stop_a_pending_execution() {
    let h = harness().await;
    // No executor: the execution waits for its retry.
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + ms(10)).await;
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Pending);
    let stopped = h.scheduler.stop_execution(&exec.id).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Cancelled);
    assert_eq!(stopped.end_time, Some(t0() + ms(10)));
    // The pending retry never dispatches it, even once an executor shows up.
    h.executor("late").await;
    h.run_until(t0() + secs(30)).await;
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Cancelled);
    assert!(h.dispatcher.calls().is_empty());
    // Stopping it again is a conflict.
    let err = h.scheduler.stop_execution(&exec.id).await.unwrap_err();
    assert!(matches!(err, SchedulerError::Store(StoreError::Conflict(_))));
}

/// A `parallel` fire is claimed with its attempt recorded `fire_ahead`
/// (500 ms) before its instant; stopped in that window, it is never sent.
#[tokio::test(start_paused = true)]
async fn stop_a_fire_prepared_for_its_instant() {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h.task(NewTask::new("t", "10 * * * * *").max_retry(0)).await;
    h.run_until(t0() + ms(9_800)).await;
    let prepared = h.executions(&task.id).await;
    assert_eq!(prepared.len(), 1, "claimed ahead of its instant");
    assert_eq!(prepared[0].status, ExecutionStatus::Pending);
    let stopped = h.scheduler.stop_execution(&prepared[0].id).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Cancelled);
    h.run_until(t0() + secs(12)).await;
    assert!(h.dispatcher.calls().is_empty(), "sent after it was stopped");
    assert_eq!(h.execution(&prepared[0].id).await.status, ExecutionStatus::Cancelled);
}

#[tokio::test(start_paused = true)]
async fn stop_a_running_execution_and_ignore_its_late_result() {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + secs(1)).await;
    let token = h.dispatcher.calls()[0].token.clone();
    let stopped = h.scheduler.stop_execution(&exec.id).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Cancelled);
    h.run_until(t0() + secs(2)).await;
    assert_eq!(h.dispatcher.stops(), vec![(e.id.clone(), exec.id.clone())]);
    let err = h
        .scheduler
        .report(&exec.id, &token, report(ExecutionStatus::Success))
        .await
        .unwrap_err();
    assert!(matches!(err, SchedulerError::Store(StoreError::Conflict(_))));
    h.run_until(t0() + secs(400)).await;
    let e = h.execution(&exec.id).await;
    assert_eq!(
        e.status,
        ExecutionStatus::Cancelled,
        "no timeout, no retry after cancel"
    );
    assert_eq!(h.dispatcher.calls().len(), 1);
}

/// A dispatcher whose executor answers "accepted" only after a delay.
struct SlowAccept(std::sync::Arc<FakeDispatcher>);

#[async_trait::async_trait]
impl Dispatcher for SlowAccept {
    async fn dispatch(&self, executor: &Executor, request: DispatchRequest) -> DispatchOutcome {
        let o = self.0.dispatch(executor, request).await;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        o
    }
    async fn stop(&self, executor: &Executor, id: &ExecutionId) {
        self.0.stop(executor, id).await
    }
}

#[tokio::test(start_paused = true)]
async fn a_late_accept_never_resurrects_a_cancelled_execution() {
    let fake = std::sync::Arc::new(FakeDispatcher::default());
    fake.set_default(Behavior::Accept);
    let f2 = fake.clone();
    let h = harness_with(config(), move |b| b.dispatcher(std::sync::Arc::new(SlowAccept(f2)))).await;
    let e = h.executor("e1").await;
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + secs(1)).await;
    let stopped = h.scheduler.stop_execution(&exec.id).await.unwrap();
    assert_eq!(stopped.status, ExecutionStatus::Cancelled);
    h.run_until(t0() + secs(5)).await;
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Cancelled);
    // It was asked to stop (at stop time, and again when the late accept came in).
    assert!(fake.stops().iter().all(|(x, id)| *x == e.id && *id == exec.id));
    assert!(!fake.stops().is_empty());
}
