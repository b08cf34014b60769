//! The end-to-end scenarios of `e2e_http.rs`, on MySQL/MariaDB: one fresh
//! database per test (`SCHEDULER_TEST_MYSQL_URL`, default
//! `mysql://root@127.0.0.1:3306`). Unreachable MySQL skips loudly, or fails
//! under `CI=true`.

mod common;

use common::e2e::{self, TestServer, test_config};
use scheduler_mysql::test_util::TestDb;
use std::future::Future;

/// Runs `scenario` against a server on a fresh database, then drops it.
async fn on_mysql<F, Fut>(scenario: F)
where
    F: FnOnce(TestServer) -> Fut,
    Fut: Future<Output = TestServer> + Send + 'static,
{
    let Some(db) = TestDb::create().await else { return };
    let server = TestServer::start(test_config(Some(&db.url))).await;
    let outcome = tokio::spawn(scenario(server)).await;
    match outcome {
        Ok(server) => {
            server.stop().await;
            db.drop_db().await;
        }
        Err(e) => {
            db.drop_db().await;
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_dispatch_body_and_callback_with_token() {
    on_mysql(|s| async move {
        e2e::dispatch_and_callback(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_scheduled_fire_carries_the_cron_instant() {
    on_mysql(|s| async move {
        e2e::scheduled_fire(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_synchronous_completion_by_the_dispatch_reply() {
    on_mysql(|s| async move {
        e2e::synchronous_completion(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_refused_attempt_is_retried_on_another_executor() {
    on_mysql(|s| async move {
        e2e::retry_on_another_executor(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_timeout_sends_stop_to_the_executor() {
    on_mysql(|s| async move {
        e2e::timeout_sends_stop(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_stop_sends_stop_to_the_executor() {
    on_mysql(|s| async move {
        e2e::stop_sends_stop(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_health_failure_and_recovery_thresholds() {
    on_mysql(|s| async move {
        e2e::health_thresholds(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_large_progress_logs_stay_bounded() {
    on_mysql(|s| async move {
        e2e::large_progress_logs_stay_bounded(&s).await;
        s
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_executions_by_cursor() {
    on_mysql(|s| async move {
        e2e::executions_by_cursor(&s).await;
        s
    })
    .await;
}
