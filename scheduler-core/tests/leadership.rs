//! Only the leader fires; two engines on one store never fire an instant twice.

mod common;
use common::*;
use scheduler_core::*;
use std::sync::Arc;

#[tokio::test(start_paused = true)]
async fn two_engines_one_store_only_the_leader_fires_and_failover_loses_nothing() {
    let store = Arc::new(MemoryStore::new());
    let lock = LocalLock::new();
    let cfg = config();
    let l1 = lock.contender(std::time::Duration::from_millis(500));
    let l2 = lock.contender(std::time::Duration::from_millis(500));
    let a = harness_on(store.clone(), cfg.clone(), |b| {
        b.instance_id("a").leadership(l1.clone())
    })
    .await;
    let b = harness_on(store.clone(), cfg, |b| b.instance_id("b").leadership(l2.clone())).await;
    assert_eq!(lock.holder().as_deref(), Some("a"));
    assert!(a.scheduler.is_leader() && !b.scheduler.is_leader());
    a.executor("e1").await;
    // Created through the follower: the leader picks it up from the store.
    let task = b.task(NewTask::new("t", "*/1 * * * * *")).await;
    a.run_until(t0() + secs(5) + ms(200)).await;
    assert!(b.dispatcher.calls().is_empty(), "the follower never dispatches");
    let by_a = a.dispatcher.calls().len();
    assert!(by_a >= 3, "leader fired {by_a}");

    // The leader's lock connection dies for good (its lock is freed, it
    // stops campaigning): b takes over within a heartbeat.
    l1.release().await;
    assert!(!a.scheduler.is_leader(), "the old leader stops at once");
    a.run_until(t0() + secs(20) + ms(200)).await;
    assert_eq!(lock.holder().as_deref(), Some("b"));
    assert!(!a.scheduler.is_leader() && b.scheduler.is_leader());
    assert!(!b.dispatcher.calls().is_empty(), "the new leader fires");

    // Every instant from the first fire to now was executed exactly once.
    let ex = a.executions(&task.id).await;
    let instants: Vec<_> = ex.iter().map(|e| e.scheduled_time).collect();
    let first = instants[0];
    let want: Vec<_> = (0..instants.len() as i64).map(|i| first + secs(i)).collect();
    assert_eq!(instants, want, "no instant lost or doubled across the failover");
    let mut sent: Vec<_> = a
        .dispatcher
        .calls()
        .into_iter()
        .chain(b.dispatcher.calls())
        .map(|c| c.execution_id)
        .collect();
    let n = sent.len();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), n, "no execution sent twice");
    assert!(ex.iter().all(|e| e.status == ExecutionStatus::Success));

    let status = b.scheduler.system_status().await.unwrap();
    assert!(status.leader);
    let ids: Vec<_> = status.instances.iter().map(|i| i.instance_id.as_str()).collect();
    assert_eq!(ids, vec!["a", "b"]);
    assert!(status.instances.iter().any(|i| i.instance_id == "b" && i.is_leader));
}

#[tokio::test(start_paused = true)]
async fn two_leaders_at_once_still_fire_each_instant_once() {
    // Both think they lead (e.g. a lock that was briefly held twice): the
    // store's (task, scheduled_time) refusal keeps every fire single.
    let store = Arc::new(MemoryStore::new());
    let a = harness_on(store.clone(), config(), |b| b.instance_id("a")).await;
    let b = harness_on(store.clone(), config(), |b| b.instance_id("b")).await;
    a.executor("e1").await;
    let task = a.task(NewTask::new("t", "*/1 * * * * *")).await;
    a.run_until(t0() + secs(10) + ms(200)).await;
    let ex = a.executions(&task.id).await;
    let instants: Vec<_> = ex.iter().map(|e| e.scheduled_time).collect();
    assert_eq!(instants, (1..=10).map(|i| t0() + secs(i)).collect::<Vec<_>>());
    assert_eq!(a.dispatcher.calls().len() + b.dispatcher.calls().len(), 10);
}

#[tokio::test(start_paused = true)]
async fn clean_shutdown_hands_leadership_over() {
    let store = Arc::new(MemoryStore::new());
    let lock = LocalLock::new();
    let l1 = lock.contender(std::time::Duration::from_millis(500));
    let l2 = lock.contender(std::time::Duration::from_millis(500));
    let a = harness_on(store.clone(), config(), |b| b.instance_id("a").leadership(l1)).await;
    let b = harness_on(store.clone(), config(), |b| b.instance_id("b").leadership(l2)).await;
    a.scheduler.shutdown().await;
    b.run_until(t0() + secs(1)).await;
    assert!(b.scheduler.is_leader());
    assert_eq!(lock.holder().as_deref(), Some("b"));
}
