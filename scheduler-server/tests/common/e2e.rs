//! End-to-end helpers: a server on a real socket, a fake HTTP executor that
//! records what it receives, a MySQL database per test, and the scenarios
//! run against both stores.

use super::eventually;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use scheduler_server::Config;
use scheduler_server::Server;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// Generous bound for anything the scheduler does "soon".
pub const SOON: Duration = Duration::from_secs(15);

// ---- fake executor -----------------------------------------------------------

/// How the fake executor answers `/execute`.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// 202 with an empty body: accepted, the result comes by callback.
    Accept,
    /// 200 with `{"status": "success", "result": ..., "logs": "sync"}`.
    SyncSuccess(Value),
    /// This status with a short body: refused.
    Refuse(u16),
}

/// What the fake executor saw.
pub struct FakeState {
    pub behaviour: Mutex<Behaviour>,
    pub health_status: AtomicU16,
    pub executes: Mutex<Vec<Value>>,
    pub stops: Mutex<Vec<Value>>,
    pub health_hits: AtomicUsize,
}

/// A small HTTP executor on 127.0.0.1:0.
pub struct FakeExecutor {
    pub addr: SocketAddr,
    pub state: Arc<FakeState>,
    shutdown: Option<oneshot::Sender<()>>,
}

async fn fake_execute(State(s): State<Arc<FakeState>>, Json(body): Json<Value>) -> axum::response::Response {
    s.executes.lock().unwrap().push(body);
    let behaviour = s.behaviour.lock().unwrap().clone();
    match behaviour {
        Behaviour::Accept => StatusCode::ACCEPTED.into_response(),
        Behaviour::SyncSuccess(result) => {
            Json(json!({"status": "success", "result": result, "logs": "sync"})).into_response()
        }
        Behaviour::Refuse(code) => {
            (StatusCode::from_u16(code).unwrap(), "executor is overloaded, go away").into_response()
        }
    }
}

async fn fake_stop(State(s): State<Arc<FakeState>>, Json(body): Json<Value>) -> StatusCode {
    s.stops.lock().unwrap().push(body);
    StatusCode::OK
}

async fn fake_health(State(s): State<Arc<FakeState>>) -> StatusCode {
    s.health_hits.fetch_add(1, Ordering::SeqCst);
    StatusCode::from_u16(s.health_status.load(Ordering::SeqCst)).unwrap()
}

