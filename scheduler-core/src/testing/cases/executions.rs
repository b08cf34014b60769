//! Executions read back: round trip, list filters and paging, a task's activity,
//! and the engine's work lists (due, unanswered, overdue).

use super::*;

/// An execution round-trips every field, the engine's bookkeeping included;
/// an unknown id is `NotFound`.
pub async fn insert_and_get_execution_round_trip(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let t = create_active(&*store, "t", at(0)).await;
    let full = Execution {
        id: ExecutionId::generate(),
        task_id: t.id.clone(),
        executor_id: Some(x.id.clone()),
        trigger_type: TriggerType::Manual,
        scheduled_time: at_ms(1_234),
        start_time: Some(at_ms(2_000)),
        end_time: Some(at_ms(9_999)),
        status: ExecutionStatus::Failed,
        parameters: Some(json!({"a": [1, 2], "b": {"c": "ü"}})),
        result: Some(json!({"ok": false, "code": 3})),
        logs: Some("line one\nline two ✓".to_owned()),
        retry_count: 2,
        created_at: at_ms(1_500),
        dispatched_at: Some(at_ms(1_900)),
        next_attempt_at: Some(at_ms(1_600)),
        timeout_at: Some(at_ms(302_000)),
        callback_token: Some("tok-123".to_owned()),
    };
    insert(&*store, full.clone()).await;
    assert_eq!(store.get_execution(&full.id).await.expect("get_execution"), full);

    let bare = execution(&t.id, TriggerType::Schedule, at(5));
    store.claim_fire(&bare, None).await.expect("claim_fire");
    assert_eq!(store.get_execution(&bare.id).await.expect("get_execution"), bare);

    let ghost = ExecutionId::generate();
    assert_not_found(store.get_execution(&ghost).await, "execution", ghost.as_str());
}

/// `list_executions` filters by task, executor, status and an inclusive
/// `[from, to]` on `scheduled_time`, newest first.
pub async fn list_executions_filters(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let y = register_new(&*store, "svc", "y", at(1)).await;
    let a = create_active(&*store, "a", at(0)).await;
    let b = create_active(&*store, "b", at(0)).await;
    let a1 = insert(
        &*store,
        execution_in(&a.id, at(0), ExecutionStatus::Success, Some(&x.id)),
    )
    .await;
    let a2 = insert(
        &*store,
        execution_in(&a.id, at(10), ExecutionStatus::Failed, Some(&y.id)),
    )
    .await;
    let a3 = insert(&*store, execution_in(&a.id, at(20), ExecutionStatus::Pending, None)).await;
    let b1 = insert(
        &*store,
        execution_in(&b.id, at(15), ExecutionStatus::Running, Some(&x.id)),
    )
    .await;
    let b2 = insert(
        &*store,
        execution_in(&b.id, at(30), ExecutionStatus::Success, Some(&y.id)),
    )
    .await;

    let check = |filter: ExecutionFilter, want: Vec<&Execution>| {
        let store = store.clone();
        let want: Vec<Execution> = want.into_iter().cloned().collect();
        async move {
            let got = list_executions(&*store, filter.clone()).await;
            assert_eq!(got.items, want, "filter {filter:?}");
            assert_eq!(got.total, want.len() as u64, "total of filter {filter:?}");
        }
    };
    let f = ExecutionFilter::default;
    check(f(), vec![&b2, &a3, &b1, &a2, &a1]).await;
    check(of_task(&a.id), vec![&a3, &a2, &a1]).await;
    check(
        ExecutionFilter {
            executor_id: Some(x.id.clone()),
            ..f()
        },
        vec![&b1, &a1],
    )
    .await;
    check(
        ExecutionFilter {
            status: Some(ExecutionStatus::Success),
            ..f()
        },
        vec![&b2, &a1],
    )
    .await;
    check(
        ExecutionFilter {
            status: Some(ExecutionStatus::Cancelled),
            ..f()
        },
        vec![],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at(10)),
            ..f()
        },
        vec![&b2, &a3, &b1, &a2],
    )
    .await;
    check(
        ExecutionFilter {
            to: Some(at(10)),
            ..f()
        },
        vec![&a2, &a1],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at(10)),
            to: Some(at(20)),
            ..f()
        },
        vec![&a3, &b1, &a2],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at_ms(10_001)),
            to: Some(at_ms(19_999)),
            ..f()
        },
        vec![&b1],
    )
    .await;
    check(
        ExecutionFilter {
            from: Some(at(20)),
            to: Some(at(10)),
            ..f()
        },
        vec![],
    )
    .await;
    check(
        ExecutionFilter {
            task_id: Some(a.id.clone()),
            executor_id: Some(y.id.clone()),
            ..f()
        },
        vec![&a2],
    )
    .await;
    check(
        ExecutionFilter {
            task_id: Some(b.id.clone()),
            status: Some(ExecutionStatus::Running),
            from: Some(at(15)),
            to: Some(at(15)),
            executor_id: Some(x.id.clone()),
        },
        vec![&b1],
    )
    .await;
    check(of_task(&TaskId::generate()), vec![]).await;
    check(
        ExecutionFilter {
            executor_id: Some(ExecutorId::generate()),
            ..f()
        },
        vec![],
    )
    .await;
}

