//! Requests the server sends to executors: `X-Scheduler-Token` on every one
//! when `executors.access_token` is set, redirects never followed (a failed
//! attempt or a failed probe), and only a status line in the execution's logs.

mod common;

use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{any, get, post};
use common::e2e::{SOON, TestServer, test_config};
use common::eventually;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Seen {
    /// (path, X-Scheduler-Token) of every request.
    requests: Mutex<Vec<(String, Option<String>)>>,
}

#[derive(Clone, Copy)]
enum Mode {
    Accept,
    Redirect,
    RefuseLoudly,
}

async fn fake(mode: Mode) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let record = |path: &'static str, seen: Arc<Seen>| {
        move |headers: HeaderMap| {
            let seen = seen.clone();
            async move {
                let token = headers.get("x-scheduler-token").map(|v| v.to_str().unwrap().to_owned());
                seen.requests.lock().unwrap().push((path.to_owned(), token));
            }
        }
    };
    let exec_seen = seen.clone();
    let health_seen = seen.clone();
    let router = axum::Router::new()
        .route(
            "/execute",
            post(move |headers: HeaderMap| {
                let seen = exec_seen.clone();
                async move {
                    record("/execute", seen)(headers).await;
                    match mode {
                        Mode::Accept => StatusCode::ACCEPTED.into_response(),
                        Mode::Redirect => Redirect::temporary("/elsewhere").into_response(),
                        Mode::RefuseLoudly => (
                            StatusCode::SERVICE_UNAVAILABLE,
                            format!("line one\nINJECTED log line\n{}", "x".repeat(5000)),
                        )
                            .into_response(),
                    }
                }
            }),
        )
        .route(
            "/health",
            get(move |headers: HeaderMap| {
                let seen = health_seen.clone();
                async move {
                    record("/health", seen)(headers).await;
                    match mode {
                        Mode::Redirect => Redirect::temporary("/elsewhere").into_response(),
                        _ => StatusCode::OK.into_response(),
                    }
                }
            }),
        )
        .route("/stop", post(record("/stop", seen.clone())))
        .route("/elsewhere", any(record("/elsewhere", seen.clone())));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (base, seen)
}

async fn server(token: Option<&str>) -> TestServer {
    let mut config = test_config(None);
    config.executors.access_token = token.map(str::to_owned);
    TestServer::start(config).await
}

