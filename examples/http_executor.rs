//! Run with: cargo run --example http_executor -- [SCHEDULER_URL] [PORT]
//!
//! In a container, set `EXECUTOR_HOST=0.0.0.0` (address to bind) and
//! `EXECUTOR_PUBLIC_URL=http://executor:9200` (the address the scheduler
//! should call), and `EXECUTOR_SCHEDULER_TOKEN` when the scheduler's API
//! needs a JWT (an executor-scoped token: `scheduler-server token --scope
//! executor --subject <instance id>`), with `EXECUTOR_INSTANCE_ID` set to
//! that subject (default `rust-executor@{public URL}`).
//!
//! A complete HTTP executor in Rust (see `docs/executor-protocol.md`) on axum: it registers
//! itself with the scheduler (default http://127.0.0.1:8080), serves
//! `POST /execute`, `POST /stop` and `GET /health`, runs each execution in a
//! task (sleeping `parameters.seconds`, default 0, and echoing the
//! parameters), and reports the result to `callback_url` with its
//! `X-Callback-Token`, retrying for a minute when the scheduler does not
//! answer or answers 5xx. You will see one line per execution.
//!
//! With `--self-test` it also starts an in-process scheduler server on a free
//! port, registers, creates a task firing every second and exits 0 once three
//! executions succeeded (used by CI).

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Clone, Default)]
struct Executor {
    running: Arc<Mutex<HashMap<String, CancellationToken>>>,
    http: reqwest::Client,
}

async fn execute(State(ex): State<Executor>, Json(job): Json<Value>) -> Json<Value> {
    let id = job["execution_id"].as_str().unwrap_or_default().to_owned();
    let cancel = CancellationToken::new();
    {
        let mut running = ex.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.contains_key(&id) {
            // Idempotent on execution_id: already running.
            return Json(json!({"accepted": true}));
        }
        running.insert(id.clone(), cancel.clone());
    }
    tokio::spawn(async move {
        let seconds = job["parameters"]["seconds"].as_f64().unwrap_or(0.0);
        tokio::select! {
            _ = cancel.cancelled() => {
                println!("{id} stopped");
            }
            _ = tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))) => {
                println!("{id} done (attempt {})", job["retry_count"]);
                let body = json!({"status": "success", "result": {"echo": job["parameters"]}});
                report(&ex.http, &job, body).await;
            }
        }
        ex.running.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    });
    // Accepted: no final status in the reply, the result comes by callback.
    Json(json!({"accepted": true}))
}

/// Calls back, retrying with backoff for a minute on no answer or 5xx.
async fn report(http: &reqwest::Client, job: &Value, body: Value) {
    let url = job["callback_url"].as_str().unwrap_or_default();
    let token = job["callback_token"].as_str().unwrap_or_default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut delay = Duration::from_millis(200);
    loop {
        match http
            .post(url)
            .header("X-Callback-Token", token)
            .json(&body)
            .send()
            .await
        {
            Ok(r) if !r.status().is_server_error() => return, // 2xx, or 401/409: do not retry
            _ if tokio::time::Instant::now() > deadline => return,
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(10));
    }
}

async fn stop(State(ex): State<Executor>, Json(body): Json<Value>) -> Json<Value> {
    let id = body["execution_id"].as_str().unwrap_or_default();
    let token = ex.running.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    if let Some(t) = &token {
        t.cancel();
    }
    Json(json!({"stopped": token.is_some()}))
}

/// Serves the executor on `port` (0: any free port); returns its base URL.
async fn serve(port: u16) -> Result<(String, Executor), Box<dyn std::error::Error>> {
    let host = std::env::var("EXECUTOR_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let ex = Executor::default();
    let app = Router::new()
        .route("/execute", post(execute))
        .route("/stop", post(stop))
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .with_state(ex.clone());
    let listener = tokio::net::TcpListener::bind((host.as_str(), port)).await?;
    let base_url = match std::env::var("EXECUTOR_PUBLIC_URL") {
        Ok(url) => url,
        Err(_) => format!("http://{}", listener.local_addr()?),
    };
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((base_url, ex))
}

async fn register(
    http: &reqwest::Client,
    scheduler: &str,
    base_url: &str,
) -> Result<Value, Box<dyn std::error::Error>> {
    let mut request = http.post(format!("{scheduler}/api/v1/executors/register"));
    if let Ok(token) = std::env::var("EXECUTOR_SCHEDULER_TOKEN") {
        request = request.bearer_auth(token);
    }
    let instance_id = std::env::var("EXECUTOR_INSTANCE_ID").unwrap_or_else(|_| format!("rust-executor@{base_url}"));
    let r = request
        .json(&json!({"name": "rust-executor", "instance_id": instance_id, "base_url": base_url}))
        .send()
        .await?;
    let status = r.status();
    let body: Value = r.json().await?;
    println!("registered as {} ({status})", body["id"]);
    Ok(body)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--self-test") {
        return self_test().await;
    }
    let scheduler = args
        .first()
        .cloned()
        .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(9200);
    let (base_url, ex) = serve(port).await?;
    register(&ex.http, &scheduler, &base_url).await?;
    println!("serving {base_url}; Ctrl-C to stop");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Starts a scheduler server in this process and checks three executions succeed.
async fn self_test() -> Result<(), Box<dyn std::error::Error>> {
    let config = scheduler_server::config::Config::from_yaml("api:\n  port: 0\n")?;
    let server = scheduler_server::Server::build(&config).await?;
    let scheduler = format!("http://{}", server.local_addr());
    tokio::spawn(server.run(std::future::pending()));

    let (base_url, ex) = serve(0).await?;
    register(&ex.http, &scheduler, &base_url).await?;
    let task: Value = ex
        .http
        .post(format!("{scheduler}/api/v1/tasks"))
        .json(&json!({"name": "rust-executor-self-test", "cron_expression": "* * * * * *", "parameters": {"n": 1}}))
        .send()
        .await?
        .json()
        .await?;
    let task_id = task["id"].as_str().ok_or("no task id")?.to_owned();
    for _ in 0..100 {
        let page: Value = ex
            .http
            .get(format!(
                "{scheduler}/api/v1/executions?task_id={task_id}&status=success"
            ))
            .send()
            .await?
            .json()
            .await?;
        if page["total"].as_u64().unwrap_or(0) >= 3 {
            println!(
                "self-test: {} successful executions through the HTTP executor",
                page["total"]
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err("no three successful executions within 20 s".into())
}