/// Executions are listed newest `scheduled_time` first (not `created_at`),
/// ties by id descending, with paging and totals.
pub async fn list_executions_pages_newest_first(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let mut by_i = Vec::new();
    for i in [4, 9, 0, 11, 2, 7, 5, 1, 10, 3, 8, 6] {
        let mut e = execution(&t.id, TriggerType::Manual, at(i * 60));
        e.created_at = at(10_000 - i); // reverse order: must not matter
        by_i.push((i, insert(&*store, e).await));
    }
    by_i.sort_by_key(|(i, _)| *i);
    let ids_of = |is: &[usize]| is.iter().map(|&i| by_i[i].1.id.clone()).collect::<Vec<_>>();
    let page = |p| {
        let store = store.clone();
        let filter = of_task(&t.id);
        async move {
            store
                .list_executions(&filter, &ListFrom::Page(p), 5)
                .await
                .expect("list_executions")
        }
    };
    let p2 = page(2).await;
    assert_eq!(execution_ids(&p2.items), ids_of(&[6, 5, 4, 3, 2]));
    assert_eq!(p2.total, 12);
    let p3 = page(3).await;
    assert_eq!(execution_ids(&p3.items), ids_of(&[1, 0]));
    assert_eq!(p3.total, 12);
    assert!(page(4).await.items.is_empty());

    // Same scheduled_time: by id, descending.
    let u = create_active(&*store, "ties", at(0)).await;
    let mut tied = Vec::new();
    for _ in 0..3 {
        tied.push(insert(&*store, execution(&u.id, TriggerType::Manual, at(5))).await.id);
    }
    tied.sort();
    tied.reverse();
    let got = list_executions(&*store, of_task(&u.id)).await;
    assert_eq!(execution_ids(&got.items), tied);
}

/// `task_activity` counts the task's `pending` and `running` executions.
pub async fn task_activity_counts_pending_and_running(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let other = create_active(&*store, "other", at(0)).await;
    let activity = |id: TaskId| {
        let store = store.clone();
        async move { store.task_activity(&id).await.expect("task_activity") }
    };
    assert_eq!(activity(t.id.clone()).await, TaskActivity::default());

    let p1 = insert(&*store, execution_in(&t.id, at(1), ExecutionStatus::Pending, None)).await;
    insert(&*store, execution_in(&t.id, at(2), ExecutionStatus::Pending, None)).await;
    let r1 = insert(&*store, execution_in(&t.id, at(3), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&t.id, at(4), ExecutionStatus::Success, None)).await;
    insert(&*store, execution_in(&t.id, at(5), ExecutionStatus::Skipped, None)).await;
    insert(&*store, execution_in(&other.id, at(6), ExecutionStatus::Running, None)).await;
    assert_eq!(activity(t.id.clone()).await, TaskActivity { pending: 2, running: 1 });
    assert_eq!(
        activity(other.id.clone()).await,
        TaskActivity { pending: 0, running: 1 }
    );

    let to = |s: ExecutionStatus| ExecutionChange {
        status: Some(s),
        ..ExecutionChange::default()
    };
    let any = ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running]);
    store
        .update_execution(&p1.id, &any, &to(ExecutionStatus::Running))
        .await
        .expect("update_execution");
    assert_eq!(activity(t.id.clone()).await, TaskActivity { pending: 1, running: 2 });
    store
        .update_execution(&r1.id, &any, &to(ExecutionStatus::Timeout))
        .await
        .expect("update_execution");
    store
        .update_execution(&p1.id, &any, &to(ExecutionStatus::Pending))
        .await
        .expect("update_execution");
    assert_eq!(activity(t.id.clone()).await, TaskActivity { pending: 2, running: 0 });
}

