//! Executors: registration and re-registration, reads and lists, updates,
//! status, health thresholds, deletion.

use super::*;

/// Registering a known `instance_id` updates that executor: same id and
/// `created_at`, new name/URLs/metadata/`updated_at`, `offline` becomes
/// `online`, health reset to healthy with zero failures.
pub async fn register_executor_creates_then_updates_by_instance_id(store: Arc<dyn Store>) {
    let mut first = executor("billing", "billing-1", at_ms(1_001));
    first.health_check_url = Some("http://billing-1.test:9000/hc".to_owned());
    first.metadata = Some(obj(json!({"zone": "a", "cores": 8})));
    let first = register(&*store, first).await;
    assert_eq!(store.get_executor(&first.id).await.expect("get_executor"), first);

    store
        .set_executor_status(&first.id, ExecutorStatus::Offline, at(5))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &first.id, at(6)).await;
    let recovering = store
        .record_health(&first.id, true, at(9), HealthThresholds::default())
        .await
        .expect("record_health");
    assert_eq!((recovering.is_healthy, recovering.health_check_successes), (false, 1));

    let mut again = executor("billing-v2", "billing-1", at(60));
    again.base_url = "https://billing.example:8443/api".to_owned();
    again.metadata = Some(obj(json!({"zone": "b"})));
    let (updated, how) = store.register_executor(&again).await.expect("register_executor");
    assert_eq!(how, Registered::Updated);
    assert_eq!(updated.id, first.id, "the executor keeps its id");
    assert_eq!(updated.created_at, first.created_at, "and its created_at");
    assert_eq!(updated.instance_id, "billing-1");
    assert_eq!(updated.name, "billing-v2");
    assert_eq!(updated.base_url, "https://billing.example:8443/api");
    assert_eq!(updated.health_check_url, None);
    assert_eq!(updated.metadata, again.metadata);
    assert_eq!(updated.status, ExecutorStatus::Online, "offline becomes online");
    assert!(updated.is_healthy, "health is reset");
    assert_eq!(updated.health_check_failures, 0);
    assert_eq!(updated.health_check_successes, 0, "both counters restart");
    assert_eq!(updated.updated_at, at(60));
    assert_eq!(updated.last_health_check, Some(at(9)), "the last probe's time stays");
    assert_eq!(store.get_executor(&first.id).await.expect("get_executor"), updated);
    assert_not_found(store.get_executor(&again.id).await, "executor", again.id.as_str());
    assert_eq!(
        store.all_executors().await.expect("all_executors"),
        vec![updated.clone()]
    );

    // Health counters restart from zero: one failure does not make it unhealthy.
    let e = store
        .record_health(&first.id, false, at(61), HealthThresholds::default())
        .await
        .expect("record_health");
    assert!(e.is_healthy);
    assert_eq!(e.health_check_failures, 1);

    // Another instance of the same service is another executor.
    register_new(&*store, "billing-v2", "billing-2", at(62)).await;
    assert_eq!(store.all_executors().await.expect("all_executors").len(), 2);
}

/// Re-registration keeps `maintenance` (and `online`), and resets health.
pub async fn register_executor_keeps_maintenance_and_resets_health(store: Arc<dyn Store>) {
    let m = register_new(&*store, "svc", "m", at(0)).await;
    store
        .set_executor_status(&m.id, ExecutorStatus::Maintenance, at(1))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &m.id, at(2)).await;
    let (again, how) = store
        .register_executor(&executor("svc", "m", at(10)))
        .await
        .expect("register_executor");
    assert_eq!(how, Registered::Updated);
    assert_eq!(again.id, m.id);
    assert_eq!(again.status, ExecutorStatus::Maintenance);
    assert!(again.is_healthy);
    assert_eq!(again.health_check_failures, 0);

    let o = register_new(&*store, "svc", "o", at(20)).await;
    let (again, how) = store
        .register_executor(&executor("svc", "o", at(21)))
        .await
        .expect("register_executor");
    assert_eq!(how, Registered::Updated);
    assert_eq!(again.id, o.id);
    assert_eq!(again.status, ExecutorStatus::Online);
}

