//! Claiming a fire: one execution per `(task, scheduled_time)`, manual runs
//! exempt, `next_run_time` set with the claim, exclusive under concurrency.

use super::*;

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
