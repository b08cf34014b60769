//! Tasks and their executor assignments: create, read, list and filter,
//! unique live names, update, soft delete, the change poll, `next_run_time`.

use super::*;

/// `ping` answers on a reachable store.
pub async fn ping_answers(store: Arc<dyn Store>) {
    store.ping().await.expect("ping");
}

/// A task round-trips every field (Unicode name of 255 characters, parameters,
/// options, millisecond timestamps); an unknown id is `NotFound`.
pub async fn create_and_get_task(store: Arc<dyn Store>) {
    let name = format!("日報🚀{}", "é".repeat(252));
    assert_eq!(name.chars().count(), 255);
    let (mut t, _) = NewTask::new(name, "0 30 9 * * MON-FRI")
        .timezone("Europe/Berlin")
        .parameters(obj(
            json!({"region": "eu", "limits": {"max": 10}, "tags": ["a", "b"], "note": "ü"}),
        ))
        .execution_mode(ModeName::SEQUENTIAL)
        .load_balance_strategy(StrategyName::WEIGHTED_ROUND_ROBIN)
        .max_retry(7)
        .timeout_seconds(90)
        .misfire_policy(MisfirePolicy::Skip)
        .validate(TaskId::generate(), at_ms(123))
        .expect("a valid task");
    t.next_run_time = Some(at_ms(300_456));
    t.updated_at = at_ms(789);
    let stored = create(&*store, t.clone()).await;
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), stored);

    let p = create(&*store, paused_task("paused one", at(1))).await;
    assert_eq!(store.get_task(&p.id).await.expect("get_task"), p);

    let unknown = TaskId::generate();
    assert_not_found(store.get_task(&unknown).await, "task", unknown.as_str());
}

/// `create_task` with an assignment naming an unknown executor is `NotFound`
/// (kind `executor`) and writes neither the task nor its assignments.
pub async fn create_task_with_unknown_executor_writes_nothing(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let ghost = ExecutorId::generate();
    let t = task("orphan", at(1));
    let r = store
        .create_task(&t, &[assignment(&x.id, 1, 0), assignment(&ghost, 1, 0)])
        .await;
    assert_not_found(r, "executor", ghost.as_str());
    assert_not_found(store.get_task(&t.id).await, "task", t.id.as_str());
    assert_eq!(list_tasks(&*store, None, None).await.total, 0);

    // The name was not taken by the failed insert.
    let again = task("orphan", at(2));
    let stored = store
        .create_task(&again, &[assignment(&x.id, 4, 2)])
        .await
        .expect("create_task");
    assert_eq!(stored, again);
    assert_eq!(
        store.task_executors(&again.id).await.expect("task_executors"),
        vec![assignment(&x.id, 4, 2)]
    );
}

/// Without a status filter deleted tasks are left out; with one, only that
/// status is listed.
pub async fn list_tasks_filters_by_status(store: Arc<dyn Store>) {
    let a = create_active(&*store, "a", at(0)).await;
    let p = create(&*store, paused_task("p", at(1))).await;
    let d = create_active(&*store, "d", at(2)).await;
    store.delete_task(&d.id, at(3)).await.expect("delete_task");
    let a2 = create_active(&*store, "a2", at(4)).await;

    let all = list_tasks(&*store, None, None).await;
    assert_eq!(names(&all), ["a2", "p", "a"]);
    assert_eq!(all.total, 3);
    assert_eq!(all.items[0], a2);
    assert_eq!(all.items[1], p);
    assert_eq!(all.items[2], a);

    let active = list_tasks(&*store, Some(TaskStatus::Active), None).await;
    assert_eq!(names(&active), ["a2", "a"]);
    assert_eq!(active.total, 2);

    let paused = list_tasks(&*store, Some(TaskStatus::Paused), None).await;
    assert_eq!(names(&paused), ["p"]);
    assert_eq!(paused.total, 1);

    let deleted = list_tasks(&*store, Some(TaskStatus::Deleted), None).await;
    assert_eq!(names(&deleted), ["d"]);
    assert_eq!(deleted.total, 1);
    assert_eq!(deleted.items[0].status, TaskStatus::Deleted);
}