/// A new `instance_id` with the id of an existing executor is a `Conflict`,
/// and nothing changes.
pub async fn register_executor_refuses_a_taken_id(store: Arc<dyn Store>) {
    let first = register_new(&*store, "svc", "a", at(0)).await;
    let mut other = executor("svc", "b", at(1));
    other.id = first.id.clone();
    assert_conflict(store.register_executor(&other).await);
    assert_eq!(store.get_executor(&first.id).await.expect("get_executor"), first);
    assert_eq!(store.all_executors().await.expect("all_executors"), vec![first]);
}

/// `get_executor` and `all_executors` return what was registered; an unknown
/// id is `NotFound`.
pub async fn get_and_all_executors(store: Arc<dyn Store>) {
    assert!(store.all_executors().await.expect("all_executors").is_empty());
    let mut a = executor("svc-a", "a", at_ms(1_500));
    a.metadata = Some(obj(json!({"labels": {"gpu": true}})));
    let a = register(&*store, a).await;
    let b = register_new(&*store, "svc-b", "b", at(2)).await;
    assert_eq!(store.get_executor(&a.id).await.expect("get_executor"), a);
    assert_eq!(store.get_executor(&b.id).await.expect("get_executor"), b);
    let all = store.all_executors().await.expect("all_executors");
    assert_eq!(all.len(), 2);
    assert_eq!(
        id_set(&all, |e: &Executor| &e.id),
        id_set(&[a, b], |e: &Executor| &e.id)
    );
    let ghost = ExecutorId::generate();
    assert_not_found(store.get_executor(&ghost).await, "executor", ghost.as_str());
}

/// `list_executors` filters by status, name substring and health, newest
/// first, with paging and totals.
pub async fn list_executors_filters_and_pages(store: Arc<dyn Store>) {
    let mut e = Vec::new();
    for i in 0..7i64 {
        let name = if i % 2 == 0 { "svc-a" } else { "svc-b" };
        e.push(register_new(&*store, name, &format!("i-{i}"), at(i)).await);
    }
    store
        .set_executor_status(&e[1].id, ExecutorStatus::Offline, at(10))
        .await
        .expect("set_executor_status");
    store
        .set_executor_status(&e[2].id, ExecutorStatus::Maintenance, at(10))
        .await
        .expect("set_executor_status");
    make_unhealthy(&*store, &e[3].id, at(11)).await;

    let list = |filter: ExecutorFilter, page: Page| {
        let store = store.clone();
        async move {
            let got = store.list_executors(&filter, page).await.expect("list_executors");
            let idx: Vec<usize> = got.items.iter().map(|x| e_index(&x.instance_id)).collect();
            (idx, got.total)
        }
    };
    fn e_index(instance_id: &str) -> usize {
        instance_id
            .trim_start_matches("i-")
            .parse()
            .expect("an instance id of this case")
    }
    let all = Page::new(1, 100);

    assert_eq!(
        list(ExecutorFilter::default(), all).await,
        (vec![6, 5, 4, 3, 2, 1, 0], 7)
    );
    let offline = ExecutorFilter {
        status: Some(ExecutorStatus::Offline),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(offline, all).await, (vec![1], 1));
    let maintenance = ExecutorFilter {
        status: Some(ExecutorStatus::Maintenance),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(maintenance, all).await, (vec![2], 1));
    let online = ExecutorFilter {
        status: Some(ExecutorStatus::Online),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(online, all).await, (vec![6, 5, 4, 3, 0], 5));
    let unhealthy = ExecutorFilter {
        healthy: Some(false),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(unhealthy, all).await, (vec![3], 1));
    let healthy = ExecutorFilter {
        healthy: Some(true),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(healthy, all).await, (vec![6, 5, 4, 2, 1, 0], 6));
    let b = ExecutorFilter {
        name: Some("svc-b".to_owned()),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(b, all).await, (vec![5, 3, 1], 3));
    let substring = ExecutorFilter {
        name: Some("vc-".to_owned()),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(substring, all).await.1, 7);
    let combined = ExecutorFilter {
        status: Some(ExecutorStatus::Online),
        name: Some("svc-a".to_owned()),
        healthy: Some(true),
    };
    assert_eq!(list(combined, all).await, (vec![6, 4, 0], 3));
    let nobody = ExecutorFilter {
        name: Some("nobody".to_owned()),
        ..ExecutorFilter::default()
    };
    assert_eq!(list(nobody, all).await, (vec![], 0));

    assert_eq!(
        list(ExecutorFilter::default(), Page::new(2, 3)).await,
        (vec![3, 2, 1], 7)
    );
    assert_eq!(list(ExecutorFilter::default(), Page::new(3, 3)).await, (vec![0], 7));
    assert_eq!(list(ExecutorFilter::default(), Page::new(4, 3)).await, (vec![], 7));
}

