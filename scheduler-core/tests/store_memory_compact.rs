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