/// The name filter is a case-sensitive substring match in which `_` and `%`
/// are plain characters, combined with the status filter.
pub async fn list_tasks_filters_by_name_substring(store: Arc<dyn Store>) {
    create_active(&*store, "report-daily", at(0)).await;
    create(&*store, paused_task("report-weekly", at(1))).await;
    create_active(&*store, "cleanup", at(2)).await;
    create_active(&*store, "abc", at(3)).await;
    create_active(&*store, "a_c", at(4)).await;
    create_active(&*store, "Report-monthly", at(5)).await;
    create_active(&*store, "100%-done", at(6)).await;
    let old = create_active(&*store, "report-old", at(7)).await;
    store.delete_task(&old.id, at(8)).await.expect("delete_task");

    let report = list_tasks(&*store, None, Some("report")).await;
    assert_eq!(names(&report), ["report-weekly", "report-daily"]);
    assert_eq!(report.total, 2);

    assert_eq!(
        names(&list_tasks(&*store, None, Some("Report")).await),
        ["Report-monthly"]
    );
    assert_eq!(
        names(&list_tasks(&*store, None, Some("weekly")).await),
        ["report-weekly"]
    );
    assert_eq!(names(&list_tasks(&*store, None, Some("a_c")).await), ["a_c"]);
    assert_eq!(names(&list_tasks(&*store, None, Some("%")).await), ["100%-done"]);
    let none = list_tasks(&*store, None, Some("nothing")).await;
    assert!(none.items.is_empty());
    assert_eq!(none.total, 0);

    let paused = list_tasks(&*store, Some(TaskStatus::Paused), Some("report")).await;
    assert_eq!(names(&paused), ["report-weekly"]);
    let deleted = list_tasks(&*store, Some(TaskStatus::Deleted), Some("report")).await;
    assert_eq!(names(&deleted), ["report-old"]);
}

/// Page 2 of 5 over 12 tasks holds the 6th to 10th newest, with the total.
pub async fn list_tasks_pages_newest_first(store: Arc<dyn Store>) {
    // Inserted out of order: the order comes from created_at, not insertion.
    for i in [7, 2, 11, 0, 5, 9, 1, 4, 10, 3, 8, 6] {
        create_active(&*store, &format!("task-{i:02}"), at(i)).await;
    }
    let page = |p| {
        let store = store.clone();
        async move {
            store
                .list_tasks(&TaskFilter::default(), Page::new(p, 5))
                .await
                .expect("list_tasks")
        }
    };
    let p1 = page(1).await;
    assert_eq!(names(&p1), ["task-11", "task-10", "task-09", "task-08", "task-07"]);
    assert_eq!(p1.total, 12);
    let p2 = page(2).await;
    assert_eq!(names(&p2), ["task-06", "task-05", "task-04", "task-03", "task-02"]);
    assert_eq!(p2.total, 12);
    let p3 = page(3).await;
    assert_eq!(names(&p3), ["task-01", "task-00"]);
    assert_eq!(p3.total, 12);
    let p4 = page(4).await;
    assert!(p4.items.is_empty());
    assert_eq!(p4.total, 12);
}

/// A name is unique among tasks that are not deleted (paused ones included);
/// a deleted task's name can be reused.
pub async fn task_names_are_unique_among_live_tasks(store: Arc<dyn Store>) {
    let first = create_active(&*store, "nightly", at(0)).await;
    let dup = task("nightly", at(1));
    assert_name_taken(store.create_task(&dup, &[]).await, "nightly");
    assert_not_found(store.get_task(&dup.id).await, "task", dup.id.as_str());
    assert_eq!(list_tasks(&*store, None, None).await.total, 1);

    create(&*store, paused_task("weekly", at(2))).await;
    assert_name_taken(store.create_task(&task("weekly", at(3)), &[]).await, "weekly");

    store.delete_task(&first.id, at(4)).await.expect("delete_task");
    let reused = create_active(&*store, "nightly", at(5)).await;
    assert_ne!(reused.id, first.id);
    let old = store.get_task(&first.id).await.expect("get_task");
    assert_eq!((old.name.as_str(), old.status), ("nightly", TaskStatus::Deleted));

    // The live task now holds the name again.
    assert_name_taken(store.create_task(&task("nightly", at(6)), &[]).await, "nightly");
}

