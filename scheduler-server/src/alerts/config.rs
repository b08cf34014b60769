//! `alerts.*`: the webhooks alerts go to.

use crate::config::ConfigDuration;
use scheduler_core::EventKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// `alerts.*`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Where alerts go; none by default.
    pub webhooks: Vec<WebhookConfig>,
}

/// One entry of `alerts.webhooks`.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Absolute `http`/`https` URL the alerts are POSTed to.
    pub url: String,
    /// The events sent there; absent means all of them.
    #[serde(default)]
    pub events: Option<Vec<String>>,
    /// Signs each body with HMAC-SHA256 in `X-Scheduler-Signature` when set.
    #[serde(default)]
    pub secret: Option<String>,
    /// At most one alert per key per interval (default `1m`; `0s` sends all).
    #[serde(default = "default_min_interval")]
    pub min_interval: ConfigDuration,
}

fn default_min_interval() -> ConfigDuration {
    ConfigDuration(Duration::from_secs(60))
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .field("events", &self.events)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("min_interval", &self.min_interval)
            .finish()
    }
}

impl WebhookConfig {
    /// A webhook at `url` for every event, unsigned, with the default interval.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            events: None,
            secret: None,
            min_interval: default_min_interval(),
        }
    }

    /// The events this webhook takes (validated: unknown names were refused).
    pub fn kinds(&self) -> Vec<EventKind> {
        match &self.events {
            None => EventKind::ALL.to_vec(),
            Some(names) => names.iter().filter_map(|n| EventKind::parse(n)).collect(),
        }
    }
}

impl AlertsConfig {
    /// Checks URLs, event names and secrets; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let mut seen = std::collections::HashSet::new();
        for (i, w) in self.webhooks.iter().enumerate() {
            let key = |k: &str| format!("configuration key `alerts.webhooks[{i}].{k}`");
            match url::Url::parse(&w.url) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
                _ => {
                    return Err(format!(
                        "{}: must be an absolute http(s) URL (got {:?})",
                        key("url"),
                        w.url
                    ));
                }
            }
            if !seen.insert(w.url.as_str()) {
                return Err(format!("{}: {:?} is listed twice", key("url"), w.url));
            }
            if let Some(events) = &w.events {
                if events.is_empty() {
                    return Err(format!(
                        "{}: must name at least one event (or be left out for all)",
                        key("events")
                    ));
                }
                for e in events {
                    if EventKind::parse(e).is_none() {
                        let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                        return Err(format!(
                            "{}: unknown event {e:?} (known: {})",
                            key("events"),
                            known.join(", ")
                        ));
                    }
                }
            }
            if w.secret.as_deref().is_some_and(str::is_empty) {
                return Err(format!(
                    "{}: must not be empty (leave it out to send unsigned)",
                    key("secret")
                ));
            }
        }
        Ok(())
    }
}
