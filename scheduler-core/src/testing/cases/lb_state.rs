//! Load-balancer state: a versioned compare-and-set per task and strategy.

use super::*;

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
