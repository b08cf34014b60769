//! How an execution reaches its executor: the [`Dispatcher`] trait.
//!
//! The engine picks an executor, records the attempt, then calls
//! [`Dispatcher::dispatch`]. The HTTP implementation (docs/executor-protocol.md) lives in
//! `scheduler-server`; [`InProcessDispatcher`](crate::InProcessDispatcher)
//! runs async handlers inside the embedding program.

use crate::domain::{ExecutionId, ExecutionStatus, Executor, ExecutorRegistration, Task};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Everything an executor is told about one attempt (the `/execute` body of docs/executor-protocol.md).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DispatchRequest {
    /// The execution.
    pub execution_id: ExecutionId,
    /// The task it belongs to (a snapshot at dispatch time).
    pub task: Arc<Task>,
    /// Parameters to run with.
    pub parameters: Option<serde_json::Value>,
    /// The cron instant or the manual trigger time.
    pub scheduled_time: DateTime<Utc>,
    /// Seconds the attempt may run.
    pub timeout_seconds: u32,
    /// Attempt number (0 for the first).
    pub retry_count: u32,
    /// Secret the executor must show when it reports back.
    pub callback_token: String,
    /// Where results go for executors that are not in this process.
    pub reporter: Reporter,
}

/// Whether `token` has the shape of the callback tokens the engine issues
/// (32 lower-case hex digits): anything else can be refused before reading
/// the request or the store.
#[doc(hidden)]
pub fn is_callback_token(token: &[u8]) -> bool {
    lower_hex_u128(token).is_some()
}

/// Exactly 32 lower-case hex digits as a number, read in one pass: the value
/// of a token of [`is_callback_token`]'s shape, or of a UUID's digits (the
/// memory store keeps both as numbers).
pub(crate) fn lower_hex_u128(digits: &[u8]) -> Option<u128> {
    let (hi, lo) = (digits.get(..16)?, digits.get(16..)?);
    if lo.len() != 16 {
        return None;
    }
    Some((u128::from(hex_u64(hi)?) << 64) | u128::from(hex_u64(lo)?))
}

/// Sixteen lower-case hex digits as a number: every digit is read, without
/// a branch per digit, and any other byte marks the whole as invalid.
fn hex_u64(digits: &[u8]) -> Option<u64> {
    let (mut v, mut invalid) = (0u64, 0u8);
    for b in digits {
        let d = HEX_DIGIT[usize::from(*b)];
        invalid |= d;
        v = (v << 4) | u64::from(d & 0x0f);
    }
    (invalid & NOT_HEX == 0).then_some(v)
}

/// Marks a byte that is not a lower-case hex digit in [`HEX_DIGIT`].
const NOT_HEX: u8 = 0x80;

/// Each byte's value as a lower-case hex digit, or [`NOT_HEX`].
const HEX_DIGIT: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// A fresh callback token (see [`is_callback_token`]).
pub(crate) fn new_callback_token() -> String {
    let mut buf = [0u8; uuid::fmt::Simple::LENGTH];
    uuid::Uuid::from_u128(rand::random::<u128>())
        .simple()
        .encode_lower(&mut buf)
        .to_owned()
}

/// A final or progress report about an execution, from its executor.
#[derive(Clone, Debug, PartialEq)]
pub struct ExecutionReport {
    /// `running` (progress), `success` or `failed`.
    pub status: ExecutionStatus,
    /// Result payload.
    pub result: Option<serde_json::Value>,
    /// Log text to append.
    pub logs: Option<String>,
    /// When it ended, per the executor (defaults to the time of the report).
    pub end_time: Option<DateTime<Utc>>,
}

/// What happened to a dispatch.
#[derive(Clone, Debug, PartialEq)]
pub enum DispatchOutcome {
    /// The executor took it and will report later: the execution is `running`.
    Accepted,
    /// The executor ran it and answered with a final report at once
    /// (`success` or `failed`).
    Finished(ExecutionReport),
    /// The executor refused it or could not be reached: a failed attempt.
    Refused(String),
}

