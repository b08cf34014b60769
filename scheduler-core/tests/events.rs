//! Scheduler events: each kind emitted where its transition happens, exactly
//! once, and a slow subscriber told how many it lost.

mod common;
use common::*;
use scheduler_core::*;
use std::sync::Arc;
use tokio::sync::broadcast::{Receiver, error::TryRecvError};

/// Every event received so far but `leader_changed` (each harness starts as
/// the leader).
fn drain(rx: &mut Receiver<SchedulerEvent>) -> Vec<SchedulerEvent> {
    drain_all(rx)
        .into_iter()
        .filter(|e| e.kind != EventKind::LeaderChanged)
        .collect()
}

/// Every event received so far.
fn drain_all(rx: &mut Receiver<SchedulerEvent>) -> Vec<SchedulerEvent> {
    let mut v = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(e) => v.push(e),
            Err(TryRecvError::Empty) | Err(TryRecvError::Closed) => return v,
            Err(TryRecvError::Lagged(n)) => panic!("lagged by {n}"),
        }
    }
}

fn kinds(v: &[SchedulerEvent]) -> Vec<EventKind> {
    v.iter().map(|e| e.kind).collect()
}

#[tokio::test(start_paused = true)]
async fn a_failure_with_retries_exhausted_is_one_event_at_the_end() {
    let h = harness().await;
    let mut rx = h.scheduler.subscribe();
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Fail);
    let task = h
        .task(NewTask::new("nightly", "0 0 0 1 1 *").max_retry(2).paused())
        .await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + secs(2)).await;
    assert!(drain(&mut rx).is_empty(), "no event while retries are left");
    h.run_until(t0() + secs(10)).await;
    let events = drain(&mut rx);
    assert_eq!(kinds(&events), vec![EventKind::ExecutionFailed]);
    let ev = &events[0];
    // Attempts at 0, 1 s and 3 s: the last one ends it.
    assert_eq!(ev.at, t0() + secs(3));
    assert_eq!(ev.subject.task_id.as_ref(), Some(&task.id));
    assert_eq!(ev.subject.task_name.as_deref(), Some("nightly"));
    assert_eq!(ev.subject.execution_id.as_ref(), Some(&exec.id));
    assert_eq!(ev.subject.executor_id.as_ref(), Some(&e.id));
    assert!(ev.message.contains("ended failed after 3 attempt(s)"), "{}", ev.message);
    assert_eq!(ev.key(), format!("execution_failed:task:{}", task.id));
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Failed);
}

#[tokio::test(start_paused = true)]
async fn a_final_timeout_is_an_event() {
    let h = harness().await;
    let mut rx = h.scheduler.subscribe();
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Accept);
    let task = h
        .task(
            NewTask::new("slow", "0 0 0 1 1 *")
                .timeout_seconds(5)
                .max_retry(0)
                .paused(),
        )
        .await;
    let exec = h.scheduler.trigger(&task.id, None).await.unwrap();
    h.run_until(t0() + secs(7)).await;
    let events = drain(&mut rx);
    assert_eq!(kinds(&events), vec![EventKind::ExecutionTimeout]);
    assert_eq!(events[0].subject.execution_id.as_ref(), Some(&exec.id));
    assert_eq!(h.execution(&exec.id).await.status, ExecutionStatus::Timeout);
}

#[tokio::test(start_paused = true)]
async fn an_executor_going_unhealthy_and_recovering_is_two_events() {
    let mut cfg = config();
    cfg.health_check_interval = std::time::Duration::from_secs(10);
    let h = harness_with(cfg, |b| b).await;
    let mut rx = h.scheduler.subscribe();
    h.run_until(t0() + secs(1)).await;
    let e = h.executor("e1").await;
    // Healthy at its registration probe (1 s); failing from then on.
    h.run_until(t0() + secs(2)).await;
    h.probe.set("http://e1.test", false);
    // Failures at 10, 20, 30 s: unhealthy at the third.
    h.run_until(t0() + secs(25)).await;
    assert!(drain(&mut rx).is_empty(), "two failures change nothing");
    h.run_until(t0() + secs(35)).await;
    let down = drain(&mut rx);
    assert_eq!(kinds(&down), vec![EventKind::ExecutorUnhealthy]);
    assert_eq!(down[0].at, t0() + secs(30));
    assert_eq!(down[0].subject.executor_id.as_ref(), Some(&e.id));
    assert_eq!(down[0].subject.instance_id.as_deref(), Some("e1"));
    assert!(down[0].message.contains("HTTP 500"), "{}", down[0].message);
    h.probe.set("http://e1.test", true);
    // Successes at 40 and 50 s: healthy at the second.
    h.run_until(t0() + secs(45)).await;
    assert!(drain(&mut rx).is_empty());
    h.run_until(t0() + secs(55)).await;
    let up = drain(&mut rx);
    assert_eq!(kinds(&up), vec![EventKind::ExecutorRecovered]);
    assert_eq!(up[0].at, t0() + secs(50));
    h.run_until(t0() + secs(95)).await;
    assert!(drain(&mut rx).is_empty(), "a steady state is silent");
}

