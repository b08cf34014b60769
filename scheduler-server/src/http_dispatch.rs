//! Executors over HTTP (see `docs/executor-protocol.md`): the server's [`Dispatcher`].
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
//!
//! Every request carries `X-Scheduler-Token` when `executors.access_token`
//! is set. Redirects are never followed: a 3xx is a refusal like any other
//! non-2xx, and only its status line goes into the execution's logs.
//!
//! Fairness: an executor that already has [`HttpDispatcher::per_executor_limit`]
//! dispatches waiting for an answer, none of which has been answered for
//! [`SLOW_AFTER`], gets no more: further attempts on it fail at once (and are
//! retried on another candidate) instead of holding dispatch slots that other
//! executors need. A fast executor never trips this, however many
//! dispatches it takes. Stop requests are bounded the same way
//! ([`MAX_CONCURRENT_STOPS`]).

use crate::deny_networks::{DenyNetworks, DenyingResolver};
use crate::dto::Timestamp;
use async_trait::async_trait;
use scheduler_core::{
    DispatchOutcome, DispatchRequest, Dispatcher, ExecutionId, ExecutionReport, ExecutionStatus, Executor,
};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Most of a reply body that is read.
const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// Characters of a refusing reply's body written to the server's log (as a
/// quoted field, never into the execution's logs).
const LOG_EXCERPT_CHARS: usize = 200;
/// The header that carries `executors.access_token`.
pub const SCHEDULER_TOKEN_HEADER: &str = "x-scheduler-token";
/// How long an executor's in-flight dispatches may go unanswered before it
/// counts as slow (see the module documentation).
pub const SLOW_AFTER: Duration = Duration::from_secs(1);
/// Stop requests in flight at once, all executors together.
pub const MAX_CONCURRENT_STOPS: usize = 32;

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
#[derive(Clone)]
pub struct HttpDispatcher {
    client: reqwest::Client,
    callback_base: String,
    timeout: Duration,
    access_token: Option<reqwest::header::HeaderValue>,
    load: Arc<Load>,
    stops: Arc<Semaphore>,
    deny: DenyNetworks,
}

impl std::fmt::Debug for HttpDispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpDispatcher")
            .field("callback_base", &self.callback_base)
            .field("timeout", &self.timeout)
            .field("access_token", &self.access_token.as_ref().map(|_| "<redacted>"))
            .field("per_executor_limit", &self.load.limit)
            .finish_non_exhaustive()
    }
}

/// Dispatches in flight per executor.
#[derive(Debug)]
struct Load {
    limit: usize,
    slow_after: Duration,
    executors: Mutex<HashMap<String, ExecutorLoad>>,
}

#[derive(Debug)]
struct ExecutorLoad {
    in_flight: usize,
    /// When it last answered, or started having dispatches in flight.
    progress: Instant,
}

/// One dispatch in flight; counts down on drop.
struct InFlight {
    load: Arc<Load>,
    executor: String,
}

impl Load {
    fn enter(self: &Arc<Self>, executor: &str) -> Result<InFlight, String> {
        let now = Instant::now();
        let mut map = self.executors.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(executor.to_owned()).or_insert(ExecutorLoad {
            in_flight: 0,
            progress: now,
        });
        if e.in_flight >= self.limit && now.duration_since(e.progress) >= self.slow_after {
            return Err(format!(
                "executor is slow: {} dispatches have had no answer for {:?} or more",
                e.in_flight, self.slow_after
            ));
        }
        e.in_flight += 1;
        Ok(InFlight {
            load: self.clone(),
            executor: executor.to_owned(),
        })
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut map = self.load.executors.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = map.get_mut(&self.executor) {
            e.in_flight = e.in_flight.saturating_sub(1);
            e.progress = Instant::now();
            if e.in_flight == 0 {
                map.remove(&self.executor);
            }
        }
    }
}

impl HttpDispatcher {
    /// Sends with `client`, bounding each request by `timeout` (the engine's
    /// `dispatch_timeout`); callback URLs start with `callback_base`
    /// (`http://host:port`, no trailing slash). At most 5 dispatches per
    /// slow executor until [`with_per_executor_limit`](Self::with_per_executor_limit).
    pub fn new(client: reqwest::Client, callback_base: impl Into<String>, timeout: Duration) -> Self {
        Self {
            client,
            callback_base: callback_base.into().trim_end_matches('/').to_owned(),
            timeout,
            access_token: None,
            load: Arc::new(Load {
                limit: 5,
                slow_after: SLOW_AFTER,
                executors: Mutex::default(),
            }),
            stops: Arc::new(Semaphore::new(MAX_CONCURRENT_STOPS)),
            deny: DenyNetworks::default(),
        }
    }

    /// Refuses executor URLs whose host is an IP literal in `deny`; give
    /// the client from [`executor_client_denying`] for host names.
    pub fn with_deny_networks(mut self, deny: DenyNetworks) -> Self {
        self.deny = deny;
        self
    }

    /// Sends `token` as `X-Scheduler-Token` with every request. A token that
    /// cannot be a header value (checked by the configuration) is ignored.
    pub fn with_access_token(mut self, token: Option<&str>) -> Self {
        self.access_token = token_header(token);
        self
    }

    /// Dispatches a slow executor may hold at once (at least 1); the server
    /// uses half of `scheduler.max_workers`, so a hung executor leaves the
    /// other half to the rest.
    pub fn with_per_executor_limit(mut self, limit: usize) -> Self {
        self.load = Arc::new(Load {
            limit: limit.max(1),
            slow_after: self.load.slow_after,
            executors: Mutex::default(),
        });
        self
    }

