//! End to end over real sockets with the in-memory store: the server
//! dispatches to fake HTTP executors written here and takes their callbacks.

mod common;

use common::e2e::{self, TestServer, test_config};

async fn server() -> TestServer {
    TestServer::start(test_config(None)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatch_body_and_callback_with_token() {
    let s = server().await;
    e2e::dispatch_and_callback(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_fire_carries_the_cron_instant() {
    let s = server().await;
    e2e::scheduled_fire(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_completion_by_the_dispatch_reply() {
    let s = server().await;
    e2e::synchronous_completion(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_attempt_is_retried_on_another_executor() {
    let s = server().await;
    e2e::retry_on_another_executor(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_sends_stop_to_the_executor() {
    let s = server().await;
    e2e::timeout_sends_stop(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_sends_stop_to_the_executor() {
    let s = server().await;
    e2e::stop_sends_stop(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_failure_and_recovery_thresholds() {
    let s = server().await;
    e2e::health_thresholds(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_progress_logs_stay_bounded() {
    let s = server().await;
    e2e::large_progress_logs_stay_bounded(&s).await;
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn executions_by_cursor() {
    let s = server().await;
    e2e::executions_by_cursor(&s).await;
    s.stop().await;
}
