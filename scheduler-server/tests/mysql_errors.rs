//! MySQL from the server's side: `?require_ssl=true` against a server
//! without TLS fails at start with a clear message (it used to panic inside
//! the driver), and a value the database refuses for good is not reported
//! as "unavailable, retry".

mod common;

use common::e2e::test_config;
use scheduler_core::{ExecutionChange, ExecutionGuard, ExecutionStatus, NewTask, Scheduler, Store, StoreError};
use scheduler_mysql::MysqlStore;
use scheduler_mysql::test_util::TestDb;
use scheduler_server::Server;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_ssl_without_tls_on_the_server_fails_at_start_with_a_clear_message() {
    let Some(db) = TestDb::create().await else { return };
    // The local test server has no TLS.
    let url = format!("{}?require_ssl=true", db.url);
    let err = Server::build(&test_config(Some(&url)))
        .await
        .expect_err("the server must not start without TLS");
    let text = err.to_string();
    assert!(text.contains("SSL") || text.contains("TLS"), "{text}");
    assert!(text.contains("require_ssl=true"), "{text}");
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_the_database_refuses_is_not_unavailable() {
    let Some(db) = TestDb::create().await else { return };
    let store = Arc::new(MysqlStore::connect(&db.url, 2).await.unwrap());
    let s = Scheduler::builder().store(store.clone()).build();
    let task = s
        .create_task(NewTask {
            name: "refused".into(),
            cron_expression: "0 0 0 1 1 *".into(),
            status: Some(scheduler_core::TaskStatus::Paused),
            ..NewTask::default()
        })
        .await
        .unwrap();
    let exec = s.trigger(&task.id, None).await.unwrap();
    // Year 10000 does not fit a DATETIME: MariaDB refuses the value (1292).
    use chrono::TimeZone;
    let far = chrono::Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
    let change = ExecutionChange {
        end_time: Some(Some(far)),
        ..ExecutionChange::default()
    };
    let guard = ExecutionGuard::status_in(&ExecutionStatus::ALL);
    let err = store.update_execution(&exec.id, &guard, &change).await.unwrap_err();
    assert!(!matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let api = scheduler_server::ApiError::from(err);
    assert!(
        api.status().is_client_error() || api.status().as_u16() == 500,
        "{api:?}"
    );
    assert_ne!(api.status().as_u16(), 503);
    db.drop_db().await;
}
