//! Limits of the served socket: a client has 10 s to send its headers, a
//! request gets 503 after `api.request_timeout`, at most
//! `api.max_connections` connections are served at once, and shutdown waits
//! at most `api.shutdown_grace`. Also the open-mode guards (Host header,
//! JSON content type on state-changing requests).

mod common;

use axum::body::Body;
use axum::http::{Method, Request, header};
use common::e2e::test_config;
use common::*;
use scheduler_server::Server;
use scheduler_server::config::Config;
use scheduler_server::{AppState, app};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

fn config(extra_api: &str) -> Config {
    let mut c = test_config(None);
    let yaml = format!("api:\n  host: 127.0.0.1\n  port: 0\n{extra_api}");
    let api = Config::from_yaml(&yaml).unwrap().api;
    c.api = api;
    c
}

struct Running {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: Config) -> Running {
    let server = Server::build(&config).await.expect("server starts");
    let addr = server.local_addr();
    let (tx, rx) = oneshot::channel::<()>();
    let handle = tokio::spawn(server.run(async {
        let _ = rx.await;
    }));
    Running {
        addr,
        stop: Some(tx),
        handle,
    }
}

/// Sends raw bytes and reads until the server closes or `wait` passes.
async fn exchange(stream: &mut TcpStream, request: &str, wait: Duration) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    read_for(stream, wait).await
}

async fn read_for(stream: &mut TcpStream, wait: Duration) -> String {
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                // One full answer is enough (bodies here are short).
                if out.windows(4).any(|w| w == b"\r\n\r\n") && out.ends_with(b"}") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn a_client_that_does_not_finish_its_headers_is_disconnected() {
    let s = start(config("")).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), c.read(&mut buf)).await;
    let elapsed = started.elapsed();
    assert!(read.is_ok(), "the connection is still open after 20 s");
    assert!(
        elapsed >= Duration::from_secs(9) && elapsed < Duration::from_secs(15),
        "closed after {elapsed:?}"
    );
}

#[tokio::test]
async fn a_request_not_answered_in_time_gets_503_with_the_error_body() {
    let app = app(AppState::new(follower()).with_request_timeout(Duration::from_millis(300)));
    // A body that never ends keeps the handler waiting.
    let never = Body::from_stream(futures::stream::pending::<Result<Vec<u8>, std::io::Error>>());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/tasks")
        .header(header::CONTENT_TYPE, "application/json")
        .body(never)
        .unwrap();
    let started = Instant::now();
    let r = send(&app, req).await;
    r.error(503, "unavailable");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Quick requests are unaffected.
    get(&app, "/api/v1/tasks").await.ok(200);
}

#[tokio::test]
async fn at_most_max_connections_are_served_at_once() {
    let s = start(config("  max_connections: 1\n")).await;
    let ask = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut first = TcpStream::connect(s.addr).await.unwrap();
    let a = exchange(&mut first, ask, Duration::from_secs(5)).await;
    assert!(a.starts_with("HTTP/1.1 200"), "{a}");
    // The first connection stays open (keep-alive): the second waits.
    let mut second = TcpStream::connect(s.addr).await.unwrap();
    let b = exchange(&mut second, ask, Duration::from_millis(700)).await;
    assert!(b.is_empty(), "served beyond the limit: {b}");
    drop(first);
    let b = read_for(&mut second, Duration::from_secs(5)).await;
    assert!(b.starts_with("HTTP/1.1 200"), "served once a slot is free: {b}");
}

#[tokio::test]
async fn shutdown_waits_at_most_the_grace_period() {
    let mut s = start(config("  shutdown_grace: 500ms\n")).await;
    // A request whose body never comes keeps its connection busy.
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    c.write_all(
        b"POST /api/v1/tasks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let _ = s.stop.take().map(|tx| tx.send(()));
    let done = tokio::time::timeout(Duration::from_secs(10), s.handle).await;
    assert!(done.is_ok(), "shutdown did not finish within 10 s");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn open_mode_refuses_foreign_hosts() {
    let s = start(config("")).await;
    for (host, ok) in [
        ("localhost:8080", true),
        ("127.0.0.1", true),
        ("[::1]:1", true),
        ("attacker.example", false),
        ("attacker.example:8080", false),
        ("10.9.8.7", false),
    ] {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        let a = exchange(
            &mut c,
            &format!("GET /api/v1/tasks HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
            Duration::from_secs(5),
        )
        .await;
        if ok {
            assert!(a.starts_with("HTTP/1.1 200"), "{host}: {a}");
        } else {
            assert!(
                a.starts_with("HTTP/1.1 403") && a.contains("\"forbidden\""),
                "{host}: {a}"
            );
        }
    }
}

#[tokio::test]
async fn open_mode_needs_json_on_state_changing_requests_even_when_empty() {
    let s = start(config("")).await;
    let post = |ct: Option<&str>| {
        let ct = ct.map(|c| format!("Content-Type: {c}\r\n")).unwrap_or_default();
        format!(
            "POST /api/v1/tasks/nope/pause HTTP/1.1\r\nHost: localhost\r\n{ct}Content-Length: 0\r\nConnection: close\r\n\r\n"
        )
    };
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
    ] {
        let mut c = TcpStream::connect(s.addr).await.unwrap();
        let a = exchange(&mut c, &post(ct), Duration::from_secs(5)).await;
        assert!(
            a.starts_with("HTTP/1.1 415") && a.contains("unsupported_media_type"),
            "{ct:?}: {a}"
        );
    }
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let a = exchange(&mut c, &post(Some("application/json")), Duration::from_secs(5)).await;
    assert!(a.starts_with("HTTP/1.1 404"), "a JSON POST goes through: {a}");
}

#[tokio::test]
async fn with_a_secret_the_open_mode_guards_do_not_apply() {
    let mut c = config("");
    c.auth.jwt_secret = Some("0123456789abcdef0123456789abcdef".to_owned());
    let s = start(c).await;
    let mut conn = TcpStream::connect(s.addr).await.unwrap();
    let a = exchange(
        &mut conn,
        "GET /api/v1/tasks HTTP/1.1\r\nHost: scheduler.example.com\r\nConnection: close\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(a.starts_with("HTTP/1.1 401"), "{a}");
}
