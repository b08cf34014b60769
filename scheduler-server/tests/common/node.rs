//! A `scheduler-server` process for the cluster tests: started on a MySQL
//! database with short timings, its stderr kept, killed when dropped.
#![allow(dead_code)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A server process; killed when dropped.
pub struct Node {
    child: Child,
    /// `http://addr` of its API.
    pub base: String,
    log: std::sync::Mutex<std::sync::mpsc::Receiver<String>>,
}

impl Node {
    /// Starts `scheduler-server` on `db_url` as `instance_id`, with short
    /// cluster timings and `extra_yaml` (whole top-level sections) appended to
    /// its configuration; waits until it listens.
    pub fn start(db_url: &str, instance_id: &str, extra_yaml: &str) -> Self {
        let yaml = format!(
            "database:\n  url: \"{db_url}\"\n  max_connections: 4\n\
             api:\n  host: 127.0.0.1\n  port: 0\n\
             scheduler:\n  instance_id: {instance_id}\n  heartbeat_interval: 300ms\n  lock_timeout: 2s\n  retry_backoff: 100ms\n  dispatch_timeout: 2s\n\
             health_check:\n  interval: 500ms\n  timeout: 1s\n{extra_yaml}"
        );
        let path = std::env::temp_dir().join(format!("cluster-{instance_id}-{}.yaml", uuid::Uuid::now_v7().simple()));
        std::fs::write(&path, yaml).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scheduler-server"));
        for (k, _) in std::env::vars() {
            if k.starts_with("SCHEDULER_") && k.contains("__") {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .arg("--config")
            .arg(&path)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut seen = Vec::new();
        let addr = loop {
            let line = rx
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("{instance_id} did not start: {seen:#?}"));
            seen.push(line.clone());
            if let Some(rest) = line.split("addr=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        Self {
            child,
            base: format!("http://{addr}"),
            log: std::sync::Mutex::new(rx),
        }
    }

    /// SIGKILL, and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM; its exit code once it exits (killed after 30 s).
    pub fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..1500 {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// Its stderr lines since the last call.
    pub fn drain_log(&self) -> Vec<String> {
        self.log.lock().map(|rx| rx.try_iter().collect()).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The JSON of a 2xx answer to `GET url`; `None` for anything else.
pub async fn get(client: &reqwest::Client, url: &str) -> Option<Value> {
    let r = client.get(url).send().await.ok()?;
    if !r.status().is_success() {
        return None;
    }
    r.json().await.ok()
}

impl Node {
    /// Its `GET /api/v1/system/status`.
    pub async fn status(&self, client: &reqwest::Client) -> Option<Value> {
        get(client, &format!("{}/api/v1/system/status", self.base)).await
    }

    /// `Some` when it says it leads.
    pub async fn leads(&self, client: &reqwest::Client) -> Option<()> {
        let s = self.status(client).await?;
        (s["scheduler"]["leader"] == true).then_some(())
    }
}
