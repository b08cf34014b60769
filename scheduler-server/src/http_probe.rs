//! The HTTP [`HealthProbe`]: `GET {health_check_url}` (default
//! `{base_url}/health`); any 2xx is healthy (CONTRACT §4).

use async_trait::async_trait;
use scheduler_core::{Executor, HealthProbe, ProbeResult};
use std::time::Duration;

/// Probes executors over HTTP.
#[derive(Clone, Debug)]
pub struct HttpProbe {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpProbe {
    /// Probes with `client`, each request bounded by `timeout` (`health_check.timeout`).
    pub fn new(client: reqwest::Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }
}

#[async_trait]
impl HealthProbe for HttpProbe {
    async fn probe(&self, executor: &Executor) -> ProbeResult {
        match self
            .client
            .get(executor.health_url())
            .timeout(self.timeout)
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => ProbeResult::Healthy,
            Ok(r) => ProbeResult::Unhealthy(format!("health check answered {}", r.status())),
            Err(e) if e.is_timeout() => ProbeResult::Unhealthy(format!("no answer within {:?}", self.timeout)),
            Err(e) => ProbeResult::Unhealthy(format!("health check failed: {e}")),
        }
    }
}
