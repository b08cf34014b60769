//! A store slower than the fire rate: fires are late, never silently lost,
//! the engine keeps going, and what it could not fire in time is decided by
//! each task's misfire policy.

mod common;
use common::*;
use scheduler_core::testing::SlowStore;
use scheduler_core::*;
use std::sync::Arc;

/// 20 every-second tasks on a store that needs 3 s per claim call, with at
/// most 10 fires in flight: about 3 fires/s of capacity for 20 due, six
/// times over. Every due instant of a `fire_once` task is fired or collapsed
/// into a later fire that says so; a `skip` task's fires all start within
/// the misfire threshold (plus one slow claim) of their instant; every
/// execution ends.
#[tokio::test(start_paused = true)]
async fn a_store_slower_than_the_fire_rate_loses_no_instant_silently() {
    let store = Arc::new(MemoryStore::new());
    let slow: Arc<dyn Store> = Arc::new(SlowStore::new(store.clone(), std::time::Duration::from_secs(3)));
    let cfg = SchedulerConfig {
        max_pending_fires: 10,
        ..config()
    };
    let h = harness_through(store, slow, cfg, |b| b).await;
    h.executor("e1").await;
    let mut fire_once = Vec::new();
    let mut skip = Vec::new();
    for i in 0..10 {
        fire_once.push(h.task(NewTask::new(format!("once-{i}"), "* * * * * *")).await);
        skip.push(
            h.task(NewTask::new(format!("skip-{i}"), "* * * * * *").misfire_policy(MisfirePolicy::Skip))
                .await,
        );
    }
    let end = t0() + secs(60);
    let mut most = 0;
    for s in 1..=60 {
        h.run_until(t0() + secs(s)).await;
        most = most.max(h.scheduler.fire_backlog());
    }
    assert!(most > 0 && most <= 10, "fires in flight stay within the bound: {most}");
    // Let the fires in flight finish, with nothing new due meanwhile.
    for t in fire_once.iter().chain(&skip) {
        h.scheduler.pause_task(&t.id).await.unwrap();
    }
    h.run_until(end + secs(30)).await;

    let mut total = 0;
    for t in &fire_once {
        let ex = h.executions(&t.id).await;
        assert!(!ex.is_empty(), "task {} never fired", t.name);
        total += ex.len();
        // Instants t0+1 s ... up to the last fire: each fired, or collapsed
        // into the next fire, which is a misfire and says so.
        let mut expected = t0() + secs(1);
        for e in &ex {
            assert!(e.scheduled_time >= expected, "fired twice or out of order: {e:?}");
            if e.scheduled_time > expected {
                assert!(
                    e.logs.as_deref().unwrap_or("").contains("misfire"),
                    "instants {expected}..{} of {} vanished without a misfire: {e:?}",
                    e.scheduled_time,
                    t.name
                );
            }
            expected = e.scheduled_time + secs(1);
        }
    }
    assert!(
        total < 10 * 60,
        "the store was meant to be too slow, yet {total} fires went"
    );
    let threshold = config().misfire_threshold;
    for t in &skip {
        for e in h.executions(&t.id).await {
            assert!(
                !e.logs.as_deref().unwrap_or("").contains("misfire"),
                "skip never fires a missed instant: {e:?}"
            );
            if e.status == ExecutionStatus::Cancelled {
                continue; // claimed, then the task was paused before it started
            }
            let Some(started) = e.start_time else {
                panic!("no start time: {e:?}")
            };
            let late = (started - e.scheduled_time).to_std().unwrap();
            assert!(
                late <= threshold + std::time::Duration::from_secs(4),
                "a skip task's fire started {late:?} late: {e:?}"
            );
        }
    }
    // Every execution ended: run, or (claimed, and not started when the
    // tasks were paused) cancelled, saying why.
    for t in fire_once.iter().chain(&skip) {
        for e in h.executions(&t.id).await {
            match e.status {
                ExecutionStatus::Success => {}
                ExecutionStatus::Cancelled => {
                    assert!(e.logs.as_deref().unwrap_or("").contains("paused"), "{e:?}");
                    assert!(
                        e.end_time.is_some_and(|t| t >= end),
                        "cancelled before the pause: {e:?}"
                    );
                }
                other => panic!("execution in {other:?}: {e:?}"),
            }
        }
    }
}