impl FakeExecutor {
    pub async fn start(behaviour: Behaviour) -> Self {
        let state = Arc::new(FakeState {
            behaviour: Mutex::new(behaviour),
            health_status: AtomicU16::new(200),
            executes: Mutex::new(Vec::new()),
            stops: Mutex::new(Vec::new()),
            health_hits: AtomicUsize::new(0),
        });
        let router = axum::Router::new()
            .route("/execute", post(fake_execute))
            .route("/stop", post(fake_stop))
            .route("/health", get(fake_health))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Self {
            addr,
            state,
            shutdown: Some(tx),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn executes(&self) -> Vec<Value> {
        self.state.executes.lock().unwrap().clone()
    }

    pub fn stops(&self) -> Vec<Value> {
        self.state.stops.lock().unwrap().clone()
    }

    pub fn set_health(&self, status: u16) {
        self.state.health_status.store(status, Ordering::SeqCst);
    }

    /// Waits until at least `n` `/execute` requests arrived.
    pub async fn wait_executes(&self, n: usize) -> Vec<Value> {
        eventually(SOON, &format!("{n} /execute request(s)"), || async {
            let e = self.executes();
            (e.len() >= n).then_some(e)
        })
        .await
    }

    /// Waits until a `/stop` for `execution_id` arrived.
    pub async fn wait_stop(&self, execution_id: &str) {
        eventually(SOON, "a /stop request", || async {
            self.stops()
                .iter()
                .any(|s| s["execution_id"] == execution_id)
                .then_some(())
        })
        .await
    }
}

impl Drop for FakeExecutor {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ---- server ----------------------------------------------------------------

/// A test configuration: port 0, short intervals, plus `extra` YAML.
pub fn test_config(database_url: Option<&str>) -> Config {
    let db = database_url
        .map(|u| format!("database:\n  url: \"{u}\"\n  max_connections: 5\n"))
        .unwrap_or_default();
    let yaml = format!(
        "{db}api:\n  host: 127.0.0.1\n  port: 0\n\
         scheduler:\n  heartbeat_interval: 500ms\n  lock_timeout: 2s\n  retry_backoff: 100ms\n  dispatch_timeout: 2s\n\
         health_check:\n  interval: 200ms\n  timeout: 1s\n  failure_threshold: 3\n  recovery_threshold: 2\n"
    );
    Config::from_yaml(&yaml).expect("test config is valid")
}

/// A server on a real socket, stopped with [`TestServer::stop`].
pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// A response: status and JSON body.
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl TestServer {
    pub async fn start(config: Config) -> Self {
        let server = Server::build(&config).await.expect("server starts");
        let base = format!("http://{}", server.local_addr());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        Self {
            base,
            client: reqwest::Client::builder().no_proxy().build().unwrap(),
            shutdown: Some(tx),
            handle: Some(handle),
        }
    }

    async fn reply(r: reqwest::Response) -> Reply {
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap_or_default();
        Reply {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        Self::reply(self.client.get(format!("{}{path}", self.base)).send().await.unwrap()).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        Self::reply(
            self.client
                .post(format!("{}{path}", self.base))
                .json(body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A callback as an executor sends it (to an absolute URL, with or without a token).
    pub async fn callback(&self, url: &str, token: Option<&str>, body: &Value) -> Reply {
        let mut r = self.client.post(url).json(body);
        if let Some(t) = token {
            r = r.header("X-Callback-Token", t);
        }
        Self::reply(r.send().await.unwrap()).await
    }

    /// Registers a fake executor and returns its id.
    pub async fn register(&self, fake: &FakeExecutor, instance_id: &str) -> String {
        let r = self
            .post(
                "/api/v1/executors/register",
                &json!({"name": "fake", "instance_id": instance_id, "base_url": fake.base_url()}),
            )
            .await;
        assert_eq!(r.status, 201, "register: {}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Creates a task and returns its id.
    pub async fn create_task(&self, body: Value) -> String {
        let r = self.post("/api/v1/tasks", &body).await;
        assert_eq!(r.status, 201, "create task: {}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Triggers a task and returns the execution id.
    pub async fn trigger(&self, task_id: &str, body: &Value) -> String {
        let r = self.post(&format!("/api/v1/tasks/{task_id}/trigger"), body).await;
        assert_eq!(r.status, 201, "trigger: {}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn execution(&self, id: &str) -> Value {
        let r = self.get(&format!("/api/v1/executions/{id}")).await;
        assert_eq!(r.status, 200, "get execution: {}", r.body);
        r.body
    }

    /// Waits until the execution has `status`.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        eventually(SOON, &format!("execution {id} to be {status}"), || async {
            let e = self.execution(id).await;
            (e["status"] == status).then_some(e)
        })
        .await
    }

    /// Stops accepting, lets requests finish, shuts the engine down.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(20), h).await;
        }
    }
}

// ---- scenarios -----------------------------------------------------------------

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

/// A yearly cron: never fires during a test, so only manual triggers run.
const NEVER_SOON: &str = "0 0 0 1 1 *";

/// Dispatch body fields, callback with the token (progress, success), 401s, second final callback 409.
pub async fn dispatch_and_callback(s: &TestServer) {
    let fake = FakeExecutor::start(Behaviour::Accept).await;
    let executor_id = s.register(&fake, &unique("cb")).await;
    let task_id = s
        .create_task(json!({
            "name": unique("cb-task"), "cron_expression": NEVER_SOON,
            "parameters": {"k": "v", "n": 1}, "timeout_seconds": 120,
            "executors": [{"executor_id": executor_id}],
        }))
        .await;
    let exec_id = s
        .trigger(&task_id, &json!({"parameters": {"n": 2, "extra": true}}))
        .await;

    let body = fake.wait_executes(1).await.remove(0);
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "callback_token",
            "callback_url",
            "execution_id",
            "parameters",
            "retry_count",
            "scheduled_time",
            "task_id",
            "task_name",
            "timeout_seconds"
        ]
    );
    assert_eq!(body["execution_id"], exec_id.as_str());
    assert_eq!(body["task_id"], task_id.as_str());
    assert!(body["task_name"].as_str().unwrap().starts_with("cb-task-"));
    assert_eq!(body["parameters"], json!({"k": "v", "n": 2, "extra": true}));
    assert!(super::is_api_timestamp(body["scheduled_time"].as_str().unwrap()));
    assert_eq!(body["timeout_seconds"], 120);
    assert_eq!(body["retry_count"], 0);
    let callback_url = body["callback_url"].as_str().unwrap().to_owned();
    assert_eq!(callback_url, format!("{}/api/v1/executions/{exec_id}/callback", s.base));
    let token = body["callback_token"].as_str().unwrap().to_owned();
    assert!(!token.is_empty());

    let running = s.wait_status(&exec_id, "running").await;
    assert_eq!(running["executor_id"], executor_id.as_str());
    super::assert_timestamps(&running, &["scheduled_time", "start_time", "created_at"]);

    let done = json!({"status": "success", "result": {"rows": 42}, "logs": "all done"});
    assert_eq!(s.callback(&callback_url, None, &done).await.status, 401);
    assert_eq!(s.callback(&callback_url, Some("wrong"), &done).await.status, 401);
    let bad = s
        .callback(&callback_url, Some(&token), &json!({"status": "timeout"}))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    let progress = s
        .callback(
            &callback_url,
            Some(&token),
            &json!({"status": "running", "logs": "halfway"}),
        )
        .await;
    assert_eq!(progress.status, 200, "{}", progress.body);
    assert_eq!(progress.body["status"], "running");

    let ok = s.callback(&callback_url, Some(&token), &done).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.body["status"], "success");
    assert_eq!(ok.body["result"], json!({"rows": 42}));
    let logs = ok.body["logs"].as_str().unwrap();
    assert!(logs.contains("halfway") && logs.contains("all done"), "{logs}");
    super::assert_timestamps(&ok.body, &["end_time"]);
    assert!(ok.body["end_time"].is_string());

    let again = s
        .callback(&callback_url, Some(&token), &json!({"status": "failed"}))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(again.body["error"]["code"], "conflict");
    assert_eq!(s.execution(&exec_id).await["status"], "success");
}

/// A scheduled fire reaches the executor with the exact cron instant.
pub async fn scheduled_fire(s: &TestServer) {
    let fake = FakeExecutor::start(Behaviour::SyncSuccess(json!({"ok": true}))).await;
    let executor_id = s.register(&fake, &unique("sched")).await;
    let task_id = s
        .create_task(json!({
            "name": unique("every-second"), "cron_expression": "* * * * * *",
            "executors": [{"executor_id": executor_id}],
        }))
        .await;
    let body = fake.wait_executes(1).await.remove(0);
    assert_eq!(
        s.post(&format!("/api/v1/tasks/{task_id}/pause"), &json!({}))
            .await
            .status,
        200
    );
    let scheduled = body["scheduled_time"].as_str().unwrap();
    assert!(
        scheduled.ends_with(".000Z"),
        "a cron instant is a whole second: {scheduled}"
    );
    let exec_id = body["execution_id"].as_str().unwrap();
    let e = s.wait_status(exec_id, "success").await;
    assert_eq!(e["trigger_type"], "schedule");
    assert_eq!(e["scheduled_time"], scheduled);
}

/// A 2xx reply with `"status": "success"` finishes the execution without a callback.
pub async fn synchronous_completion(s: &TestServer) {
    let fake = FakeExecutor::start(Behaviour::SyncSuccess(json!({"answer": 42}))).await;
    let executor_id = s.register(&fake, &unique("sync")).await;
    let task_id = s
        .create_task(json!({
            "name": unique("sync-task"), "cron_expression": NEVER_SOON,
            "executors": [{"executor_id": executor_id}],
        }))
        .await;
    let exec_id = s.trigger(&task_id, &json!({})).await;
    let e = s.wait_status(&exec_id, "success").await;
    assert_eq!(e["result"], json!({"answer": 42}));
    assert!(e["logs"].as_str().unwrap_or("").contains("sync"));
    assert_eq!(fake.executes().len(), 1);
}

/// A refused attempt (500) is retried on another executor.
pub async fn retry_on_another_executor(s: &TestServer) {
    let refusing = FakeExecutor::start(Behaviour::Refuse(500)).await;
    let accepting = FakeExecutor::start(Behaviour::Accept).await;
    let a = s.register(&refusing, &unique("refuse")).await;
    let b = s.register(&accepting, &unique("accept")).await;
    // The refusing executor is preferred (priority 0), so attempt 0 goes there.
    let task_id = s
        .create_task(json!({
            "name": unique("retry-task"), "cron_expression": NEVER_SOON, "max_retry": 2,
            "executors": [{"executor_id": a, "priority": 0}, {"executor_id": b, "priority": 1}],
        }))
        .await;
    let exec_id = s.trigger(&task_id, &json!({})).await;
    let second = accepting.wait_executes(1).await.remove(0);
    assert_eq!(second["execution_id"], exec_id.as_str());
    assert_eq!(second["retry_count"], 1);
    let first = refusing.executes();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["retry_count"], 0);
    let e = s.wait_status(&exec_id, "running").await;
    assert_eq!(e["executor_id"], b.as_str());
    assert_eq!(e["retry_count"], 1);
    let logs = e["logs"].as_str().unwrap();
    assert!(logs.contains("500"), "the refusal is logged: {logs}");
}

/// A running execution past its timeout becomes `timeout` and its executor gets `/stop`.
pub async fn timeout_sends_stop(s: &TestServer) {
    let fake = FakeExecutor::start(Behaviour::Accept).await;
    let executor_id = s.register(&fake, &unique("slow")).await;
    let task_id = s
        .create_task(json!({
            "name": unique("timeout-task"), "cron_expression": NEVER_SOON,
            "timeout_seconds": 1, "max_retry": 0,
            "executors": [{"executor_id": executor_id}],
        }))
        .await;
    let exec_id = s.trigger(&task_id, &json!({})).await;
    s.wait_status(&exec_id, "running").await;
    let e = s.wait_status(&exec_id, "timeout").await;
    assert!(e["end_time"].is_string());
    fake.wait_stop(&exec_id).await;
}

/// `POST /executions/{id}/stop` cancels and sends `/stop`; a second stop is a 409.
pub async fn stop_sends_stop(s: &TestServer) {
    let fake = FakeExecutor::start(Behaviour::Accept).await;
    let executor_id = s.register(&fake, &unique("stoppable")).await;
    let task_id = s
        .create_task(json!({
            "name": unique("stop-task"), "cron_expression": NEVER_SOON,
            "executors": [{"executor_id": executor_id}],
        }))
        .await;
    let exec_id = s.trigger(&task_id, &json!({})).await;
    s.wait_status(&exec_id, "running").await;
    let r = s.post(&format!("/api/v1/executions/{exec_id}/stop"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    fake.wait_stop(&exec_id).await;
    let again = s.post(&format!("/api/v1/executions/{exec_id}/stop"), &json!({})).await;
    assert_eq!(again.status, 409);
}

/// Three failed probes make an executor unhealthy; two good ones make it healthy again.
pub async fn health_thresholds(s: &TestServer) {
    let fake = FakeExecutor::start(Behaviour::Accept).await;
    fake.set_health(500);
    let id = s.register(&fake, &unique("sick")).await;
    let path = format!("/api/v1/executors/{id}");
    let e = eventually(SOON, "the executor to turn unhealthy", || async {
        let e = s.get(&path).await.body;
        (e["is_healthy"] == false).then_some(e)
    })
    .await;
    assert!(e["health_check_failures"].as_u64().unwrap() >= 3, "{e}");
    assert!(fake.state.health_hits.load(Ordering::SeqCst) >= 3);
    super::assert_timestamps(&e, &["last_health_check"]);
    let unhealthy = s.get("/api/v1/executors?healthy=false").await.body;
    assert!(
        unhealthy["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == id.as_str())
    );

    fake.set_health(200);
    let hits = fake.state.health_hits.load(Ordering::SeqCst);
    let e = eventually(SOON, "the executor to recover", || async {
        let e = s.get(&path).await.body;
        (e["is_healthy"] == true).then_some(e)
    })
    .await;
    assert_eq!(e["health_check_failures"], 0);
    assert!(fake.state.health_hits.load(Ordering::SeqCst) >= hits + 2);
}

/// Twenty progress callbacks of almost 1 MiB each (far past `history.max_log_bytes` and
/// past what a MySQL `MEDIUMTEXT` holds) are never an error; the logs keep
/// the newest bytes behind `[... N bytes truncated]\n`, and the final
/// callback still ends the execution.
pub async fn large_progress_logs_stay_bounded(s: &TestServer) {
    let fake = FakeExecutor::start(Behaviour::Accept).await;
    let executor_id = s.register(&fake, &unique("logs")).await;
    let task_id = s
        .create_task(json!({
            "name": unique("logs-task"), "cron_expression": NEVER_SOON, "timeout_seconds": 600,
            "executors": [{"executor_id": executor_id}],
        }))
        .await;
    let exec_id = s.trigger(&task_id, &json!({})).await;
    let body = fake.wait_executes(1).await.remove(0);
    let url = body["callback_url"].as_str().unwrap().to_owned();
    let token = body["callback_token"].as_str().unwrap().to_owned();
    s.wait_status(&exec_id, "running").await;
    // Just under the 1 MiB body limit with the JSON around it.
    let size = 1024 * 1024 - 200;
    let chunk = |i: usize| format!("{i:02}{}", "z".repeat(size - 2));
    for i in 0..20 {
        let r = s
            .callback(&url, Some(&token), &json!({"status": "running", "logs": chunk(i)}))
            .await;
        assert_eq!(r.status, 200, "progress {i}: {}", r.body);
    }
    let done = s
        .callback(&url, Some(&token), &json!({"status": "success", "logs": "finished"}))
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    let e = s.execution(&exec_id).await;
    assert_eq!(e["status"], "success");
    let logs = e["logs"].as_str().unwrap();
    assert!(logs.len() <= 65_536, "{} bytes of logs kept", logs.len());
    let rest = logs.strip_prefix("[... ").expect("the truncation marker");
    let (n, kept) = rest.split_once(" bytes truncated]\n").expect("the marker's end");
    let written = 20 * size + 20 + "finished".len();
    assert_eq!(n.parse::<usize>().unwrap() + kept.len(), written);
    assert!(kept.ends_with("\nfinished"));
    // Lists leave logs and result out.
    let list = s.get(&format!("/api/v1/executions?task_id={task_id}")).await;
    assert_eq!(list.status, 200);
    assert_eq!(list.body["items"][0]["logs"], Value::Null);
    assert_eq!(list.body["items"][0]["result"], Value::Null);
}

/// `GET /executions` by cursor: walking `next_cursor` gives every row once,
/// newest first, and the same rows as pages by number; `next_cursor` is null
/// on the last page; a cursor with `page`, or one the server did not issue,
/// is a 400.
pub async fn executions_by_cursor(s: &TestServer) {
    let task_id = s
        .create_task(json!({"name": unique("cursor"), "cron_expression": NEVER_SOON}))
        .await;
    for _ in 0..23 {
        s.trigger(&task_id, &json!({})).await;
    }
    let task = task_id.as_str();
    let list = |q: String| async move { s.get(&format!("/api/v1/executions?task_id={task}&{q}")).await };
    let whole = list("page_size=100".into()).await;
    assert_eq!(whole.body["total"], 23);
    assert_eq!(whole.body["total_is_lower_bound"], false);
    assert_eq!(whole.body["next_cursor"], Value::Null);
    let ids = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let mut walked = Vec::new();
    let mut q = "page_size=10".to_owned();
    let mut pages = 0;
    loop {
        let p = list(q.clone()).await;
        assert_eq!(p.status, 200, "{}", p.body);
        assert_eq!(p.body["total"], 23);
        walked.extend(ids(&p.body));
        pages += 1;
        match p.body["next_cursor"].as_str() {
            Some(c) => q = format!("page_size=10&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(walked, ids(&whole.body));
    let page2 = list("page_size=10&page=2".into()).await;
    assert_eq!(ids(&page2.body), walked[10..20].to_vec());
    let c = page2.body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(list(format!("page=1&cursor={c}")).await.status, 400);
    for bad in ["nonsense", "zz", ""] {
        let r = list(format!("cursor={bad}")).await;
        assert!(
            r.status == 400 || (bad.is_empty() && r.status == 200),
            "cursor={bad}: {}",
            r.status
        );
    }
}