#[tokio::test(start_paused = true)]
async fn leadership_gained_and_lost_are_events_on_each_instance() {
    let store = Arc::new(MemoryStore::new());
    let lock = LocalLock::new();
    let l1 = lock.contender(std::time::Duration::from_millis(500));
    let l2 = lock.contender(std::time::Duration::from_millis(500));
    let a = harness_on(store.clone(), config(), |b| b.instance_id("a").leadership(l1.clone())).await;
    let b = harness_on(store.clone(), config(), |b| b.instance_id("b").leadership(l2.clone())).await;
    let mut rx_a = a.scheduler.subscribe();
    let mut rx_b = b.scheduler.subscribe();
    a.run_until(t0() + secs(1)).await;
    l1.release().await;
    a.run_until(t0() + secs(5)).await;
    assert_eq!(lock.holder().as_deref(), Some("b"));
    // a led from its start, then lost it.
    let a_events = drain_all(&mut rx_a);
    assert_eq!(kinds(&a_events), vec![EventKind::LeaderChanged; 2]);
    assert!(
        a_events[0].message.contains("became the leader"),
        "{}",
        a_events[0].message
    );
    let lost = &a_events[1];
    assert_eq!(lost.subject.instance_id.as_deref(), Some("a"));
    assert!(lost.message.contains("no longer the leader"), "{}", lost.message);
    assert_eq!(lost.at, t0() + secs(1));
    let gained = drain_all(&mut rx_b);
    assert_eq!(kinds(&gained), vec![EventKind::LeaderChanged]);
    assert_eq!(gained[0].subject.instance_id.as_deref(), Some("b"));
    assert!(gained[0].message.contains("became the leader"), "{}", gained[0].message);
    assert_eq!(gained[0].key(), "leader_changed");
}

#[tokio::test(start_paused = true)]
async fn an_instance_that_starts_as_leader_says_so() {
    let store = Arc::new(MemoryStore::new());
    let s = Scheduler::builder()
        .store(store)
        .clock(Arc::new(ManualClock::new(t0())))
        .instance_id("solo")
        .build();
    let mut rx = s.subscribe();
    s.start().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let events = drain_all(&mut rx);
    assert_eq!(kinds(&events), vec![EventKind::LeaderChanged]);
    assert_eq!(events[0].subject.instance_id.as_deref(), Some("solo"));
    s.shutdown().await;
}

/// A task of a previous run whose next fire was `next`.
async fn stored_task(
    store: &MemoryStore,
    name: &str,
    policy: MisfirePolicy,
    next: chrono::DateTime<chrono::Utc>,
) -> Task {
    let (mut task, _) = NewTask::new(name, "*/10 * * * * *")
        .misfire_policy(policy)
        .validate(TaskId::generate(), t0() - secs(3600))
        .unwrap();
    task.next_run_time = Some(next);
    store.create_task(&task, &[]).await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn misfires_after_downtime_are_events_for_both_policies() {
    let store = Arc::new(MemoryStore::new());
    // Down since before 23:59:20; back at 00:00:00 (40 s late): missed
    // 23:59:20, :30, :40, :50 and 00:00:00 is the latest missed instant.
    let once = stored_task(&store, "once", MisfirePolicy::FireOnce, t0() - secs(40)).await;
    let skip = stored_task(&store, "skip", MisfirePolicy::Skip, t0() - secs(40)).await;
    // Subscribe before the engine starts, through a scheduler on the same
    // store that is not started yet.
    let clock = ManualClock::new(t0());
    let s = Scheduler::builder()
        .store(store.clone())
        .clock(Arc::new(clock.clone()))
        .config(config())
        .build();
    let mut rx = s.subscribe();
    s.start().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(25)).await;
    // (Their fires then fail, with no handler: not what this test is about.)
    let events: Vec<_> = drain(&mut rx)
        .into_iter()
        .filter(|e| e.kind == EventKind::Misfire)
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    let of = |t: &Task| {
        events
            .iter()
            .find(|e| e.subject.task_id.as_ref() == Some(&t.id))
            .unwrap()
    };
    let fired = of(&once);
    assert_eq!(fired.at, t0());
    assert_eq!(fired.subject.task_name.as_deref(), Some("once"));
    assert!(
        fired
            .message
            .contains("from 2025-12-31T23:59:20.000Z to 2026-01-01T00:00:00.000Z")
            && fired.message.contains("fired once now for"),
        "{}",
        fired.message
    );
    let skipped = of(&skip);
    assert!(skipped.message.contains("skipped"), "{}", skipped.message);
    assert_eq!(skipped.key(), format!("misfire:task:{}", skip.id));
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_is_told_how_many_it_lost_and_slows_nothing() {
    let mut cfg = config();
    cfg.event_capacity = 2;
    let h = harness_with(cfg, |b| b).await;
    let mut slow = h.scheduler.subscribe();
    let e = h.executor("e1").await;
    h.dispatcher.set(&e.id, Behavior::Fail);
    let task = h.task(NewTask::new("t", "0 0 0 1 1 *").max_retry(0).paused()).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(h.scheduler.trigger(&task.id, None).await.unwrap().id);
    }
    h.run_until(t0() + secs(1)).await;
    for id in &ids {
        assert_eq!(
            h.execution(id).await.status,
            ExecutionStatus::Failed,
            "the engine went on"
        );
    }
    // Six events (leader_changed at start, five failures) through a buffer of
    // two: the four oldest are lost to it, and it is told so.
    let first = slow.try_recv();
    assert!(matches!(first, Err(TryRecvError::Lagged(4))), "{first:?}");
    let rest = drain(&mut slow);
    assert_eq!(kinds(&rest), vec![EventKind::ExecutionFailed; 2]);
    assert_eq!(rest[1].subject.execution_id.as_ref(), ids.last());
}