/// `update_task` replaces every mutable field and keeps `created_at`.
pub async fn update_task_replaces_mutable_fields(store: Arc<dyn Store>) {
    let t = create_active(&*store, "before", at(0)).await;
    let mut u = t.clone();
    u.name = "after".to_owned();
    u.cron_expression = "0 0 * * * *".to_owned();
    u.timezone = "Asia/Tokyo".to_owned();
    u.parameters = Some(obj(json!({"k": 1, "nested": {"x": [true, null]}})));
    u.execution_mode = ModeName::SKIP;
    u.load_balance_strategy = StrategyName::LEAST_LOADED;
    u.max_retry = 0;
    u.timeout_seconds = 1;
    u.misfire_policy = MisfirePolicy::Skip;
    u.status = TaskStatus::Paused;
    u.next_run_time = None;
    u.updated_at = at_ms(60_250);
    u.created_at = at(999); // not a mutable field: ignored

    let mut expected = u.clone();
    expected.created_at = t.created_at;
    assert_eq!(store.update_task(&u, None).await.expect("update_task"), expected);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), expected);
    assert_eq!(names(&list_tasks(&*store, None, Some("after")).await), ["after"]);

    // Resume, and clear the parameters.
    let mut r = expected.clone();
    r.status = TaskStatus::Active;
    r.next_run_time = Some(at(3600));
    r.parameters = None;
    r.updated_at = at(61);
    assert_eq!(store.update_task(&r, None).await.expect("update_task"), r);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), r);

    // The old name is free.
    create_active(&*store, "before", at(62)).await;

    let ghost = task("ghost", at(63));
    assert_not_found(store.update_task(&ghost, None).await, "task", ghost.id.as_str());
}

/// Renaming to the name of another live task is `NameTaken` and changes
/// nothing; a deleted task's name and the task's own name are fine.
pub async fn update_task_refuses_a_taken_name(store: Arc<dyn Store>) {
    let a = create_active(&*store, "alpha", at(0)).await;
    let b = create_active(&*store, "beta", at(1)).await;

    let mut renamed = b.clone();
    renamed.name = "alpha".to_owned();
    renamed.max_retry = 9;
    renamed.updated_at = at(2);
    assert_name_taken(store.update_task(&renamed, None).await, "alpha");
    assert_eq!(store.get_task(&b.id).await.expect("get_task"), b);

    // Keeping its own name is not a clash.
    let mut same = b.clone();
    same.max_retry = 5;
    same.updated_at = at(3);
    assert_eq!(store.update_task(&same, None).await.expect("update_task"), same);

    store.delete_task(&a.id, at(4)).await.expect("delete_task");
    renamed.updated_at = at(5);
    assert_eq!(store.update_task(&renamed, None).await.expect("update_task"), renamed);
    // "beta" was released by the rename.
    create_active(&*store, "beta", at(6)).await;
}

/// `update_task` on a deleted task is a `Conflict` and changes nothing.
pub async fn update_task_on_deleted_task_conflicts(store: Arc<dyn Store>) {
    let t = create_active(&*store, "doomed", at(0)).await;
    let deleted = store.delete_task(&t.id, at(1)).await.expect("delete_task");
    let mut u = deleted.clone();
    u.status = TaskStatus::Active;
    u.next_run_time = Some(at(300));
    u.name = "revived".to_owned();
    u.updated_at = at(2);
    assert_conflict(store.update_task(&u, None).await);
    assert_conflict(store.update_task(&u, Some(&[])).await);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), deleted);
}

/// Assignments given to `update_task` replace the set together with the task's
/// fields; an unknown executor writes neither; `None` keeps the set.
pub async fn update_task_replaces_assignments_atomically(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let t = task("t1", at(3));
    store
        .create_task(&t, &[assignment(&x.id, 2, 0), assignment(&y.id, 3, 1)])
        .await
        .expect("create_task");

    let mut u = t.clone();
    u.name = "t2".to_owned();
    u.updated_at = at(4);
    let set = [assignment(&z.id, 5, -1)];
    assert_eq!(store.update_task(&u, Some(&set)).await.expect("update_task"), u);
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), set);

    let mut kept = u.clone();
    kept.max_retry = 8;
    kept.updated_at = at(5);
    store.update_task(&kept, None).await.expect("update_task");
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), set);

    let ghost = ExecutorId::generate();
    let mut refused = kept.clone();
    refused.name = "t3".to_owned();
    refused.max_retry = 1;
    refused.updated_at = at(6);
    let r = store
        .update_task(&refused, Some(&[assignment(&x.id, 1, 0), assignment(&ghost, 1, 0)]))
        .await;
    assert_not_found(r, "executor", ghost.as_str());
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), kept);
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), set);

    let mut cleared = kept.clone();
    cleared.updated_at = at(7);
    store.update_task(&cleared, Some(&[])).await.expect("update_task");
    assert!(store.task_executors(&t.id).await.expect("task_executors").is_empty());
}