async fn setup(s: &TestServer, base: &str, max_retry: u32) -> String {
    let r = s
        .post(
            "/api/v1/executors/register",
            &json!({"name": "fake", "instance_id": format!("fake@{base}"), "base_url": base}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    s.create_task(json!({
        "name": format!("t-{}", uuid::Uuid::now_v7()), "cron_expression": "0 0 0 1 1 *", "max_retry": max_retry
    }))
    .await
}

fn paths(seen: &Seen) -> Vec<(String, Option<String>)> {
    seen.requests.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_to_an_executor_carries_the_access_token() {
    let s = server(Some("executor-secret")).await;
    let (base, seen) = fake(Mode::Accept).await;
    let task = setup(&s, &base, 0).await;
    let exec = s.trigger(&task, &json!({})).await;
    s.wait_status(&exec, "running").await;
    let r = s.post(&format!("/api/v1/executions/{exec}/stop"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let all = eventually(SOON, "execute, stop and a health probe", || async {
        let all = paths(&seen);
        let has = |p: &str| all.iter().any(|(x, _)| x == p);
        (has("/execute") && has("/stop") && has("/health")).then_some(all)
    })
    .await;
    for (path, token) in all {
        assert_eq!(token.as_deref(), Some("executor-secret"), "{path}");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_access_token_no_header_is_sent() {
    let s = server(None).await;
    let (base, seen) = fake(Mode::Accept).await;
    let task = setup(&s, &base, 0).await;
    let exec = s.trigger(&task, &json!({})).await;
    s.wait_status(&exec, "running").await;
    assert!(paths(&seen).iter().all(|(_, t)| t.is_none()));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_failed_attempt_and_a_failed_probe() {
    let s = server(None).await;
    let (base, seen) = fake(Mode::Redirect).await;
    let task = setup(&s, &base, 0).await;
    let exec = s.trigger(&task, &json!({})).await;
    let e = s.wait_status(&exec, "failed").await;
    let logs = e["logs"].as_str().unwrap_or("");
    assert!(
        logs.contains("307") && logs.contains("redirects are not followed"),
        "{logs}"
    );
    // Health probes are redirected too, and count as failures.
    eventually(SOON, "the executor to become unhealthy", || async {
        let r = s.get("/api/v1/executors").await;
        (r.body["items"][0]["is_healthy"] == Value::Bool(false)).then_some(())
    })
    .await;
    assert!(
        paths(&seen).iter().all(|(p, _)| p != "/elsewhere"),
        "a redirect was followed"
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_stores_only_its_status_line() {
    let s = server(None).await;
    let (base, _seen) = fake(Mode::RefuseLoudly).await;
    let task = setup(&s, &base, 0).await;
    let exec = s.trigger(&task, &json!({})).await;
    let e = s.wait_status(&exec, "failed").await;
    let logs = e["logs"].as_str().unwrap_or("");
    assert!(logs.contains("503 Service Unavailable"), "{logs}");
    assert!(!logs.contains("INJECTED") && !logs.contains("xxxx"), "{logs}");
    s.stop().await;
}

#[tokio::test]
async fn a_health_probe_error_does_not_show_the_urls_user_info() {
    use scheduler_core::{HealthProbe, ProbeResult};
    use scheduler_server::HttpProbe;
    use scheduler_server::executor_client;
    let client = executor_client(std::time::Duration::from_secs(1)).unwrap();
    let probe = HttpProbe::new(client, std::time::Duration::from_secs(2));
    let now = chrono::Utc::now();
    // Registered before URLs were checked: stored with credentials.
    let executor = scheduler_core::Executor {
        id: "e1".into(),
        name: "old".into(),
        instance_id: "old".into(),
        base_url: "http://admin:hunter2@127.0.0.1:1".into(),
        health_check_url: None,
        status: scheduler_core::ExecutorStatus::Online,
        is_healthy: true,
        last_health_check: None,
        health_check_failures: 0,
        health_check_successes: 0,
        metadata: None,
        created_at: now,
        updated_at: now,
    };
    match probe.probe(&executor).await {
        ProbeResult::Unhealthy(why) => assert!(!why.contains("hunter2") && !why.contains("admin"), "{why}"),
        ProbeResult::Healthy => panic!("nothing listens on port 1"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn denied_networks_are_never_contacted() {
    let mut config = test_config(None);
    config.executors.deny_networks = vec!["127.0.0.0/8".into(), "::1".into()];
    let s = TestServer::start(config).await;
    let (base, seen) = fake(Mode::Accept).await;
    // An IP literal and a name that resolves into the denied networks.
    let by_name = base.replace("127.0.0.1", "localhost");
    for (i, url) in [base.clone(), by_name].into_iter().enumerate() {
        let r = s
            .post(
                "/api/v1/executors/register",
                &json!({"name": "fake", "instance_id": format!("denied-{i}"), "base_url": url}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        let id = r.body["id"].as_str().unwrap().to_owned();
        let task = s
            .create_task(json!({"name": format!("deny-{i}"), "cron_expression": "0 0 0 1 1 *", "max_retry": 0}))
            .await;
        let put = s
            .client
            .put(format!("{}/api/v1/tasks/{task}/executors", s.base))
            .json(&json!({"executors": [{"executor_id": id}]}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status(), 200);
        let exec = s.trigger(&task, &json!({})).await;
        let e = s.wait_status(&exec, "failed").await;
        let logs = e["logs"].as_str().unwrap_or("");
        assert!(logs.contains("deny_networks"), "{url}: {logs}");
    }
    assert!(
        paths(&seen).is_empty(),
        "a denied executor was contacted: {:?}",
        paths(&seen)
    );
    s.stop().await;
}
