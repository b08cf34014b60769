//! What dispatch reads: the candidate executors of a task and the running
//! executions per executor.

use super::*;

/// With assignments, the candidates are the assigned executors that are online
/// and healthy, by executor id, with their weight and priority; none left
/// means no candidate (not every executor).
pub async fn dispatch_candidates_use_assignments_when_present(store: Arc<dyn Store>) {
    let mut e = Vec::new();
    for i in 0..6i64 {
        e.push(register_new(&*store, "svc", &format!("e{i}"), at(i)).await);
    }
    store
        .set_executor_status(&e[0].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    store
        .set_executor_status(&e[4].id, ExecutorStatus::Maintenance, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[2].id, at(11)).await;

    let t = task("assigned", at(20));
    store
        .create_task(
            &t,
            &[
                assignment(&e[3].id, 5, 1),
                assignment(&e[0].id, 1, 0),
                assignment(&e[1].id, 2, 0),
                assignment(&e[2].id, 1, 0),
                assignment(&e[4].id, 1, 0),
            ],
        )
        .await
        .expect("create_task");
    let got = store.dispatch_candidates(&t.id).await.expect("dispatch_candidates");
    let mut want = vec![
        Candidate {
            executor: Arc::new(store.get_executor(&e[3].id).await.expect("get_executor")),
            weight: 5,
            priority: 1,
        },
        Candidate {
            executor: Arc::new(store.get_executor(&e[1].id).await.expect("get_executor")),
            weight: 2,
            priority: 0,
        },
    ];
    want.sort_by(|a, b| a.executor.id.cmp(&b.executor.id));
    assert_eq!(got, want);

    // Assigned only to unavailable executors: no candidate at all.
    let stuck = task("stuck", at(21));
    store
        .create_task(&stuck, &[assignment(&e[0].id, 1, 0), assignment(&e[2].id, 1, 0)])
        .await
        .expect("create_task");
    assert!(
        store
            .dispatch_candidates(&stuck.id)
            .await
            .expect("dispatch_candidates")
            .is_empty()
    );

    // Recovery brings an assigned executor back.
    for s in 0..2 {
        store
            .record_health(&e[2].id, true, at(30 + s), HealthThresholds::default())
            .await
            .expect("record_health");
    }
    let got = store.dispatch_candidates(&stuck.id).await.expect("dispatch_candidates");
    assert_eq!(got.iter().map(|c| &c.executor.id).collect::<Vec<_>>(), [&e[2].id]);
}

/// Without assignments, every online and healthy executor is a candidate, by
/// executor id, with weight 1 and priority 0.
pub async fn dispatch_candidates_default_to_every_available_executor(store: Arc<dyn Store>) {
    let t = create_active(&*store, "anywhere", at(0)).await;
    assert!(
        store
            .dispatch_candidates(&t.id)
            .await
            .expect("dispatch_candidates")
            .is_empty()
    );

    let mut e = Vec::new();
    for i in 0..5i64 {
        e.push(register_new(&*store, "svc", &format!("e{i}"), at(i)).await);
    }
    store
        .set_executor_status(&e[1].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[3].id, at(11)).await;

    let got = store.dispatch_candidates(&t.id).await.expect("dispatch_candidates");
    let mut want = Vec::new();
    for i in [0, 2, 4] {
        want.push(Candidate {
            executor: Arc::new(store.get_executor(&e[i].id).await.expect("get_executor")),
            weight: 1,
            priority: 0,
        });
    }
    want.sort_by(|a, b| a.executor.id.cmp(&b.executor.id));
    assert_eq!(got, want);

    // An emptied assignment set means "every executor" again.
    store
        .replace_task_executors(&t.id, &[assignment(&e[4].id, 9, 3)])
        .await
        .expect("replace_task_executors");
    let got = store.dispatch_candidates(&t.id).await.expect("dispatch_candidates");
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].weight, got[0].priority), (9, 3));
    store
        .replace_task_executors(&t.id, &[])
        .await
        .expect("replace_task_executors");
    assert_eq!(
        store.dispatch_candidates(&t.id).await.expect("dispatch_candidates"),
        want
    );
}

/// `running_counts` counts `running` executions of every task per executor.
pub async fn running_counts_per_executor(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let t1 = create_active(&*store, "t1", at(3)).await;
    let t2 = create_active(&*store, "t2", at(4)).await;
    let r1 = insert(
        &*store,
        execution_in(&t1.id, at(10), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t2.id, at(11), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(12), ExecutionStatus::Running, Some(&y.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(13), ExecutionStatus::Pending, Some(&x.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(14), ExecutionStatus::Success, Some(&y.id)),
    )
    .await;
    insert(
        &*store,
        execution_in(&t1.id, at(15), ExecutionStatus::Failed, Some(&z.id)),
    )
    .await;

    let ids = [x.id.clone(), y.id.clone(), z.id.clone()];
    let count = |m: &std::collections::HashMap<ExecutorId, u64>, id: &ExecutorId| m.get(id).copied().unwrap_or(0);
    let got = store.running_counts(&ids).await.expect("running_counts");
    assert_eq!((count(&got, &x.id), count(&got, &y.id), count(&got, &z.id)), (2, 1, 0));

    store
        .update_execution(
            &r1.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Running]),
            &ExecutionChange {
                status: Some(ExecutionStatus::Success),
                end_time: Some(Some(at(20))),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    let got = store.running_counts(&ids).await.expect("running_counts");
    assert_eq!((count(&got, &x.id), count(&got, &y.id), count(&got, &z.id)), (1, 1, 0));
    let only_y = store
        .running_counts(std::slice::from_ref(&y.id))
        .await
        .expect("running_counts");
    assert_eq!(count(&only_y, &y.id), 1);
    assert!(only_y.keys().all(|k| k == &y.id), "only the executors asked for");
}
