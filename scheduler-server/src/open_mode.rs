//! Guards of the open mode (no `auth.jwt_secret`), where the API trusts
//! whoever can reach it: they keep a web page in the user's browser from
//! reaching it on the user's behalf.
//!
//! ```text
//! request                                            open mode
//! Host: localhost / 127.0.0.1 / [::1] / bound address   served
//! Host: attacker.example (DNS rebinding)             403 forbidden
//! no Host header (not a browser)                     served
//! POST/PUT/PATCH/DELETE /api/... without a JSON Content-Type,
//!   even with an empty body                          415 unsupported_media_type
//! ```
//!
//! A browser sends a cross-site POST without asking first only when its
//! `Content-Type` is a form or plain-text type, or when there is no body;
//! requiring `application/json` on every state-changing request means every
//! cross-site attempt needs a CORS preflight, which this server never grants.
//! With a JWT secret none of this applies: a page cannot attach the bearer token.

use crate::config::is_loopback_host;
use crate::error::ApiError;
use crate::extract::is_json_content_type;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Which `Host` values the open API answers.
#[derive(Clone, Debug, Default)]
pub struct OpenModeGuard {
    /// Host names and addresses accepted besides loopback (lower case, no port).
    hosts: Vec<String>,
    /// Bound to a wildcard address: any IP literal names this machine.
    any_ip: bool,
}

impl OpenModeGuard {
    /// Accepts loopback names, the bound address, and `extra` names (the
    /// configured `api.host` and the host of `api.public_url`).
    pub fn new(bound: SocketAddr, extra: impl IntoIterator<Item = String>) -> Self {
        let mut hosts: Vec<String> = extra
            .into_iter()
            .map(|h| strip_brackets(&h).to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        hosts.push(bound.ip().to_string());
        Self {
            hosts,
            any_ip: bound.ip().is_unspecified(),
        }
    }

    /// Whether a `Host` header value (with or without port) is accepted.
    pub fn allows(&self, host_header: &str) -> bool {
        let host = strip_brackets(host_without_port(host_header.trim())).to_ascii_lowercase();
        if host.is_empty() {
            return false;
        }
        is_loopback_host(&host) || self.hosts.contains(&host) || (self.any_ip && host.parse::<IpAddr>().is_ok())
    }
}

fn host_without_port(h: &str) -> &str {
    if h.starts_with('[') {
        // `[::1]:8080` or `[::1]`
        return h.split_once(']').map_or(h, |(a, _)| a);
    }
    match h.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => h,
    }
}

fn strip_brackets(h: &str) -> &str {
    h.trim_start_matches('[').trim_end_matches(']')
}

/// Middleware of the open mode (see the module documentation).
pub async fn guard(State(guard): State<Arc<OpenModeGuard>>, req: Request, next: Next) -> Response {
    if let Some(host) = req.headers().get(header::HOST) {
        let ok = host.to_str().is_ok_and(|h| guard.allows(h));
        if !ok {
            return ApiError::Forbidden(
                "this server has no authentication and only answers requests addressed to it by its own address or \
                 localhost (Host header refused)"
                    .to_owned(),
            )
            .into_response();
        }
    }
    let changes_state = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if changes_state && req.uri().path().starts_with("/api/") {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_content_type);
        if !json {
            return ApiError::UnsupportedMediaType(
                "Content-Type must be application/json on every POST, PUT, PATCH and DELETE when the server runs \
                 without authentication, even with an empty body"
                    .to_owned(),
            )
            .into_response();
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let g = OpenModeGuard::new("127.0.0.1:8080".parse().unwrap(), ["sched.internal".to_owned()]);
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "sched.internal:9",
            "SCHED.internal",
        ] {
            assert!(g.allows(ok), "{ok}");
        }
        for bad in [
            "attacker.example",
            "attacker.example:8080",
            "10.0.0.1",
            "",
            "localhost.attacker.example",
        ] {
            assert!(!g.allows(bad), "{bad}");
        }
        let wild = OpenModeGuard::new("0.0.0.0:8080".parse().unwrap(), []);
        assert!(wild.allows("10.1.2.3:8080"));
        assert!(wild.allows("[fe80::1]:8080"));
        assert!(!wild.allows("rebind.attacker.example"));
    }
}
