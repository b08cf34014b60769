//! When the database connections die, calls fail with `Unavailable` (no
//! panic, no other error) and succeed again once the server answers.

mod common;

use chrono::{TimeZone, Utc};
use common::TestDb;
use scheduler_core::{NewTask, Store, StoreError, TaskId};
use scheduler_mysql::{MysqlError, MysqlStore, MysqlStoreOptions};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connections_give_unavailable_then_calls_recover() {
    let Some(db) = TestDb::create().await else { return };
    let store = Arc::new(MysqlStore::connect(&db.url, 4).await.expect("connect"));
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let (task, _) = NewTask::new("outage", "0 * * * * *")
        .validate(TaskId::generate(), now)
        .expect("valid task");
    store.create_task(&task, &[]).await.expect("create");
    // Open several pooled connections.
    let calls = (0..8).map(|_| {
        let s = store.clone();
        let id = task.id.clone();
        tokio::spawn(async move { s.get_task(&id).await })
    });
    for c in calls {
        c.await.expect("join").expect("get_task");
    }

    // Every connection of the store dies (as in a server restart).
    let killed = common::kill_connections_to(&db.name).await;
    assert!(killed >= 1, "the store had connections to kill");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let mut unavailable = 0;
    let mut recovered = false;
    for _ in 0..10 {
        match store.get_task(&task.id).await {
            Ok(t) => {
                assert_eq!(t.id, task.id);
                recovered = true;
                break;
            }
            Err(StoreError::Unavailable(msg)) => {
                eprintln!("unavailable: {msg}");
                unavailable += 1;
            }
            Err(e) => panic!("a dead connection must give Unavailable, got {e:?}"),
        }
    }
    assert!(unavailable >= 1, "a call on a killed connection reports Unavailable");
    assert!(recovered, "calls succeed again once the server answers");
    // One failure is enough to make the pool check its other idle connections.
    assert!(unavailable <= 2, "recovered after {unavailable} failed calls");

    // Writes work again too, and concurrently.
    let calls = (0..8).map(|_| {
        let s = store.clone();
        tokio::spawn(async move { s.ping().await })
    });
    for c in calls {
        c.await.expect("join").expect("ping after recovery");
    }
    drop(store);
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_fails_connect_and_calls_fast() {
    // Port 1 on loopback refuses connections at once.
    let url = "mysql://root@127.0.0.1:1/nothing";
    let started = std::time::Instant::now();
    match MysqlStore::connect(url, 2).await {
        Err(MysqlError::Unreachable(_)) => {}
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));

    match MysqlStore::connect("not a url", 2).await {
        Err(MysqlError::InvalidUrl(_) | MysqlError::Unreachable(_)) => {}
        other => panic!("expected InvalidUrl, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_whose_server_goes_away_answers_unavailable() {
    let Some(db) = TestDb::create().await else { return };
    let store = MysqlStore::connect_with(
        &db.url,
        MysqlStoreOptions {
            max_connections: 2,
            connection_timeout: Duration::from_secs(1),
            ..MysqlStoreOptions::default()
        },
    )
    .await
    .expect("connect");
    store.ping().await.expect("ping");
    // The database disappears under the store: calls fail cleanly, no panic.
    db.drop_db().await;
    match store.get_task(&TaskId::new("x")).await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    store.ping().await.expect("the server itself still answers");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_going_away_and_coming_back() {
    use scheduler_core::Leadership;
    use scheduler_mysql::{MysqlLeadership, MysqlLeadershipConfig};
    use std::time::Instant;

    let Some(db) = TestDb::create().await else { return };
    let proxy = common::Proxy::start().await;
    let url = proxy.url(&db.name);
    let store = MysqlStore::connect_with(
        &url,
        MysqlStoreOptions {
            max_connections: 4,
            connection_timeout: Duration::from_secs(3),
            ..MysqlStoreOptions::default()
        },
    )
    .await
    .expect("connect through the proxy");
    let leadership = MysqlLeadership::new(
        url.clone(),
        MysqlLeadershipConfig {
            lock_key: format!("sched_test_lock_{}", uuid::Uuid::now_v7().simple()),
            heartbeat_interval: Duration::from_millis(200),
            lock_timeout: Duration::from_secs(2),
        },
    );
    leadership.start("solo").await;
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
    let (task, _) = NewTask::new("outage", "0 * * * * *")
        .validate(TaskId::generate(), now)
        .expect("valid task");
    store.create_task(&task, &[]).await.expect("create");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !leadership.is_leader() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(leadership.is_leader(), "leads while the server is up");

    // Outage.
    proxy.down().await;
    for _ in 0..5 {
        let started = Instant::now();
        match store.get_task(&task.id).await {
            Err(StoreError::Unavailable(m)) => eprintln!("outage: {m} after {:?}", started.elapsed()),
            other => panic!("expected Unavailable during the outage, got {other:?}"),
        }
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "fails fast, not at the pool timeout ({:?})",
            started.elapsed()
        );
    }
    match store.ping().await {
        Err(StoreError::Unavailable(_)) => {}
        other => panic!("expected Unavailable, got {other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while leadership.is_leader() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        !leadership.is_leader(),
        "leadership is lost while the lock connection is broken"
    );

    // The server is back: calls and leadership recover without a restart.
    proxy.up().await;
    let mut recovered = false;
    for _ in 0..20 {
        match store.get_task(&task.id).await {
            Ok(t) => {
                assert_eq!(t.id, task.id);
                recovered = true;
                break;
            }
            Err(StoreError::Unavailable(_)) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert!(recovered, "the pool reconnects");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !leadership.is_leader() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(leadership.is_leader(), "leads again after the outage");
    leadership.release().await;
    drop(store);
    proxy.down().await;
    db.drop_db().await;
}
