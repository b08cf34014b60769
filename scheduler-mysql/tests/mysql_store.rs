//! Behaviour specific to the MySQL store, beyond the shared conformance suite:
//! millisecond storage, exact name comparison, compare-and-set across two
//! processes (two stores with separate caches), idempotent migrations.

mod common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::TestDb;
use scheduler_core::*;
use scheduler_mysql::{MysqlStore, MysqlStoreOptions};
use serde_json::json;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap()
}

async fn task(store: &MysqlStore, name: &str) -> Task {
    let (task, _) = NewTask::new(name, "0 * * * * *")
        .validate(TaskId::generate(), t0())
        .expect("valid task");
    store.create_task(&task, &[]).await.expect("create task")
}

async fn executor(store: &MysqlStore, instance: &str) -> Executor {
    let e = ExecutorRegistration {
        name: "svc".into(),
        instance_id: instance.into(),
        base_url: "http://127.0.0.1:9".into(),
        health_check_url: None,
        metadata: None,
    }
    .validate(ExecutorId::generate(), t0())
    .expect("valid executor");
    store.register_executor(&e).await.expect("register").0
}

fn running() -> (ExecutionGuard, ExecutionChange) {
    (
        ExecutionGuard::status_in(&[ExecutionStatus::Pending]).attempt(0),
        ExecutionChange {
            status: Some(ExecutionStatus::Running),
            start_time: Some(Some(t0() + Duration::seconds(1))),
            ..ExecutionChange::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instants_are_stored_at_millisecond_precision() {
    let Some(db) = TestDb::create().await else { return };
    let store = MysqlStore::connect(&db.url, 2).await.expect("connect");
    let t = task(&store, "ms").await;
    let at = t0() + Duration::nanoseconds(123_456_789);
    let e = Execution::new_pending(
        t.id.clone(),
        TriggerType::Manual,
        at,
        Some(json!({"a": [1, 2.5, "x"]})),
        at,
    );
    let written = store.insert_execution(&e).await.expect("insert");
    let read = store.get_execution(&e.id).await.expect("get");
    assert_eq!(written, read, "what a write returns is what a read returns");
    assert_eq!(read.scheduled_time, t0() + Duration::milliseconds(123));
    assert_eq!(read.parameters, Some(json!({"a": [1, 2.5, "x"]})));
    drop(store);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_names_compare_exactly() {
    let Some(db) = TestDb::create().await else { return };
    let store = MysqlStore::connect(&db.url, 2).await.expect("connect");
    for name in ["Report", "report", "report ", "réport"] {
        task(&store, name).await;
    }
    let (dup, _) = NewTask::new("report ", "0 * * * * *")
        .validate(TaskId::generate(), t0())
        .expect("valid");
    assert_eq!(
        store.create_task(&dup, &[]).await,
        Err(StoreError::NameTaken("report ".into()))
    );
    // LIKE metacharacters in a name filter match literally.
    task(&store, "100%_done!").await;
    let page = store
        .list_tasks(
            &TaskFilter {
                status: None,
                name: Some("%_".into()),
            },
            Page::new(1, 10),
        )
        .await
        .expect("list");
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].name, "100%_done!");
    drop(store);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_set_holds_across_two_stores() {
    let Some(db) = TestDb::create().await else { return };
    let a = MysqlStore::connect(&db.url, 2).await.expect("connect a");
    let b = MysqlStore::connect(&db.url, 2).await.expect("connect b");
    let t = task(&a, "cas").await;
    let e = Execution::new_pending(t.id.clone(), TriggerType::Schedule, t0(), None, t0());
    a.claim_fire(&e, None).await.expect("claim on a");
    assert!(matches!(
        b.claim_fire(&e, None).await,
        Err(StoreError::AlreadyFired { .. })
    ));

    // b moves it to running; a's cached copy (pending) is now stale.
    let (guard, change) = running();
    b.update_execution(&e.id, &guard, &change)
        .await
        .expect("b: pending -> running");
    assert!(matches!(
        a.update_execution(&e.id, &guard, &change).await,
        Err(StoreError::Conflict(_))
    ));
    // a succeeds with the right guard, through a fresh read.
    let done = ExecutionChange {
        status: Some(ExecutionStatus::Success),
        end_time: Some(Some(t0() + Duration::seconds(2))),
        append_log: Some("done".into()),
        ..ExecutionChange::default()
    };
    let ok = a
        .update_execution(&e.id, &ExecutionGuard::status_in(&[ExecutionStatus::Running]), &done)
        .await
        .expect("a: running -> success");
    assert_eq!(ok.status, ExecutionStatus::Success);
    assert_eq!(ok.start_time, Some(t0() + Duration::seconds(1)), "b's change is kept");
    assert_eq!(ok, b.get_execution(&e.id).await.expect("get"));
    drop((a, b));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_an_executor_is_seen_by_a_cached_compare_and_set() {
    let Some(db) = TestDb::create().await else { return };
    let store = MysqlStore::connect(&db.url, 2).await.expect("connect");
    let t = task(&store, "cache").await;
    let x = executor(&store, "x-1").await;
    let e = Execution::new_pending(t.id.clone(), TriggerType::Manual, t0(), None, t0());
    store.insert_execution(&e).await.expect("insert");
    let dispatch = ExecutionChange {
        executor_id: Some(Some(x.id.clone())),
        dispatched_at: Some(Some(t0())),
        ..ExecutionChange::default()
    };
    store
        .update_execution(
            &e.id,
            &ExecutionGuard::status_in(&[ExecutionStatus::Pending]),
            &dispatch,
        )
        .await
        .expect("dispatch");
    store.delete_executor(&x.id).await.expect("delete executor");
    let (guard, change) = running();
    let now = store.update_execution(&e.id, &guard, &change).await.expect("running");
    assert_eq!(now.executor_id, None, "the returned row reflects the removal");
    assert_eq!(now, store.get_execution(&e.id).await.expect("get"));
    drop(store);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_set_without_the_cache() {
    let Some(db) = TestDb::create().await else { return };
    let store = MysqlStore::connect_with(
        &db.url,
        MysqlStoreOptions {
            max_connections: 4,
            execution_cache_capacity: 0,
            ..MysqlStoreOptions::default()
        },
    )
    .await
    .expect("connect");
    let t = task(&store, "nocache").await;
    let e = Execution::new_pending(t.id.clone(), TriggerType::Manual, t0(), None, t0());
    store.insert_execution(&e).await.expect("insert");
    let (guard, change) = running();
    let store = std::sync::Arc::new(store);
    let racers = (0..8).map(|_| {
        let (s, id, g, c) = (store.clone(), e.id.clone(), guard.clone(), change.clone());
        tokio::spawn(async move { s.update_execution(&id, &g, &c).await })
    });
    let mut won = 0;
    for r in racers {
        match r.await.expect("join") {
            Ok(_) => won += 1,
            Err(StoreError::Conflict(_)) => {}
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(won, 1, "exactly one compare-and-set wins");
    assert_eq!(
        store.update_execution(&ExecutionId::new("nope"), &guard, &change).await,
        Err(StoreError::execution_not_found(&ExecutionId::new("nope")))
    );
    drop(store);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_are_idempotent_and_may_run_concurrently() {
    let Some(db) = TestDb::create().await else { return };
    let (a, b) = tokio::join!(MysqlStore::connect(&db.url, 1), MysqlStore::connect(&db.url, 1));
    let a = a.expect("first instance migrates");
    b.expect("second instance starting at once");
    a.migrate().await.expect("migrate again");
    a.ping().await.expect("ping");
    drop(a);
    db.drop_db().await;
}
