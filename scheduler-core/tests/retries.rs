//! Retries with backoff, another executor for the next attempt, no candidate.

mod common;
use common::*;
use scheduler_core::*;

async fn manual(h: &Harness, task: &Task) -> Execution {
    h.scheduler.trigger(&task.id, None).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn retries_back_off_doubling_then_fail() {
    let h = harness().await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Fail);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").max_retry(3).paused()).await;
    let exec = manual(&h, &task).await;
    h.run_until(t0() + secs(30)).await;
    let calls = h.dispatcher.calls();
    let at: Vec<_> = calls.iter().map(|c| (c.retry_count, c.at - t0())).collect();
    // attempt 0 at once, then 1 s, 2 s, 4 s later.
    assert_eq!(at, vec![(0, secs(0)), (1, secs(1)), (2, secs(3)), (3, secs(7))]);
    let done = h.execution(&exec.id).await;
    assert_eq!(done.status, ExecutionStatus::Failed);
    assert_eq!(done.retry_count, 3);
    assert_eq!(done.end_time, Some(t0() + secs(7)));
    let logs = done.logs.unwrap();
    assert_eq!(logs.matches("failed on executor").count(), 4, "{logs}");
    assert!(logs.contains("retry 1 in 1s"), "{logs}");
}

#[tokio::test(start_paused = true)]
async fn backoff_is_configurable_and_capped() {
    let mut cfg = config();
    cfg.retry_backoff = std::time::Duration::from_secs(10);
    cfg.retry_backoff_max = std::time::Duration::from_secs(15);
    assert_eq!(cfg.backoff(0), std::time::Duration::from_secs(10));
    assert_eq!(cfg.backoff(1), std::time::Duration::from_secs(15));
    assert_eq!(cfg.backoff(40), std::time::Duration::from_secs(15));
    assert_eq!(
        SchedulerConfig::default().backoff(6),
        std::time::Duration::from_secs(60)
    );
    let h = harness_with(cfg, |b| b).await;
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Refuse);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").max_retry(2).paused()).await;
    manual(&h, &task).await;
    h.run_until(t0() + secs(60)).await;
    let at: Vec<_> = h.dispatcher.calls().iter().map(|c| c.at - t0()).collect();
    assert_eq!(at, vec![secs(0), secs(10), secs(25)]);
}

#[tokio::test(start_paused = true)]
async fn a_refused_attempt_goes_to_another_executor() {
    let h = harness().await;
    let es = h.executors(&["a", "b"]).await;
    h.dispatcher.set(&es[0].id, Behavior::Refuse);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let exec = manual(&h, &task).await;
    h.run_until(t0() + secs(2)).await;
    let calls = h.dispatcher.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].executor_id, es[0].id);
    assert_eq!(
        calls[1].executor_id, es[1].id,
        "the retry avoids the executor that refused"
    );
    let done = h.execution(&exec.id).await;
    assert_eq!(done.status, ExecutionStatus::Success);
    assert_eq!(done.retry_count, 1);
    assert_eq!(done.executor_id, Some(es[1].id.clone()));
    assert!(done.logs.unwrap().contains("HTTP 503"));
}

#[tokio::test(start_paused = true)]
async fn no_attempt_is_sent_twice() {
    let h = harness().await;
    let es = h.executors(&["a", "b", "c"]).await;
    for e in &es {
        h.dispatcher.set(&e.id, Behavior::Refuse);
    }
    let task = h.task(NewTask::new("t", "*/1 * * * * *").max_retry(5)).await;
    h.run_until(t0() + secs(90)).await;
    let mut seen = std::collections::HashSet::new();
    for c in h.dispatcher.calls() {
        assert!(
            seen.insert((c.execution_id.clone(), c.retry_count)),
            "sent twice: {c:?}"
        );
    }
    assert!(seen.len() > 100);
    let _ = task;
}

#[tokio::test(start_paused = true)]
async fn no_candidate_fails_with_a_log_line_and_retries() {
    let h = harness().await;
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").max_retry(1).paused()).await;
    let exec = manual(&h, &task).await;
    h.run_until(t0() + ms(500)).await;
    let pending = h.execution(&exec.id).await;
    assert_eq!((pending.status, pending.retry_count), (ExecutionStatus::Pending, 1));
    assert!(pending.logs.as_deref().unwrap().contains("no candidate executor"));
    h.run_until(t0() + secs(5)).await;
    let failed = h.execution(&exec.id).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert_eq!(failed.logs.unwrap().matches("no candidate executor").count(), 2);
    assert!(h.dispatcher.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn offline_and_unhealthy_executors_are_not_candidates() {
    let h = harness().await;
    // b's health URL fails from the start; the probe runs at registration.
    h.probe.set("http://b.test", false);
    let es = h.executors(&["a", "b"]).await;
    h.scheduler
        .set_executor_status(&es[0].id, ExecutorStatus::Offline, None)
        .await
        .unwrap();
    for _ in 0..2 {
        h.store
            .record_health(&es[1].id, false, t0(), HealthThresholds::default())
            .await
            .unwrap();
    }
    h.run_until(t0() + ms(5)).await;
    assert!(!h.store.get_executor(&es[1].id).await.unwrap().is_healthy);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").max_retry(0).paused()).await;
    let exec = manual(&h, &task).await;
    h.run_until(t0() + ms(10)).await;
    let e = h.execution(&exec.id).await;
    assert_eq!(e.status, ExecutionStatus::Failed);
    assert!(h.dispatcher.calls().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_dispatch_that_never_answers_fails_after_dispatch_timeout() {
    let h = harness().await;
    let es = h.executors(&["a", "b"]).await;
    h.dispatcher.set(&es[0].id, Behavior::Hang);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").paused()).await;
    let exec = manual(&h, &task).await;
    h.run_until(t0() + secs(12)).await;
    let e = h.execution(&exec.id).await;
    assert_eq!(e.status, ExecutionStatus::Success);
    assert_eq!(e.retry_count, 1);
    assert!(e.logs.unwrap().contains("dispatch_timeout"));
    let calls = h.dispatcher.calls();
    assert_eq!(calls[1].at - t0(), secs(11), "10 s dispatch timeout + 1 s backoff");
}
