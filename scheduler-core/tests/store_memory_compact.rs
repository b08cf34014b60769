//! What the memory store's compact rows must keep exactly: ids and tokens
//! that are not in the compact forms, their order, and the parameters
//! shared between executions of one task.

use chrono::{TimeZone, Utc};
use scheduler_core::{
    Execution, ExecutionFilter, ExecutionId, ListFrom, MemoryStore, NewTask, Store, StoreError, TaskId, TriggerType,
};

async fn store_with_task() -> (MemoryStore, TaskId) {
    let store = MemoryStore::new();
    let id = TaskId::new("t1");
    let (task, assigned) = NewTask::new("job", "* * * * * *")
        .validate(id.clone(), Utc::now())
        .expect("valid task");
    store.create_task(&task, &assigned).await.expect("create");
    (store, id)
}

#[tokio::test]
async fn ids_and_tokens_of_any_spelling_round_trip_in_text_order() {
    let (store, task) = store_with_task().await;
    let at = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
    let generated = ExecutionId::generate();
    let upper = ExecutionId::new(generated.as_str().to_uppercase());
    let ids = [
        generated.clone(),
        upper.clone(),
        ExecutionId::new("zz-manual"),
        ExecutionId::new("0"),
    ];
    for (n, id) in ids.iter().enumerate() {
        let mut e = Execution::new_pending(
            task.clone(),
            TriggerType::Manual,
            at,
            Some(serde_json::json!({"n": 1})),
            at,
        );
        e.id = id.clone();
        e.callback_token = Some(if n % 2 == 0 {
            format!("{:032x}", n + 7)
        } else {
            "Not-Hex".into()
        });
        e.logs = (n == 3).then(|| "a line".to_owned());
        let stored = store.insert_execution(&e).await.expect("insert");
        assert_eq!(stored, e);
        assert_eq!(store.get_execution(id).await.expect("get"), e);
    }
    let page = store
        .list_executions(&ExecutionFilter::default(), &ListFrom::Page(1), 10)
        .await
        .expect("list");
    let mut expected: Vec<ExecutionId> = ids.to_vec();
    expected.sort();
    expected.reverse();
    let listed: Vec<ExecutionId> = page.items.iter().map(|e| e.id.clone()).collect();
    assert_eq!(listed, expected, "ties on the time go by id, as text");
    assert_eq!(store.len(), 4);
}

#[tokio::test]
async fn times_outside_the_nanosecond_range_are_refused() {
    let (store, task) = store_with_task().await;
    let far = Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap();
    let e = Execution::new_pending(task, TriggerType::Manual, far, None, Utc::now());
    assert!(matches!(store.insert_execution(&e).await, Err(StoreError::Invalid(_))));
    assert!(store.is_empty());
}