/// `update_executor` replaces name, URLs, metadata and `updated_at` only.
pub async fn update_executor_replaces_descriptive_fields(store: Arc<dyn Store>) {
    let mut e = executor("svc", "inst", at(0));
    e.metadata = Some(obj(json!({"v": 1})));
    let e = register(&*store, e).await;

    let mut u = e.clone();
    u.name = "svc-renamed".to_owned();
    u.base_url = "https://elsewhere.test".to_owned();
    u.health_check_url = Some("https://elsewhere.test/ready".to_owned());
    u.metadata = None;
    u.updated_at = at_ms(5_005);
    // Not descriptive: must be ignored.
    u.status = ExecutorStatus::Offline;
    u.is_healthy = false;
    u.health_check_failures = 7;
    u.instance_id = "other".to_owned();
    u.created_at = at(99);

    let mut want = e.clone();
    want.name = u.name.clone();
    want.base_url = u.base_url.clone();
    want.health_check_url = u.health_check_url.clone();
    want.metadata = None;
    want.updated_at = u.updated_at;
    assert_eq!(store.update_executor(&u).await.expect("update_executor"), want);
    assert_eq!(store.get_executor(&e.id).await.expect("get_executor"), want);

    let ghost = executor("svc", "ghost", at(1));
    assert_not_found(store.update_executor(&ghost).await, "executor", ghost.id.as_str());
}

/// `set_executor_status` sets the status and `updated_at`, nothing else.
pub async fn set_executor_status_changes_only_the_status(store: Arc<dyn Store>) {
    let e = register_new(&*store, "svc", "inst", at(0)).await;
    for (i, status) in [
        ExecutorStatus::Maintenance,
        ExecutorStatus::Offline,
        ExecutorStatus::Online,
    ]
    .into_iter()
    .enumerate()
    {
        let when = at_ms(1_000 + i64::try_from(i).expect("small") * 7);
        let got = store
            .set_executor_status(&e.id, status, when)
            .await
            .expect("set_executor_status");
        let mut want = e.clone();
        want.status = status;
        want.updated_at = when;
        assert_eq!(got, want);
        assert_eq!(store.get_executor(&e.id).await.expect("get_executor"), want);
    }
    let ghost = ExecutorId::generate();
    assert_not_found(
        store.set_executor_status(&ghost, ExecutorStatus::Offline, at(5)).await,
        "executor",
        ghost.as_str(),
    );
}