    /// How many dispatches a slow executor may hold at once.
    pub fn per_executor_limit(&self) -> usize {
        self.load.limit
    }

    fn post(&self, url: String) -> reqwest::RequestBuilder {
        with_token(self.client.post(url), self.access_token.as_ref())
    }

    /// `{callback_base}/api/v1/executions/{id}/callback`.
    pub fn callback_url(&self, id: &ExecutionId) -> String {
        format!("{}/api/v1/executions/{id}/callback", self.callback_base)
    }
}

/// The `X-Scheduler-Token` value of `token`, marked sensitive (kept out of
/// logs). A token that cannot be a header value (checked by the
/// configuration) gives none.
pub(crate) fn token_header(token: Option<&str>) -> Option<reqwest::header::HeaderValue> {
    token
        .and_then(|t| reqwest::header::HeaderValue::from_str(t).ok())
        .map(|mut v| {
            v.set_sensitive(true);
            v
        })
}

/// Adds `X-Scheduler-Token` when a token is configured.
pub(crate) fn with_token(
    request: reqwest::RequestBuilder,
    token: Option<&reqwest::header::HeaderValue>,
) -> reqwest::RequestBuilder {
    match token {
        Some(t) => request.header(SCHEDULER_TOKEN_HEADER, t.clone()),
        None => request,
    }
}

/// A client for executors: rustls, no proxy (executors are internal services),
/// no redirects (a POST must not turn into a GET elsewhere), short connect
/// timeout, pooled keep-alive connections.
pub fn executor_client(connect_timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    executor_client_denying(connect_timeout, &DenyNetworks::default())
}

/// [`executor_client`] that never connects to an address in `deny` (names
/// are resolved without those addresses; check IP literals with
/// [`DenyNetworks::check_url`]).
pub fn executor_client_denying(
    connect_timeout: Duration,
    deny: &DenyNetworks,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder();
    if !deny.is_empty() {
        builder = builder.dns_resolver(Arc::new(DenyingResolver(deny.clone())));
    }
    builder
        .redirect(reqwest::redirect::Policy::none())
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

/// The start of a reply body for the server's log (log it with `?`, which
/// quotes and escapes it).
pub(crate) fn log_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out: String = text.chars().take(LOG_EXCERPT_CHARS).collect();
    if text.chars().count() > LOG_EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// The status line of a refusing reply: all that goes into the execution's logs.
pub(crate) fn status_line(status: reqwest::StatusCode) -> String {
    if status.is_redirection() {
        format!("executor answered {status} (redirects are not followed)")
    } else {
        format!("executor answered {status}")
    }
}

/// Explains a transport error in a log line, without the URL (which may
/// carry user info on executors registered before URLs were checked).
pub(crate) fn describe(e: &reqwest::Error, timeout: Duration) -> String {
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
        let url = endpoint(executor, "execute");
        if let Err(why) = self.deny.check_url(&url) {
            return DispatchOutcome::Refused(why);
        }
        let _in_flight = match self.load.enter(executor.id.as_str()) {
            Ok(guard) => guard,
            Err(why) => return DispatchOutcome::Refused(why),
        };
        let sent = self.post(url).timeout(self.timeout).json(&body).send().await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return DispatchOutcome::Refused(describe(&e, self.timeout)),
        };
        let status = response.status();
        let reply = read_limited(response).await;
        if !status.is_success() {
            tracing::debug!(
                execution_id = %request.execution_id,
                executor_id = %executor.id,
                status = status.as_u16(),
                body = ?log_excerpt(&reply),
                "executor refused the dispatch"
            );
            return DispatchOutcome::Refused(status_line(status));
        }
        match synchronous_result(&reply) {
            Some(report) => DispatchOutcome::Finished(report),
            None => DispatchOutcome::Accepted,
        }
    }

    async fn stop(&self, executor: &Executor, execution_id: &ExecutionId) {
        let Ok(Ok(_slot)) = tokio::time::timeout(self.timeout, self.stops.acquire()).await else {
            tracing::warn!(execution_id = %execution_id, executor_id = %executor.id, "too many stop requests in flight; this one is not sent");
            return;
        };
        let url = endpoint(executor, "stop");
        if let Err(why) = self.deny.check_url(&url) {
            tracing::warn!(execution_id = %execution_id, executor_id = %executor.id, reason = %why, "stop request not sent");
            return;
        }
        let result = self
            .post(url)
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
    fn log_excerpts_are_short() {
        let long = "x".repeat(1000);
        assert_eq!(log_excerpt(long.as_bytes()).chars().count(), LOG_EXCERPT_CHARS + 1);
        assert_eq!(
            status_line(reqwest::StatusCode::FOUND),
            "executor answered 302 Found (redirects are not followed)"
        );
    }

    #[test]
    fn a_slow_executor_gets_at_most_its_share() {
        let load = Arc::new(Load {
            limit: 2,
            slow_after: Duration::ZERO,
            executors: Mutex::default(),
        });
        let a1 = load.enter("a").unwrap();
        let _a2 = load.enter("a").unwrap();
        assert!(load.enter("a").is_err(), "a third dispatch to a slow executor");
        let _b = load.enter("b").unwrap();
        drop(a1);
        let _a3 = load.enter("a").unwrap();
        let fast = Arc::new(Load {
            limit: 1,
            slow_after: Duration::from_secs(3600),
            executors: Mutex::default(),
        });
        let _f1 = fast.enter("f").unwrap();
        assert!(fast.enter("f").is_ok(), "an executor that answers is never cut off");
    }
}