/// `due_executions`: `pending`, not sent, `next_attempt_at` null or `<= now`,
/// oldest first, at most `limit`.
pub async fn due_executions_are_pending_undispatched_and_ripe(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let now = at(100);
    let pending = |scheduled: i64, created: i64, next: Option<DateTime<Utc>>| {
        let mut e = execution(&t.id, TriggerType::Manual, at(scheduled));
        e.created_at = at(created);
        e.next_attempt_at = next;
        e
    };
    // Oldest by created_at and by next_attempt_at alike: d1, d7, d2.
    let d1 = insert(&*store, pending(0, 0, None)).await;
    let d2 = insert(&*store, pending(5, 20, Some(now))).await;
    let d3 = insert(&*store, pending(6, 30, Some(at_ms(100_001)))).await;
    let mut sent = pending(7, 40, None);
    sent.dispatched_at = Some(at(41));
    insert(&*store, sent).await;
    insert(&*store, execution_in(&t.id, at(8), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&t.id, at(9), ExecutionStatus::Success, None)).await;
    let mut failed = execution_in(&t.id, at(10), ExecutionStatus::Failed, None);
    failed.dispatched_at = None;
    insert(&*store, failed).await;
    let d7 = insert(&*store, pending(11, 10, Some(at(50)))).await;

    let due = store.due_executions(now, 100).await.expect("due_executions");
    assert_eq!(execution_ids(&due), [d1.id.clone(), d7.id.clone(), d2.id.clone()]);
    assert_eq!(due[0], d1);
    let two = store.due_executions(now, 2).await.expect("due_executions");
    assert_eq!(execution_ids(&two), [d1.id.clone(), d7.id.clone()]);

    let later = store.due_executions(at_ms(100_001), 100).await.expect("due_executions");
    assert!(later.iter().any(|e| e.id == d3.id));
    assert_eq!(later.len(), 4);

    // Marking d1 sent takes it off the list.
    store
        .update_execution(
            &d1.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Pending]).dispatched(false),
            &ExecutionChange {
                dispatched_at: Some(Some(now)),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    let due = store.due_executions(now, 100).await.expect("due_executions");
    assert_eq!(execution_ids(&due), [d7.id.clone(), d2.id.clone()]);
}

/// `unanswered_executions`: `pending` executions with `dispatched_at` set, at
/// most `limit`.
pub async fn unanswered_executions_are_pending_and_dispatched(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let mut want = BTreeSet::new();
    for i in 0..3 {
        let mut e = execution(&t.id, TriggerType::Manual, at(i));
        e.dispatched_at = Some(at(i + 1));
        want.insert(insert(&*store, e).await.id);
    }
    insert(&*store, execution(&t.id, TriggerType::Manual, at(10))).await;
    insert(&*store, execution_in(&t.id, at(11), ExecutionStatus::Running, None)).await;
    insert(&*store, execution_in(&t.id, at(12), ExecutionStatus::Failed, None)).await;

    let got = store.unanswered_executions(100).await.expect("unanswered_executions");
    assert_eq!(id_set(&got, |e: &Execution| &e.id), want);
    assert!(
        got.iter()
            .all(|e| e.status == ExecutionStatus::Pending && e.dispatched_at.is_some())
    );
    let two = store.unanswered_executions(2).await.expect("unanswered_executions");
    assert_eq!(two.len(), 2);
    assert!(two.iter().all(|e| want.contains(&e.id)));
}

/// `overdue_executions`: `pending` or `running` with `timeout_at <= now`,
/// oldest deadline first, at most `limit`; final ones never.
pub async fn overdue_executions_are_unfinished_past_their_deadline(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let now = at(100);
    let with_deadline = |i: i64, status: ExecutionStatus, deadline: Option<DateTime<Utc>>| {
        let mut e = execution_in(&t.id, at(i), status, None);
        e.timeout_at = deadline;
        e
    };
    let o2 = insert(&*store, with_deadline(1, ExecutionStatus::Running, Some(now))).await;
    let o1 = insert(&*store, with_deadline(2, ExecutionStatus::Pending, Some(at(90)))).await;
    insert(
        &*store,
        with_deadline(3, ExecutionStatus::Running, Some(at_ms(100_001))),
    )
    .await;
    insert(&*store, with_deadline(4, ExecutionStatus::Success, Some(at(50)))).await;
    insert(&*store, with_deadline(5, ExecutionStatus::Running, None)).await;
    insert(&*store, with_deadline(6, ExecutionStatus::Timeout, Some(at(10)))).await;
    insert(&*store, with_deadline(7, ExecutionStatus::Cancelled, Some(at(10)))).await;

    let got = store.overdue_executions(now, 100).await.expect("overdue_executions");
    assert_eq!(execution_ids(&got), [o1.id.clone(), o2.id.clone()]);
    assert_eq!(got[0], o1);
    let one = store.overdue_executions(now, 1).await.expect("overdue_executions");
    assert_eq!(execution_ids(&one), std::slice::from_ref(&o1.id));

    store
        .update_execution(
            &o2.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Running]),
            &ExecutionChange {
                status: Some(ExecutionStatus::Timeout),
                end_time: Some(Some(now)),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    // A retry moves the deadline.
    store
        .update_execution(
            &o1.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Pending]),
            &ExecutionChange {
                timeout_at: Some(Some(at(400))),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    assert!(
        store
            .overdue_executions(now, 100)
            .await
            .expect("overdue_executions")
            .is_empty()
    );
    let got = store
        .overdue_executions(at(400), 100)
        .await
        .expect("overdue_executions");
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].id, o1.id);
}