/// Three consecutive failures make an executor unhealthy, two consecutive
/// successes make it healthy again; counters and `last_health_check` follow.
pub async fn record_health_applies_thresholds(store: Arc<dyn Store>) {
    let e = register_new(&*store, "svc", "inst", at(0)).await;
    let th = HealthThresholds::default();
    let probe = |ok: bool, t: DateTime<Utc>| {
        let store = store.clone();
        let id = e.id.clone();
        async move {
            let got = store.record_health(&id, ok, t, th).await.expect("record_health");
            assert_eq!(store.get_executor(&id).await.expect("get_executor"), got);
            assert_eq!(got.last_health_check, Some(t));
            (got.is_healthy, got.health_check_failures)
        }
    };
    assert_eq!(probe(true, at_ms(1_001)).await, (true, 0));
    assert_eq!(probe(false, at(2)).await, (true, 1));
    assert_eq!(probe(false, at(3)).await, (true, 2));
    assert_eq!(probe(false, at(4)).await, (false, 3));
    assert_eq!(probe(false, at(5)).await, (false, 4));
    assert_eq!(probe(true, at(6)).await, (false, 0));
    // A failure in between restarts the recovery count.
    assert_eq!(probe(false, at(7)).await, (false, 1));
    assert_eq!(probe(true, at(8)).await, (false, 0));
    assert_eq!(probe(true, at(9)).await, (true, 0));
    assert_eq!(probe(true, at(10)).await, (true, 0));
    // A success in between restarts the failure count.
    assert_eq!(probe(false, at(11)).await, (true, 1));
    assert_eq!(probe(false, at(12)).await, (true, 2));
    assert_eq!(probe(true, at(13)).await, (true, 0));
    assert_eq!(probe(false, at(14)).await, (true, 1));

    let ghost = ExecutorId::generate();
    assert_not_found(
        store.record_health(&ghost, true, at(15), th).await,
        "executor",
        ghost.as_str(),
    );
}

/// Deleting an executor removes it and its assignments; its executions stay
/// with `executor_id` null; its instance id is free again.
pub async fn delete_executor_keeps_execution_history(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let both = task("both", at(2));
    store
        .create_task(&both, &[assignment(&x.id, 2, 0), assignment(&y.id, 3, 1)])
        .await
        .expect("create_task");
    let only_x = task("only-x", at(3));
    store
        .create_task(&only_x, &[assignment(&x.id, 1, 0)])
        .await
        .expect("create_task");
    let done = insert(
        &*store,
        execution_in(&both.id, at(4), ExecutionStatus::Success, Some(&x.id)),
    )
    .await;
    let running = insert(
        &*store,
        execution_in(&both.id, at(5), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    let on_y = insert(
        &*store,
        execution_in(&both.id, at(6), ExecutionStatus::Running, Some(&y.id)),
    )
    .await;

    store.delete_executor(&x.id).await.expect("delete_executor");
    assert_not_found(store.get_executor(&x.id).await, "executor", x.id.as_str());
    assert_eq!(store.all_executors().await.expect("all_executors"), vec![y.clone()]);

    for before in [&done, &running] {
        let mut want = before.clone();
        want.executor_id = None;
        assert_eq!(store.get_execution(&before.id).await.expect("get_execution"), want);
    }
    assert_eq!(store.get_execution(&on_y.id).await.expect("get_execution"), on_y);
    let by_x = ExecutionFilter {
        executor_id: Some(x.id.clone()),
        ..ExecutionFilter::default()
    };
    assert_eq!(list_executions(&*store, by_x).await.total, 0);
    assert_eq!(list_executions(&*store, of_task(&both.id)).await.total, 3);
    let counts = store
        .running_counts(std::slice::from_ref(&x.id))
        .await
        .expect("running_counts");
    assert_eq!(counts.get(&x.id).copied().unwrap_or(0), 0);

    assert_eq!(
        store.task_executors(&both.id).await.expect("task_executors"),
        vec![assignment(&y.id, 3, 1)]
    );
    assert!(
        store
            .task_executors(&only_x.id)
            .await
            .expect("task_executors")
            .is_empty()
    );
    // With its only assignment gone, the task may run on every executor.
    let c = store
        .dispatch_candidates(&only_x.id)
        .await
        .expect("dispatch_candidates");
    assert_eq!(c.iter().map(|c| &c.executor.id).collect::<Vec<_>>(), [&y.id]);

    assert_not_found(store.delete_executor(&x.id).await, "executor", x.id.as_str());
    let (again, how) = store
        .register_executor(&executor("svc", "x", at(7)))
        .await
        .expect("register_executor");
    assert_eq!(how, Registered::Created);
    assert_ne!(again.id, x.id);
}
