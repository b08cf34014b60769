//! Executors over HTTP (CONTRACT §4): the server's [`Dispatcher`].
//!
//! ```text
//! scheduler ── POST {base_url}/execute {execution_id, task_id, task_name, parameters,
//!              scheduled_time, timeout_seconds, retry_count, callback_url, callback_token}
//!           ◀─ 2xx                          accepted: running until the callback
//!           ◀─ 2xx {"status":"success"|"failed", "result", "logs"}   finished at once
//!           ◀─ other status, error, timeout refused: a failed attempt (retried elsewhere)
//! executor ── POST {callback_url} (X-Callback-Token) {status, result, logs, end_time}
//! scheduler ── POST {base_url}/stop {execution_id}          best effort (stop, timeout)
//! ```

use crate::dto::Timestamp;
use async_trait::async_trait;
use scheduler_core::{
    DispatchOutcome, DispatchRequest, Dispatcher, ExecutionId, ExecutionReport, ExecutionStatus, Executor,
};
use serde::Serialize;
use std::time::Duration;

/// Most of a reply body that is read (and kept for a log line).
const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// Characters of a refusing reply's body quoted in the execution's logs.
const EXCERPT_CHARS: usize = 300;

/// The body of `POST {base_url}/execute`.
#[derive(Debug, Serialize)]
pub struct ExecuteBody<'a> {
    /// The execution (an idempotency key for the executor).
    pub execution_id: &'a str,
    /// Its task.
    pub task_id: &'a str,
    /// The task's name.
    pub task_name: &'a str,
    /// Parameters to run with.
    pub parameters: &'a Option<serde_json::Value>,
    /// The cron instant, or the manual trigger time.
    pub scheduled_time: Timestamp,
    /// Seconds the attempt may run.
    pub timeout_seconds: u32,
    /// Attempt number, 0 for the first.
    pub retry_count: u32,
    /// Where to report.
    pub callback_url: String,
    /// Secret to send as `X-Callback-Token`.
    pub callback_token: &'a str,
}

/// Dispatches to executors with `reqwest`.
#[derive(Clone, Debug)]
pub struct HttpDispatcher {
    client: reqwest::Client,
    callback_base: String,
    timeout: Duration,
}

impl HttpDispatcher {
    /// Sends with `client`, bounding each request by `timeout` (the engine's
    /// `dispatch_timeout`); callback URLs start with `callback_base`
    /// (`http://host:port`, no trailing slash).
    pub fn new(client: reqwest::Client, callback_base: impl Into<String>, timeout: Duration) -> Self {
        Self {
            client,
            callback_base: callback_base.into().trim_end_matches('/').to_owned(),
            timeout,
        }
    }

    /// `{callback_base}/api/v1/executions/{id}/callback`.
    pub fn callback_url(&self, id: &ExecutionId) -> String {
        format!("{}/api/v1/executions/{id}/callback", self.callback_base)
    }
}

/// A client for executors: rustls, no proxy (executors are internal services),
/// short connect timeout, pooled keep-alive connections.
pub fn executor_client(connect_timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(30))
        .no_proxy()
        .user_agent(concat!("scheduler-server/", env!("CARGO_PKG_VERSION")))
        .build()
}

fn endpoint(executor: &Executor, path: &str) -> String {
    format!("{}/{path}", executor.base_url.trim_end_matches('/'))
}

/// Reads at most [`MAX_REPLY_BYTES`] of a reply.
async fn read_limited(mut response: reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        let room = MAX_REPLY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_REPLY_BYTES {
            break;
        }
    }
    body
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "empty body".to_owned();
    }
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// Explains a transport error in a log line.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {timeout:?}");
    }
    let mut text = if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    let mut last = String::new();
    while let Some(s) = source {
        last = s.to_string();
        source = s.source();
    }
    if !last.is_empty() {
        text.push_str(": ");
        text.push_str(&last);
    }
    text
}

/// A 2xx reply that carries a final status finishes the execution at once.
fn synchronous_result(body: &[u8]) -> Option<ExecutionReport> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    let status = match obj.get("status")?.as_str()? {
        "success" => ExecutionStatus::Success,
        "failed" => ExecutionStatus::Failed,
        _ => return None,
    };
    let logs = obj.get("logs").and_then(|l| match l {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    });
    Some(ExecutionReport {
        status,
        result: obj.get("result").filter(|r| !r.is_null()).cloned(),
        logs,
        end_time: None,
    })
}

#[async_trait]
impl Dispatcher for HttpDispatcher {
    async fn dispatch(&self, executor: &Executor, request: DispatchRequest) -> DispatchOutcome {
        let body = ExecuteBody {
            execution_id: request.execution_id.as_str(),
            task_id: request.task.id.as_str(),
            task_name: &request.task.name,
            parameters: &request.parameters,
            scheduled_time: Timestamp(request.scheduled_time),
            timeout_seconds: request.timeout_seconds,
            retry_count: request.retry_count,
            callback_url: self.callback_url(&request.execution_id),
            callback_token: &request.callback_token,
        };
        let sent = self
            .client
            .post(endpoint(executor, "execute"))
            .timeout(self.timeout)
            .json(&body)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return DispatchOutcome::Refused(describe(&e, self.timeout)),
        };
        let status = response.status();
        let reply = read_limited(response).await;
        if !status.is_success() {
            return DispatchOutcome::Refused(format!("executor answered {status}: {}", excerpt(&reply)));
        }
        match synchronous_result(&reply) {
            Some(report) => DispatchOutcome::Finished(report),
            None => DispatchOutcome::Accepted,
        }
    }

    async fn stop(&self, executor: &Executor, execution_id: &ExecutionId) {
        let result = self
            .client
            .post(endpoint(executor, "stop"))
            .timeout(self.timeout)
            .json(&serde_json::json!({ "execution_id": execution_id.as_str() }))
            .send()
            .await;
        match result {
            Ok(r) if r.status().is_success() => {
                tracing::debug!(execution_id = %execution_id, executor_id = %executor.id, "stop sent");
            }
            Ok(r) => {
                tracing::info!(execution_id = %execution_id, executor_id = %executor.id, status = %r.status(), "executor refused the stop request");
            }
            Err(e) => {
                tracing::info!(execution_id = %execution_id, executor_id = %executor.id, error = %describe(&e, self.timeout), "stop request failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronous_replies() {
        let r = synchronous_result(br#"{"status":"success","result":{"n":1},"logs":"done"}"#).unwrap();
        assert_eq!(r.status, ExecutionStatus::Success);
        assert_eq!(r.result, Some(serde_json::json!({"n": 1})));
        assert_eq!(r.logs.as_deref(), Some("done"));
        let r = synchronous_result(br#"{"status":"failed"}"#).unwrap();
        assert_eq!(r.status, ExecutionStatus::Failed);
        assert!(synchronous_result(br#"{"status":"accepted"}"#).is_none());
        assert!(synchronous_result(br#"{"status":"running"}"#).is_none());
        assert!(synchronous_result(b"").is_none());
        assert!(synchronous_result(b"ok").is_none());
    }

    #[test]
    fn excerpts_are_short() {
        assert_eq!(excerpt(b""), "empty body");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), EXCERPT_CHARS + 1);
    }
}
