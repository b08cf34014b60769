//! The `scheduler-server` binary: bad configuration and an unreachable
//! database stop it with one message and a non-zero exit; it serves with
//! the memory store by default and exits 0 on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scheduler-server"));
    // The test environment must not configure the server by accident.
    for (k, _) in std::env::vars() {
        if k.starts_with("SCHEDULER_") && k.contains("__") {
            c.env_remove(k);
        }
    }
    c.env("RUST_LOG", "info");
    c
}

fn temp_yaml(text: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("scheduler-bin-{}.yaml", uuid::Uuid::now_v7().simple()));
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs to completion (bounded) and returns (exit code, stderr).
fn run(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn unknown_key_exits_non_zero_with_one_message() {
    let path = temp_yaml("api:\n  port: 8080\n  prot: 1\n");
    let (code, err) = run(bin().arg("--config").arg(&path));
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("api.prot"), "{err}");
}

#[test]
fn bad_duration_exits_non_zero_naming_the_key() {
    let path = temp_yaml("scheduler:\n  heartbeat_interval: often\n");
    let (code, err) = run(bin().arg("--config").arg(&path));
    assert_eq!(code, Some(2));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("scheduler.heartbeat_interval") && err.contains("often"),
        "{err}"
    );
}

#[test]
fn bad_environment_value_exits_non_zero_naming_the_variable() {
    let (code, err) = run(bin().env("SCHEDULER_API__PORT", "eighty"));
    assert_eq!(code, Some(2));
    assert!(err.contains("SCHEDULER_API__PORT"), "{err}");
}

#[test]
fn missing_config_file_exits_non_zero() {
    let (code, err) = run(bin().args(["--config", "/nonexistent/scheduler.yaml"]));
    assert_eq!(code, Some(2));
    assert!(err.contains("/nonexistent/scheduler.yaml"), "{err}");
}

#[test]
fn unreachable_database_exits_non_zero_with_one_message() {
    // Port 1 on loopback refuses connections at once.
    let (code, err) = run(bin().args(["--port", "0", "--database-url", "mysql://root:hunter2@127.0.0.1:1/jobs"]));
    assert_eq!(code, Some(1), "{err}");
    let lines: Vec<&str> = err
        .trim()
        .lines()
        .filter(|l| l.starts_with("scheduler-server:"))
        .collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("database") && lines[0].contains("127.0.0.1:1"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password is not printed: {err}");
}

#[test]
fn bad_flag_value_is_rejected() {
    let (code, err) = run(bin().args(["--log-format", "xml"]));
    assert_eq!(code, Some(2));
    assert!(err.contains("xml"), "{err}");
}

/// A server on a free port (memory store): the child, its address
/// (`127.0.0.1:PORT`), its stderr lines so far and the rest to come.
fn spawn_server() -> (
    std::process::Child,
    String,
    Vec<String>,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = bin()
        .args(["--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut log = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no listening line; log so far: {log:?}"));
        log.push(line.clone());
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, addr, log, rx)
}

/// Sends SIGTERM and waits (bounded) for the exit status.
fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serves_with_the_memory_store_and_exits_0_on_sigterm() {
    let (mut child, addr, log, rx) = spawn_server();
    assert!(log.iter().any(|l| l.contains("in-memory store")), "{log:?}");

    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let status = terminate(&mut child);
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = rx.iter().collect();
    assert!(rest.iter().any(|l| l.contains("scheduler stopped")), "{rest:?}");
}

#[test]
fn healthcheck_exits_0_while_the_configured_server_answers_and_1_once_it_is_gone() {
    let (mut child, addr, _log, _rx) = spawn_server();
    let port = addr.rsplit(':').next().unwrap().to_owned();

    // The port as `serve` reads it: a flag, or the environment.
    let (code, err) = run(bin().args(["healthcheck", "--port", &port]));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(bin().arg("healthcheck").env("SCHEDULER_API__PORT", &port));
    assert_eq!(code, Some(0), "{err}");
    // A wildcard host (as in the container image) is checked on loopback.
    let (code, err) = run(bin()
        .args(["healthcheck", "--host", "0.0.0.0", "--port", &port])
        .env("SCHEDULER_API__ALLOW_UNAUTHENTICATED", "true"));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(bin().args(["healthcheck", "--url", &format!("http://{addr}/healthz")]));
    assert_eq!(code, Some(0), "{err}");

    // Answered, but not with a 2xx (outside /api/ the dashboard answers every path).
    let (code, err) = run(bin().args(["healthcheck", "--url", &format!("http://{addr}/api/v1/no-such-path")]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("unhealthy") && err.contains("404"), "{err}");

    assert_eq!(terminate(&mut child).code(), Some(0));
    let (code, err) = run(bin().args(["healthcheck", "--port", &port]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("unhealthy") && err.contains(&format!("127.0.0.1:{port}/healthz")),
        "{err}"
    );
}

#[test]
fn healthcheck_without_a_known_port_asks_for_a_url() {
    let (code, err) = run(bin().args(["healthcheck", "--port", "0"]));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--url"), "{err}");
}