/// `delete_task` soft-deletes (status `deleted`, `next_run_time` null,
/// `updated_at = at`), keeps history and assignments, and refuses a second time.
pub async fn delete_task_soft_deletes(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let t = task("to-delete", at(1));
    assert!(t.next_run_time.is_some());
    store
        .create_task(&t, &[assignment(&x.id, 3, 0)])
        .await
        .expect("create_task");
    let e = insert(
        &*store,
        execution_in(&t.id, at(2), ExecutionStatus::Success, Some(&x.id)),
    )
    .await;

    let deleted = store.delete_task(&t.id, at_ms(30_500)).await.expect("delete_task");
    let mut expected = t.clone();
    expected.status = TaskStatus::Deleted;
    expected.next_run_time = None;
    expected.updated_at = at_ms(30_500);
    assert_eq!(deleted, expected);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), expected);

    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), e);
    assert_eq!(list_executions(&*store, of_task(&t.id)).await.total, 1);
    assert_eq!(
        store.task_executors(&t.id).await.expect("task_executors"),
        vec![assignment(&x.id, 3, 0)]
    );
    assert!(store.active_tasks().await.expect("active_tasks").is_empty());

    assert_conflict(store.delete_task(&t.id, at(31)).await);
    assert_eq!(store.get_task(&t.id).await.expect("get_task"), expected);
    let ghost = TaskId::generate();
    assert_not_found(store.delete_task(&ghost, at(32)).await, "task", ghost.as_str());
}

/// `active_tasks` returns exactly the active tasks, as stored.
pub async fn active_tasks_are_the_active_ones(store: Arc<dyn Store>) {
    assert!(store.active_tasks().await.expect("active_tasks").is_empty());
    let a1 = create_active(&*store, "a1", at(0)).await;
    let a2 = create_active(&*store, "a2", at(1)).await;
    create(&*store, paused_task("p", at(2))).await;
    let d = create_active(&*store, "d", at(3)).await;
    store.delete_task(&d.id, at(4)).await.expect("delete_task");

    let mut got = store.active_tasks().await.expect("active_tasks");
    got.sort_by(|a, b| a.id.cmp(&b.id));
    let mut want = vec![a1, a2];
    want.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got, want);
}

/// `tasks_changed_since` returns tasks with `updated_at >= since` (inclusive),
/// deleted ones included; `set_next_run_time` does not count as a change.
pub async fn tasks_changed_since_includes_deleted_tasks(store: Arc<dyn Store>) {
    let old = create_active(&*store, "old", at(-10)).await;
    let mid = create_active(&*store, "mid", at(0)).await;
    let new = create_active(&*store, "new", at(5)).await;
    let gone = create_active(&*store, "gone", at(-20)).await;
    store.delete_task(&gone.id, at(20)).await.expect("delete_task");
    let edited = create_active(&*store, "edited", at(-30)).await;
    let mut e = edited.clone();
    e.max_retry = 0;
    e.updated_at = at(10);
    store.update_task(&e, None).await.expect("update_task");
    store
        .set_next_run_time(&old.id, Some(at(600)))
        .await
        .expect("set_next_run_time");

    let changed = store.tasks_changed_since(at(0)).await.expect("tasks_changed_since");
    let got = id_set(&changed, |t: &Task| &t.id);
    let want: BTreeSet<TaskId> = [&mid.id, &new.id, &gone.id, &edited.id].into_iter().cloned().collect();
    assert_eq!(got, want);
    let g = changed.iter().find(|t| t.id == gone.id).expect("the deleted task");
    assert_eq!(g.status, TaskStatus::Deleted);

    assert_eq!(
        store
            .tasks_changed_since(at(-10))
            .await
            .expect("tasks_changed_since")
            .len(),
        5
    );
    assert!(
        store
            .tasks_changed_since(at(21))
            .await
            .expect("tasks_changed_since")
            .is_empty()
    );
}

