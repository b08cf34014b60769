//! The `healthcheck` subcommand: one `GET /healthz` of a running server, for
//! container health checks that have no curl (`HEALTHCHECK CMD
//! ["scheduler-server", "healthcheck"]` in the Dockerfile).
//!
//! The address comes from the same configuration `serve` reads (file,
//! `SCHEDULER_*__*` variables, flags), so the check follows `api.port`
//! wherever it is set; a wildcard `api.host` (`0.0.0.0`, `::`) is checked on
//! loopback. `--url` names the server instead.

use crate::config::ApiConfig;
use std::time::Duration;

/// The `/healthz` URL of the server `api` configures.
pub fn healthz_url(api: &ApiConfig) -> Result<String, String> {
    if api.port == 0 {
        return Err("api.port is 0 (a free port picked at start): give --url".to_owned());
    }
    let host = api.host.trim();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let host = match bare {
        "" | "0.0.0.0" => "127.0.0.1".to_owned(),
        "::" => "[::1]".to_owned(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_owned(),
    };
    Ok(format!("http://{host}:{}/healthz", api.port))
}

/// `GET url`, answered with a 2xx within `timeout`; the error says what went wrong.
pub async fn check(url: &str, timeout: Duration) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
    let response = client.get(url).send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("GET {url}: {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(host: &str, port: u16) -> ApiConfig {
        ApiConfig {
            host: host.to_owned(),
            port,
            ..ApiConfig::default()
        }
    }

    #[test]
    fn wildcard_hosts_are_checked_on_loopback() {
        assert_eq!(
            healthz_url(&api("0.0.0.0", 8080)).unwrap(),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(healthz_url(&api("::", 9000)).unwrap(), "http://[::1]:9000/healthz");
        assert_eq!(healthz_url(&api("[::]", 9000)).unwrap(), "http://[::1]:9000/healthz");
    }

    #[test]
    fn other_hosts_are_checked_where_the_server_listens() {
        assert_eq!(
            healthz_url(&api("127.0.0.1", 8080)).unwrap(),
            "http://127.0.0.1:8080/healthz"
        );
        assert_eq!(healthz_url(&api("10.1.2.3", 81)).unwrap(), "http://10.1.2.3:81/healthz");
        assert_eq!(healthz_url(&api("::1", 81)).unwrap(), "http://[::1]:81/healthz");
        assert_eq!(
            healthz_url(&api("localhost", 81)).unwrap(),
            "http://localhost:81/healthz"
        );
    }

    #[test]
    fn port_zero_needs_a_url() {
        assert!(healthz_url(&api("127.0.0.1", 0)).unwrap_err().contains("--url"));
    }
}
