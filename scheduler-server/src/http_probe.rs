//! The HTTP [`HealthProbe`]: `GET {health_check_url}` (default
//! `{base_url}/health`); any 2xx is healthy, a redirect is not followed and
//! counts as a failure. At most [`MAX_CONCURRENT_PROBES`] probes are in
//! flight at once; the wait for a slot counts towards the probe's timeout.

use crate::deny_networks::DenyNetworks;
use crate::http_dispatch::{describe, status_line, token_header, with_token};
use async_trait::async_trait;
use scheduler_core::{Executor, HealthProbe, ProbeResult};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Health probes in flight at once, all executors together.
pub const MAX_CONCURRENT_PROBES: usize = 64;

/// Probes executors over HTTP.
#[derive(Clone)]
pub struct HttpProbe {
    client: reqwest::Client,
    timeout: Duration,
    access_token: Option<reqwest::header::HeaderValue>,
    slots: Arc<Semaphore>,
    deny: DenyNetworks,
}

impl std::fmt::Debug for HttpProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProbe")
            .field("timeout", &self.timeout)
            .field("access_token", &self.access_token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl HttpProbe {
    /// Probes with `client`, each request bounded by `timeout` (`health_check.timeout`).
    pub fn new(client: reqwest::Client, timeout: Duration) -> Self {
        Self {
            client,
            timeout,
            access_token: None,
            slots: Arc::new(Semaphore::new(MAX_CONCURRENT_PROBES)),
            deny: DenyNetworks::default(),
        }
    }

    /// Fails probes of health URLs whose host is an IP literal in `deny`.
    pub fn with_deny_networks(mut self, deny: DenyNetworks) -> Self {
        self.deny = deny;
        self
    }

    /// Sends `token` as `X-Scheduler-Token` with every probe.
    pub fn with_access_token(mut self, token: Option<&str>) -> Self {
        self.access_token = token_header(token);
        self
    }
}

#[async_trait]
impl HealthProbe for HttpProbe {
    async fn probe(&self, executor: &Executor) -> ProbeResult {
        let Ok(Ok(_slot)) = tokio::time::timeout(self.timeout, self.slots.acquire()).await else {
            return ProbeResult::Unhealthy(format!(
                "too many health checks in flight; none free within {:?}",
                self.timeout
            ));
        };
        let url = executor.health_url();
        if let Err(why) = self.deny.check_url(&url) {
            return ProbeResult::Unhealthy(why);
        }
        let request = with_token(self.client.get(url), self.access_token.as_ref());
        match request.timeout(self.timeout).send().await {
            Ok(r) if r.status().is_success() => ProbeResult::Healthy,
            Ok(r) => ProbeResult::Unhealthy(format!("health check: {}", status_line(r.status()))),
            Err(e) => ProbeResult::Unhealthy(format!("health check failed: {}", describe(&e, self.timeout))),
        }
    }
}