/// Changes are applied to the stored row in place: the result is what
/// applying each change to the execution gives, whatever spelling the token
/// moves between and however the logs and the result change.
#[tokio::test]
async fn changes_applied_in_place_equal_changes_applied_to_the_execution() {
    use scheduler_core::{ExecutionChange, ExecutionGuard, ExecutionStatus, ExecutorId};
    const MAX_LOG: usize = 64;
    let store = MemoryStore::with_max_log_bytes(MAX_LOG);
    let task = TaskId::new("t1");
    let (t, assigned) = NewTask::new("job", "* * * * * *")
        .validate(task.clone(), Utc::now())
        .expect("valid task");
    store.create_task(&t, &assigned).await.expect("create");
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
    let hex = format!("{:032x}", 0xabcu128);
    let changes = [
        ExecutionChange {
            executor_id: Some(Some(ExecutorId::new("x1"))),
            retry_count: Some(1),
            dispatched_at: Some(Some(at)),
            timeout_at: Some(Some(at + chrono::Duration::seconds(30))),
            callback_token: Some(Some(hex.clone())),
            result: Some(Some(serde_json::Value::Null)),
            ..ExecutionChange::default()
        },
        ExecutionChange {
            callback_token: Some(Some("Not-Hex".into())),
            append_log: Some("first line".into()),
            ..ExecutionChange::default()
        },
        ExecutionChange {
            status: Some(ExecutionStatus::Running),
            start_time: Some(Some(at)),
            result: Some(Some(serde_json::json!({"partial": true}))),
            append_log: Some("x".repeat(100)),
            ..ExecutionChange::default()
        },
        ExecutionChange {
            callback_token: Some(Some(hex)),
            result: Some(None),
            executor_id: Some(None),
            ..ExecutionChange::default()
        },
        ExecutionChange {
            status: Some(ExecutionStatus::Success),
            end_time: Some(Some(at + chrono::Duration::seconds(2))),
            timeout_at: Some(None),
            callback_token: Some(None),
            result: Some(Some(serde_json::Value::Null)),
            append_log: Some("done".into()),
            ..ExecutionChange::default()
        },
    ];
    let mut expected = Execution::new_pending(task, TriggerType::Schedule, at, None, at);
    store.insert_execution(&expected).await.expect("insert");
    let any = ExecutionGuard::status_in(&[ExecutionStatus::Pending, ExecutionStatus::Running]);
    for (i, change) in changes.iter().enumerate() {
        change.apply_bounded(&mut expected, MAX_LOG);
        let got = store
            .update_execution(&expected.id, &any, change)
            .await
            .expect("update");
        assert_eq!(got, expected, "after change {i}");
        assert_eq!(store.get_execution(&expected.id).await.expect("get"), expected);
    }
    // Final now: the guard refuses, and nothing changes.
    let again = ExecutionChange {
        status: Some(ExecutionStatus::Failed),
        ..ExecutionChange::default()
    };
    assert!(matches!(
        store.update_execution(&expected.id, &any, &again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.get_execution(&expected.id).await.expect("get"), expected);
}

/// More rows than one chunk of the slab, with slots freed and reused across
/// chunks: every row stays where its id finds it.
#[tokio::test]
async fn rows_across_slab_chunks_stay_reachable() {
    let (store, task) = store_with_task().await;
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
    let done = |i: i64| {
        let t = at + chrono::Duration::seconds(i);
        let mut e = Execution::new_pending(task.clone(), TriggerType::Manual, t, None, t);
        e.status = scheduler_core::ExecutionStatus::Success;
        e.end_time = Some(t);
        e
    };
    let mut rows = Vec::new();
    for i in 0..10_000i64 {
        let e = done(i);
        store.insert_execution(&e).await.expect("insert");
        rows.push(e);
    }
    // The oldest half goes (retention), and as many new rows reuse the slots.
    let removed = store
        .purge_executions(at + chrono::Duration::seconds(5_000), 10_000)
        .await
        .expect("purge");
    assert_eq!(removed, 5_000);
    for i in 10_000..15_000i64 {
        let e = done(i);
        store.insert_execution(&e).await.expect("insert");
        rows.push(e);
    }
    assert_eq!(store.len(), 10_000);
    for e in &rows[..5_000] {
        assert!(matches!(
            store.get_execution(&e.id).await,
            Err(StoreError::NotFound { .. })
        ));
    }
    for e in &rows[5_000..] {
        assert_eq!(&store.get_execution(&e.id).await.expect("get"), e);
    }
}

/// Ids that do not arrive in their order (made elsewhere, or imported) are
/// found as well as the engine's own, and an id is stored at most once in
/// either form.
#[tokio::test]
async fn ids_out_of_order_are_found_and_never_stored_twice() {
    let (store, task) = store_with_task().await;
    let at = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
    let mut ids: Vec<ExecutionId> = (0..3_000).map(|_| ExecutionId::generate()).collect();
    ids.push(ExecutionId::new("manual-1"));
    // Newest first, then every other one of the rest: inserts land at the
    // front and in the middle of the index, never at its end.
    let order: Vec<usize> = (0..ids.len())
        .rev()
        .filter(|i| i % 2 == 0)
        .chain((0..ids.len()).filter(|i| i % 2 == 1))
        .collect();
    for &i in &order {
        let mut e = Execution::new_pending(task.clone(), TriggerType::Manual, at, None, at);
        e.id = ids[i].clone();
        store.insert_execution(&e).await.expect("insert");
    }
    for id in &ids {
        assert_eq!(&store.get_execution(id).await.expect("get").id, id);
        let mut again = Execution::new_pending(task.clone(), TriggerType::Manual, at, None, at);
        again.id = id.clone();
        assert!(matches!(
            store.insert_execution(&again).await,
            Err(StoreError::Conflict(_))
        ));
    }
    assert_eq!(store.len(), ids.len());
}