/// Delivers executions to executors.
#[async_trait]
pub trait Dispatcher: Send + Sync + 'static {
    /// Sends one attempt to `executor`. The engine bounds the call with
    /// `dispatch_timeout`; an error or a timeout is a failed attempt.
    async fn dispatch(&self, executor: &Executor, request: DispatchRequest) -> DispatchOutcome;

    /// Readies a dispatch ahead of its instant, when this dispatcher can
    /// send without waiting (in-process handlers): the engine calls this when
    /// it prepares a fire (`fire_ahead` early), and at the instant only calls
    /// [`PreparedDispatch::start`], so a large instant costs no task, no
    /// lookup and no `dispatch_timeout` timer per fire. Such a start is over
    /// when it returns, so it holds none of the `max_workers` slots.
    /// Dispatchers that must wait (HTTP) keep the default, which hands the
    /// request back for [`dispatch`](Self::dispatch).
    fn prepare(
        &self,
        _executor: &Executor,
        request: DispatchRequest,
    ) -> Result<Box<dyn PreparedDispatch>, DispatchRequest> {
        Err(request)
    }

    /// Asks `executor` to stop an execution; best effort, errors are logged.
    async fn stop(&self, executor: &Executor, execution_id: &ExecutionId);

    /// Executors this dispatcher itself provides, registered by the engine at
    /// start (the in-process dispatcher provides one; HTTP provides none).
    fn local_executors(&self, _instance_id: &str) -> Vec<ExecutorRegistration> {
        Vec::new()
    }

    /// On shutdown: waits up to `grace` for work this process runs itself,
    /// then cancels what is left and returns those executions so the engine
    /// can record them honestly. Dispatchers whose executors live elsewhere
    /// have nothing to drain.
    async fn drain(&self, _grace: std::time::Duration) -> Vec<ExecutionId> {
        Vec::new()
    }
}

/// A dispatch readied by [`Dispatcher::prepare`], started at its instant.
pub trait PreparedDispatch: Send + 'static {
    /// Sends it without waiting and answers: `Accepted` when the work goes on
    /// and will be reported later. Called at most once.
    fn start(&mut self) -> DispatchOutcome;
}

/// Hands reports back to the engine from inside the process.
///
/// HTTP executors report through the callback route instead; in-process
/// handlers use this.
#[derive(Clone)]
pub struct Reporter {
    inner: Arc<dyn ReportSink>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Reporter")
    }
}

impl Reporter {
    /// Wraps a sink.
    pub fn new(inner: Arc<dyn ReportSink>) -> Self {
        Self { inner }
    }

    /// Reports on an execution, authenticated by its callback token.
    pub async fn report(&self, execution_id: &ExecutionId, token: &str, report: ExecutionReport) {
        self.inner.report(execution_id, token, report).await;
    }
}

/// Receives in-process reports (implemented by the engine).
#[async_trait]
pub trait ReportSink: Send + Sync + 'static {
    /// Applies a report; errors (a late report on a final execution) are logged.
    async fn report(&self, execution_id: &ExecutionId, token: &str, report: ExecutionReport);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_have_the_checked_shape() {
        for _ in 0..1000 {
            assert!(is_callback_token(new_callback_token().as_bytes()));
        }
        assert!(!is_callback_token(b"0123456789ABCDEF0123456789abcdef"));
        assert!(!is_callback_token(b"0123456789abcdef"));
        assert!(!is_callback_token(b"0123456789abcdef0123456789abcdef0"));
        assert!(!is_callback_token(b"0123456789abcdef0123456789abcde"));
        assert!(!is_callback_token(b"0123456789abcdeg0123456789abcdef"));
    }

    #[test]
    fn a_token_reads_back_as_the_number_it_spells() {
        let v = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        assert_eq!(lower_hex_u128(format!("{v:032x}").as_bytes()), Some(v));
        for _ in 0..1000 {
            let t = new_callback_token();
            assert_eq!(lower_hex_u128(t.as_bytes()).map(|v| format!("{v:032x}")), Some(t));
        }
    }
}
