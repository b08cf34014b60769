//! System counts and the scheduler-instance rows.

use super::*;

/// `system_counts` counts executors by status and health, tasks by status
/// (deleted left out) and pending/running executions.
pub async fn system_counts_reflect_the_store(store: Arc<dyn Store>) {
    assert_eq!(
        store.system_counts().await.expect("system_counts"),
        SystemCounts::default()
    );

    let e: Vec<Executor> = futures::future::join_all((0..5).map(|i| {
        let store = store.clone();
        async move { register_new(&*store, "svc", &format!("e{i}"), at(i)).await }
    }))
    .await;
    store
        .set_executor_status(&e[0].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    store
        .set_executor_status(&e[1].id, ExecutorStatus::Maintenance, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[2].id, at(11)).await;
    make_unhealthy(&*store, &e[1].id, at(11)).await;

    let a = create_active(&*store, "a1", at(0)).await;
    create_active(&*store, "a2", at(0)).await;
    create(&*store, paused_task("p", at(0))).await;
    let d = create_active(&*store, "d", at(0)).await;
    store.delete_task(&d.id, at(1)).await.expect("delete_task");

    insert(&*store, execution_in(&a.id, at(20), ExecutionStatus::Pending, None)).await;
    let mut sent = execution_in(&a.id, at(21), ExecutionStatus::Pending, None);
    sent.dispatched_at = Some(at(22));
    insert(&*store, sent).await;
    insert(&*store, execution_in(&a.id, at(23), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&a.id, at(24), ExecutionStatus::Success, None)).await;
    insert(&*store, execution_in(&d.id, at(25), ExecutionStatus::Failed, None)).await;

    assert_eq!(
        store.system_counts().await.expect("system_counts"),
        SystemCounts {
            executors_total: 5,
            executors_online: 3,
            executors_offline: 1,
            executors_maintenance: 1,
            executors_healthy: 3,
            executors_unhealthy: 2,
            tasks_active: 2,
            tasks_paused: 1,
            executions_pending: 2,
            executions_running: 1,
        }
    );
}

/// Instance rows are upserted by `instance_id`, listed by `instance_id`, and
/// removed (removing an unknown one is no error).
pub async fn scheduler_instances_upsert_list_remove(store: Arc<dyn Store>) {
    assert!(store.list_instances().await.expect("list_instances").is_empty());
    let b = SchedulerInstance {
        instance_id: "node-b".to_owned(),
        hostname: "host-b".to_owned(),
        is_leader: false,
        started_at: at_ms(1_001),
        last_heartbeat: at_ms(1_001),
    };
    let mut a = SchedulerInstance {
        instance_id: "node-a".to_owned(),
        hostname: "host-a".to_owned(),
        is_leader: false,
        started_at: at(0),
        last_heartbeat: at(0),
    };
    store.upsert_instance(&b).await.expect("upsert_instance");
    store.upsert_instance(&a).await.expect("upsert_instance");
    assert_eq!(
        store.list_instances().await.expect("list_instances"),
        vec![a.clone(), b.clone()]
    );

    a.is_leader = true;
    a.last_heartbeat = at_ms(30_030);
    a.hostname = "host-a2".to_owned();
    store.upsert_instance(&a).await.expect("upsert_instance");
    assert_eq!(
        store.list_instances().await.expect("list_instances"),
        vec![a.clone(), b.clone()]
    );

    store.remove_instance("node-a").await.expect("remove_instance");
    assert_eq!(store.list_instances().await.expect("list_instances"), vec![b]);
    store
        .remove_instance("node-a")
        .await
        .expect("removing twice is no error");
    store
        .remove_instance("never")
        .await
        .expect("an unknown instance is no error");
}
