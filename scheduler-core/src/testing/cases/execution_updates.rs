//! The execution compare-and-set: changes, guards, final states, logs,
//! not-found against conflict, exclusivity under concurrency.

use super::*;

/// When the guard holds, every field of the change is applied (including
/// setting optional fields back to null) and the others are left alone.
pub async fn update_execution_applies_the_change(store: Arc<dyn Store>) {
    let x = register_new(&*store, "svc", "x", at(0)).await;
    let t = create_active(&*store, "t", at(0)).await;
    let mut e = execution(&t.id, TriggerType::Schedule, at(60));
    e.parameters = Some(json!({"p": 1}));
    store.claim_fire(&e, None).await.expect("claim_fire");

    let send = ExecutionChange {
        executor_id: Some(Some(x.id.clone())),
        dispatched_at: Some(Some(at_ms(60_100))),
        timeout_at: Some(Some(at_ms(360_100))),
        callback_token: Some(Some("secret".to_owned())),
        next_attempt_at: Some(None),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending])
        .attempt(0)
        .dispatched(false);
    let got = store
        .update_execution(&e.id, &guard, &send)
        .await
        .expect("update_execution");
    let mut want = e.clone();
    send.apply_to(&mut want);
    assert_eq!(got, want);
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), want);

    let accept = ExecutionChange {
        status: Some(ExecutionStatus::Running),
        start_time: Some(Some(at_ms(60_200))),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending]).dispatched(true);
    let got = store
        .update_execution(&e.id, &guard, &accept)
        .await
        .expect("update_execution");
    accept.apply_to(&mut want);
    assert_eq!(got, want);

    // A failed attempt goes back to pending for a retry: nulls and a new attempt number.
    let retry = ExecutionChange {
        status: Some(ExecutionStatus::Pending),
        executor_id: Some(None),
        start_time: Some(None),
        retry_count: Some(1),
        dispatched_at: Some(None),
        next_attempt_at: Some(Some(at_ms(62_200))),
        timeout_at: Some(None),
        callback_token: Some(None),
        append_log: Some("attempt 0 failed: refused".to_owned()),
        result: Some(Some(json!({"error": "boom"}))),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Running]).attempt(0);
    let got = store
        .update_execution(&e.id, &guard, &retry)
        .await
        .expect("update_execution");
    retry.apply_to(&mut want);
    assert_eq!(got, want);
    assert_eq!(got.executor_id, None);
    assert_eq!(got.retry_count, 1);

    let finish = ExecutionChange {
        status: Some(ExecutionStatus::Success),
        executor_id: Some(Some(x.id.clone())),
        start_time: Some(Some(at_ms(63_000))),
        end_time: Some(Some(at_ms(64_500))),
        result: Some(None),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running]).attempt(1);
    let got = store
        .update_execution(&e.id, &guard, &finish)
        .await
        .expect("update_execution");
    finish.apply_to(&mut want);
    assert_eq!(got, want);
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), want);
    assert_eq!(want.parameters, Some(json!({"p": 1})));
    assert_eq!(want.scheduled_time, at(60));
}

/// The guard checks the status, the attempt number and whether the attempt
/// was sent; a failed guard is `Conflict` and changes nothing.
pub async fn update_execution_guard_checks_status_attempt_and_dispatch(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(60))).await;
    let change = ExecutionChange {
        dispatched_at: Some(Some(at(61))),
        append_log: Some("sent".to_owned()),
        ..ExecutionChange::default()
    };
    let pending = || ExecutionGuard::status_in(&[ExecutionStatus::Pending]);
    for refused in [
        ExecutionGuard::status_in(&[ExecutionStatus::Running]),
        ExecutionGuard::status_in(&[]),
        pending().attempt(1),
        pending().dispatched(true),
        pending().attempt(0).dispatched(true),
    ] {
        assert_conflict(store.update_execution(&e.id, &refused, &change).await);
        assert_eq!(
            store.get_execution(&e.id).await.expect("get_execution"),
            e,
            "{refused:?}"
        );
    }

    let sent = store
        .update_execution(&e.id, &pending().attempt(0).dispatched(false), &change)
        .await
        .expect("update_execution");
    assert_eq!(sent.dispatched_at, Some(at(61)));
    // The same attempt cannot be marked sent twice.
    assert_conflict(
        store
            .update_execution(&e.id, &pending().attempt(0).dispatched(false), &change)
            .await,
    );
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), sent);
    let got = store
        .update_execution(
            &e.id,
            &pending().attempt(0).dispatched(true),
            &ExecutionChange {
                status: Some(ExecutionStatus::Running),
                ..ExecutionChange::default()
            },
        )
        .await
        .expect("update_execution");
    assert_eq!(got.status, ExecutionStatus::Running);
}

