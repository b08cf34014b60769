//! A fake webhook receiver: records every POST (headers and body) and
//! answers with the statuses it is told, in order, then 200.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// One POST the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub body: Vec<u8>,
    pub json: Value,
    pub signature: Option<String>,
    /// The status it answered.
    pub answered: u16,
}

#[derive(Default)]
pub struct ReceiverState {
    pub got: Mutex<Vec<Received>>,
    /// Answered in order before falling back to `otherwise`.
    pub script: Mutex<VecDeque<u16>>,
    pub otherwise: Mutex<u16>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    pub state: Arc<ReceiverState>,
    shutdown: Option<oneshot::Sender<()>>,
}

async fn hook(State(s): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let code = s
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or(*s.otherwise.lock().unwrap());
    s.got.lock().unwrap().push(Received {
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body: body.to_vec(),
        signature: headers
            .get("x-scheduler-signature")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        answered: code,
    });
    StatusCode::from_u16(code).unwrap()
}

impl Receiver {
    /// Answers `script` in order, then 200.
    pub async fn start(script: &[u16]) -> Self {
        Self::start_on("127.0.0.1:0", script).await
    }

    pub async fn start_on(addr: &str, script: &[u16]) -> Self {
        let state = Arc::new(ReceiverState {
            script: Mutex::new(script.iter().copied().collect()),
            otherwise: Mutex::new(200),
            ..Default::default()
        });
        let router = axum::Router::new().route("/hook", post(hook)).with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
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

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Answers `code` from now on.
    pub fn answer(&self, code: u16) {
        *self.state.otherwise.lock().unwrap() = code;
    }

    pub fn got(&self) -> Vec<Received> {
        self.state.got.lock().unwrap().clone()
    }

    /// What it got and answered 2xx, for `event`.
    pub fn delivered(&self, event: &str) -> Vec<Received> {
        self.got()
            .into_iter()
            .filter(|r| r.answered < 300 && r.json["event"] == event)
            .collect()
    }

    pub fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
