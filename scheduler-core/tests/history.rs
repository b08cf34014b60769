//! History retention in the engine: the leader purges final executions past
//! `history.retention` and beyond `history.max_executions` every
//! `purge_interval`, never an unfinished one, and the statistics do not
//! change when the executions they count are deleted.

mod common;
use common::*;
use scheduler_core::*;
use std::time::Duration;

fn history(retention: Option<u64>, cap: ExecutionCap) -> SchedulerConfig {
    SchedulerConfig {
        history: HistoryConfig {
            retention: retention.map(Duration::from_secs),
            purge_interval: Duration::from_secs(10),
            max_executions: cap,
            ..HistoryConfig::default()
        },
        ..config()
    }
}

/// An every-second task for 3 minutes with a 60 s retention: after the run
/// only the executions of the last 60 s (plus at most one purge interval)
/// are left, the one left running is kept however old, and the statistics
/// still count every execution that ended.
#[tokio::test(start_paused = true)]
async fn the_leader_purges_final_executions_past_the_retention() {
    let h = harness_with(history(Some(60), ExecutionCap::StoreDefault), |b| b).await;
    let slow = h.executor("slow").await;
    h.dispatcher.set(&slow.id, Behavior::Accept);
    let fast = h.executor("fast").await;
    let assign = |x: &Executor| {
        vec![TaskExecutorInput {
            executor_id: x.id.clone(),
            weight: None,
            priority: None,
        }]
    };
    let long = h.task(NewTask::new("long", "0 0 0 1 1 *").timeout_seconds(3600)).await;
    h.scheduler
        .set_task_executors(&long.id, assign(&slow))
        .await
        .expect("assign");
    let t = h.task(NewTask::new("every-second", "* * * * * *")).await;
    h.scheduler
        .set_task_executors(&t.id, assign(&fast))
        .await
        .expect("assign");
    let running = h.scheduler.trigger(&long.id, None).await.expect("trigger");
    let stats_at = |h: &Harness| {
        let s = h.scheduler.clone();
        let id = t.id.clone();
        async move { s.task_stats(&id).await.expect("stats") }
    };

    h.run_until(t0() + secs(50)).await;
    assert_eq!(h.executions(&t.id).await.len(), 50, "nothing is old enough yet");
    h.run_until(t0() + secs(180)).await;
    let left = h.executions(&t.id).await;
    let oldest = left.first().expect("some left").scheduled_time;
    assert!(
        oldest >= t0() + secs(180 - 60 - 10),
        "oldest kept {oldest}, retention 60 s, purge every 10 s"
    );
    assert!(left.len() <= 71, "{} kept", left.len());
    assert!(left.iter().all(|e| e.status.is_final()));
    let kept = h.execution(&running.id).await;
    assert_eq!(
        kept.status,
        ExecutionStatus::Running,
        "an unfinished execution is never purged"
    );
    let stats = stats_at(&h).await;
    assert_eq!(stats.last_24h.total, 180, "statistics count the purged executions too");
    assert_eq!(stats.last_24h.success, 180);

    // A purge pass of what is left does not change the statistics.
    let before = stats_at(&h).await;
    h.scheduler.purge_history().await.expect("purge");
    assert_eq!(stats_at(&h).await, before);
}

/// `max_executions` keeps the newest final executions.
#[tokio::test(start_paused = true)]
async fn max_executions_keeps_the_newest() {
    let h = harness_with(history(None, ExecutionCap::AtMost(25)), |b| b).await;
    h.executor("fast").await;
    let t = h.task(NewTask::new("every-second", "* * * * * *")).await;
    h.run_until(t0() + secs(120)).await;
    let left = h.executions(&t.id).await;
    assert!(
        (25..=36).contains(&left.len()),
        "{} kept with a cap of 25 and a purge every 10 s",
        left.len()
    );
    assert_eq!(left.last().expect("some").scheduled_time, t0() + secs(120));
    let report = h.scheduler.purge_history().await.expect("purge");
    assert_eq!(report.excess as usize, left.len() - 25);
    assert_eq!(h.executions(&t.id).await.len(), 25);
}

/// Without retention and without a cap nothing is deleted.
#[tokio::test(start_paused = true)]
async fn no_retention_keeps_everything() {
    let h = harness_with(history(None, ExecutionCap::Unlimited), |b| b).await;
    h.executor("fast").await;
    let t = h.task(NewTask::new("every-second", "* * * * * *")).await;
    h.run_until(t0() + secs(90)).await;
    assert_eq!(h.executions(&t.id).await.len(), 90);
    assert_eq!(
        h.scheduler.purge_history().await.expect("purge"),
        PurgeReport::default()
    );
}