/// `set_next_run_time` changes an active task only, leaves `updated_at`
/// alone, and is no error for an unknown task.
pub async fn set_next_run_time_only_for_active_tasks(store: Arc<dyn Store>) {
    let a = create_active(&*store, "active", at(0)).await;
    store
        .set_next_run_time(&a.id, Some(at_ms(120_001)))
        .await
        .expect("set_next_run_time");
    let got = store.get_task(&a.id).await.expect("get_task");
    assert_eq!(got.next_run_time, Some(at_ms(120_001)));
    assert_eq!(got.updated_at, a.updated_at);
    store.set_next_run_time(&a.id, None).await.expect("set_next_run_time");
    assert_eq!(store.get_task(&a.id).await.expect("get_task").next_run_time, None);

    let p = create(&*store, paused_task("paused", at(1))).await;
    store
        .set_next_run_time(&p.id, Some(at(120)))
        .await
        .expect("set_next_run_time");
    assert_eq!(store.get_task(&p.id).await.expect("get_task"), p);

    let d = create_active(&*store, "deleted", at(2)).await;
    let d = store.delete_task(&d.id, at(3)).await.expect("delete_task");
    store
        .set_next_run_time(&d.id, Some(at(120)))
        .await
        .expect("set_next_run_time");
    assert_eq!(store.get_task(&d.id).await.expect("get_task"), d);

    store
        .set_next_run_time(&TaskId::generate(), Some(at(120)))
        .await
        .expect("an unknown task is no error");
}

/// Assignments round-trip weight and priority, listed by executor id; an
/// unknown task is `NotFound`.
pub async fn task_executors_round_trip(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let set = vec![
        assignment(&z.id, 1000, -5),
        assignment(&x.id, 1, 0),
        assignment(&y.id, 7, 3),
    ];
    let t = task("assigned", at(3));
    store.create_task(&t, &set).await.expect("create_task");
    assert_eq!(
        store.task_executors(&t.id).await.expect("task_executors"),
        sorted_by_executor(set)
    );

    let bare = create_active(&*store, "bare", at(4)).await;
    assert!(store.task_executors(&bare.id).await.expect("task_executors").is_empty());

    let ghost = TaskId::generate();
    assert_not_found(store.task_executors(&ghost).await, "task", ghost.as_str());
}

/// `replace_task_executors` replaces the set atomically: an unknown executor
/// (`NotFound`), an unknown task (`NotFound`) or a deleted task (`Conflict`)
/// changes nothing.
pub async fn replace_task_executors_checks_every_executor(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let z = register_new(&*store, "svc", "z", at(2)).await;
    let t = task("t", at(3));
    store
        .create_task(&t, &[assignment(&x.id, 1, 0)])
        .await
        .expect("create_task");

    let set = vec![assignment(&z.id, 9, 2), assignment(&y.id, 2, 1)];
    let want = sorted_by_executor(set.clone());
    assert_eq!(
        store
            .replace_task_executors(&t.id, &set)
            .await
            .expect("replace_task_executors"),
        want
    );
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), want);

    let ghost = ExecutorId::generate();
    let r = store
        .replace_task_executors(&t.id, &[assignment(&x.id, 1, 0), assignment(&ghost, 1, 0)])
        .await;
    assert_not_found(r, "executor", ghost.as_str());
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), want);

    let no_task = TaskId::generate();
    assert_not_found(
        store.replace_task_executors(&no_task, &set).await,
        "task",
        no_task.as_str(),
    );

    store.delete_task(&t.id, at(4)).await.expect("delete_task");
    assert_conflict(store.replace_task_executors(&t.id, &[assignment(&x.id, 1, 0)]).await);
    assert_eq!(store.task_executors(&t.id).await.expect("task_executors"), want);

    assert!(
        store
            .replace_task_executors(&create_active(&*store, "u", at(5)).await.id, &[])
            .await
            .expect("replace_task_executors")
            .is_empty()
    );
}