/// An execution in a final state is never changed, even by a guard that lists
/// its status.
pub async fn update_execution_never_overwrites_a_final_state(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let everything = ExecutionGuard::status_in(&ExecutionStatus::ALL);
    let change = ExecutionChange {
        status: Some(ExecutionStatus::Pending),
        end_time: Some(None),
        append_log: Some("must not appear".to_owned()),
        ..ExecutionChange::default()
    };
    let finals = [
        ExecutionStatus::Success,
        ExecutionStatus::Failed,
        ExecutionStatus::Timeout,
        ExecutionStatus::Skipped,
        ExecutionStatus::Cancelled,
    ];
    for (i, status) in finals.into_iter().enumerate() {
        let when = at(i64::try_from(i).expect("small") * 60);
        let e = insert(&*store, execution_in(&t.id, when, status, None)).await;
        assert_conflict(store.update_execution(&e.id, &everything, &change).await);
        assert_conflict(
            store
                .update_execution(&e.id, &everything.clone().attempt(0), &change)
                .await,
        );
        assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), e);
    }

    // Reaching a final state through the store closes it as well.
    let e = insert(&*store, execution_in(&t.id, at(600), ExecutionStatus::Running, None)).await;
    let cancel = ExecutionChange {
        status: Some(ExecutionStatus::Cancelled),
        end_time: Some(Some(at(601))),
        ..ExecutionChange::default()
    };
    let done = store
        .update_execution(&e.id, &everything, &cancel)
        .await
        .expect("update_execution");
    let success = ExecutionChange {
        status: Some(ExecutionStatus::Success),
        ..ExecutionChange::default()
    };
    assert_conflict(store.update_execution(&e.id, &everything, &success).await);
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), done);
}

/// `append_log` starts the logs or joins them to earlier logs with `\n`.
pub async fn update_execution_appends_logs_with_newlines(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let any = ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running]);
    let log = |line: &str| ExecutionChange {
        append_log: Some(line.to_owned()),
        ..ExecutionChange::default()
    };

    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(1))).await;
    assert_eq!(e.logs, None);
    let got = store
        .update_execution(&e.id, &any, &log("first"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("first"));
    let got = store
        .update_execution(&e.id, &any, &log("second: ✓ ünïcode"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("first\nsecond: ✓ ünïcode"));
    let got = store
        .update_execution(&e.id, &any, &log("multi\nline"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("first\nsecond: ✓ ünïcode\nmulti\nline"));
    assert_eq!(store.get_execution(&e.id).await.expect("get_execution"), got);

    let mut pre = execution(&t.id, TriggerType::Manual, at(2));
    pre.logs = Some("from the start".to_owned());
    let pre = insert(&*store, pre).await;
    let got = store
        .update_execution(&pre.id, &any, &log("more"))
        .await
        .expect("update_execution");
    assert_eq!(got.logs.as_deref(), Some("from the start\nmore"));
}

/// An unknown execution is `NotFound`, a guard that fails is `Conflict`.
pub async fn update_execution_not_found_vs_conflict(store: Arc<dyn Store>) {
    let t = create_active(&*store, "t", at(0)).await;
    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(1))).await;
    let change = ExecutionChange {
        status: Some(ExecutionStatus::Running),
        ..ExecutionChange::default()
    };
    let ghost = ExecutionId::generate();
    let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending]);
    assert_not_found(
        store.update_execution(&ghost, &guard, &change).await,
        "execution",
        ghost.as_str(),
    );
    assert_conflict(
        store
            .update_execution(&e.id, &ExecutionGuard::status_in(&[ExecutionStatus::Running]), &change)
            .await,
    );
}

/// 16 concurrent compare-and-sets with the same guard: exactly one applies.
pub async fn update_execution_is_exclusive_under_concurrency(store: Arc<dyn Store>) {
    const CONTENDERS: usize = 16;
    let t = create_active(&*store, "t", at(0)).await;
    let e = insert(&*store, execution(&t.id, TriggerType::Manual, at(1))).await;
    let barrier = Arc::new(tokio::sync::Barrier::new(CONTENDERS));
    let mut handles = Vec::new();
    for i in 0..CONTENDERS {
        let (store, barrier, id) = (store.clone(), barrier.clone(), e.id.clone());
        handles.push(tokio::spawn(async move {
            let guard = ExecutionGuard::status_in(&[ExecutionStatus::Pending])
                .attempt(0)
                .dispatched(false);
            let change = ExecutionChange {
                dispatched_at: Some(Some(at(2))),
                append_log: Some(format!("sent by {i}")),
                ..ExecutionChange::default()
            };
            barrier.wait().await;
            store.update_execution(&id, &guard, &change).await
        }));
    }
    let mut won = 0;
    for h in handles {
        match h.await.expect("a contender panicked") {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("expected Conflict for a lost race, got {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let got = store.get_execution(&e.id).await.expect("get_execution");
    let logs = got.logs.expect("the winner's log line");
    assert!(logs.starts_with("sent by ") && !logs.contains('\n'), "{logs:?}");
}
