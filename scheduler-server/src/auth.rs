//! Bearer authentication with HS256 JWTs (`auth.jwt_secret`).
//!
//! With a secret configured, every `/api/v1` route needs
//! `Authorization: Bearer <token>` — `/api/v1/openapi.json` included, since it
//! is under `/api/v1` — except the execution callback, which executors
//! authenticate with the per-execution `X-Callback-Token` instead.
//! `/healthz`, `/readyz` and `/metrics` stay open for probes and scrapers.
//! Tokens carry `sub`, `iat`, `exp` and a `scope`; `scheduler-server token`
//! mints them.
//!
//! ```text
//! scope            may call
//! admin (or none)  everything
//! executor         POST /executors/register, PUT /executors/{id}, PUT /executors/{id}/status,
//!                  only for executors whose instance_id is the token's `sub`
//! anything else    nothing (403 forbidden)
//! ```
//!
//! A token lives at most [`MAX_TOKEN_TTL`]: minting refuses longer, and a
//! token claiming a longer life is refused.

use crate::error::ApiError;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::Method;
use axum::http::header;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Longest life of a token: 90 days.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(90 * 86_400);

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything (also a token without a `scope` claim).
    Admin,
    /// Register and update the executor whose `instance_id` is the token's `sub`.
    Executor,
}

impl Scope {
    /// The claim's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Executor => "executor",
        }
    }
}

/// The claims of an API token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was minted for; for an executor token, its `instance_id`.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
    /// `admin` or `executor`; absent means `admin`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// The authenticated caller of a request, put in the request's extensions by
/// [`require_jwt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The token's `sub`.
    pub subject: String,
    /// The token's scope.
    pub scope: Scope,
}

/// Who is calling: `None` when authentication is off (everything is allowed).
#[derive(Clone, Debug, Default)]
pub struct Caller(pub Option<Principal>);

impl Caller {
    /// For an executor-scoped caller, the `instance_id` it may act for.
    pub fn executor_instance(&self) -> Option<&str> {
        match &self.0 {
            Some(Principal {
                subject,
                scope: Scope::Executor,
            }) => Some(subject),
            _ => None,
        }
    }

    /// Fails with 403 unless this caller may act on an executor with `instance_id`.
    pub fn check_instance(&self, instance_id: &str) -> Result<(), ApiError> {
        match self.executor_instance() {
            Some(own) if own != instance_id => Err(ApiError::Forbidden(format!(
                "an executor token for {own:?} cannot act for instance_id {instance_id:?}"
            ))),
            _ => Ok(()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<Principal>().cloned()))
    }
}

/// The routes an executor token may call (method, route pattern).
pub const EXECUTOR_ROUTES: &[(Method, &str)] = &[
    (Method::POST, "/api/v1/executors/register"),
    (Method::PUT, "/api/v1/executors/{id}"),
    (Method::PUT, "/api/v1/executors/{id}/status"),
];

/// A token could not be minted or verified.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The token is missing, malformed, expired or signed with another key.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Minting failed (an out-of-range expiry).
    #[error("cannot mint token: {0}")]
    Mint(String),
}

/// Signs and verifies HS256 tokens with one secret.
#[derive(Clone)]
pub struct JwtAuth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtAuth(HS256)")
    }
}

impl JwtAuth {
    /// Uses `secret` for both signing and verifying.
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    /// An admin token for `subject`, valid for `ttl` from now.
    pub fn mint(&self, subject: &str, ttl: Duration) -> Result<String, AuthError> {
        self.mint_scoped(subject, Scope::Admin, ttl)
    }

    /// A token for `subject` with `scope`, valid for `ttl` (at most
    /// [`MAX_TOKEN_TTL`]) from now.
    pub fn mint_scoped(&self, subject: &str, scope: Scope, ttl: Duration) -> Result<String, AuthError> {
        if ttl > MAX_TOKEN_TTL {
            return Err(AuthError::Mint(format!(
                "ttl is too long: at most {}d",
                MAX_TOKEN_TTL.as_secs() / 86_400
            )));
        }
        if ttl.is_zero() {
            return Err(AuthError::Mint("ttl must be longer than zero".to_owned()));
        }
        if subject.trim().is_empty() {
            return Err(AuthError::Mint("the subject must not be empty".to_owned()));
        }
        let now = chrono::Utc::now().timestamp();
        // At most 90 days: fits an i64 and cannot overflow `now`.
        let exp = now.saturating_add(ttl.as_secs() as i64);
        let claims = Claims {
            sub: subject.to_owned(),
            iat: now,
            exp,
            scope: Some(scope.as_str().to_owned()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Mint(e.to_string()))
    }

    /// The claims of a valid token.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
        let leeway = self.validation.leeway as i64;
        if claims.exp.saturating_sub(claims.iat) > MAX_TOKEN_TTL.as_secs() as i64 + leeway {
            return Err(AuthError::Invalid(format!(
                "token lives longer than {}d",
                MAX_TOKEN_TTL.as_secs() / 86_400
            )));
        }
        if claims.iat > chrono::Utc::now().timestamp() + leeway {
            return Err(AuthError::Invalid("token issued in the future".to_owned()));
        }
        Ok(claims)
    }
}

/// Middleware: rejects requests without a valid bearer token (401), and
/// requests its scope does not allow (403); puts the [`Principal`] in the
/// request's extensions for handlers that check more.
pub async fn require_jwt(State(auth): State<Arc<JwtAuth>>, mut req: Request, next: Next) -> Response {
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let token = match header {
        None => return ApiError::Unauthorized("missing Authorization: Bearer token".to_owned()).into_response(),
        Some(h) => match h.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
            _ => {
                return ApiError::Unauthorized("Authorization header must be \"Bearer <token>\"".to_owned())
                    .into_response();
            }
        },
    };
    let claims = match auth.verify(token) {
        Ok(claims) => claims,
        Err(e) => return ApiError::Unauthorized(e.to_string()).into_response(),
    };
    let scope = match claims.scope.as_deref() {
        None | Some("admin") => Scope::Admin,
        Some("executor") => Scope::Executor,
        Some(other) => {
            return ApiError::Forbidden(format!("unknown token scope {:?}", truncate(other, 64))).into_response();
        }
    };
    if scope == Scope::Executor {
        let route = req.extensions().get::<MatchedPath>().map(MatchedPath::as_str);
        let allowed = EXECUTOR_ROUTES
            .iter()
            .any(|(m, r)| m == req.method() && Some(*r) == route);
        if !allowed {
            return ApiError::Forbidden(format!(
                "an executor token may only register and update its own executor, not {} {}",
                req.method(),
                route.unwrap_or("this path")
            ))
            .into_response();
        }
    }
    tracing::trace!(subject = %claims.sub, scope = scope.as_str(), "authenticated");
    req.extensions_mut().insert(Principal {
        subject: claims.sub,
        scope,
    });
    next.run(req).await
}

/// At most `max` characters of `s`.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mint_then_verify() {
        let auth = JwtAuth::new("s3cret");
        let token = auth.mint("ops", Duration::from_secs(60)).unwrap();
        let claims = auth.verify(&token).unwrap();
        assert_eq!(claims.sub, "ops");
        assert_eq!(claims.exp - claims.iat, 60);
    }

    #[test]
    fn other_secret_is_rejected() {
        let token = JwtAuth::new("a").mint("ops", Duration::from_secs(60)).unwrap();
        assert!(JwtAuth::new("b").verify(&token).is_err());
        assert!(JwtAuth::new("a").verify("not.a.token").is_err());
    }

    #[test]
    fn ttl_has_a_ceiling() {
        let auth = JwtAuth::new("s3cret");
        assert!(auth.mint("ops", MAX_TOKEN_TTL).is_ok());
        assert!(auth.mint("ops", MAX_TOKEN_TTL + Duration::from_secs(1)).is_err());
        assert!(auth.mint("ops", Duration::MAX).is_err());
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "ops".into(),
            iat: now,
            exp: now + 10 * 365 * 86_400,
            scope: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding).unwrap();
        assert!(auth.verify(&token).is_err(), "a ten-year token is refused");
    }

    #[test]
    fn scopes_are_minted_into_the_claims() {
        let auth = JwtAuth::new("s3cret");
        let t = auth
            .mint_scoped("exec-1", Scope::Executor, Duration::from_secs(60))
            .unwrap();
        assert_eq!(auth.verify(&t).unwrap().scope.as_deref(), Some("executor"));
        let t = auth.mint("ops", Duration::from_secs(60)).unwrap();
        assert_eq!(auth.verify(&t).unwrap().scope.as_deref(), Some("admin"));
    }

    #[test]
    fn expired_is_rejected() {
        let auth = JwtAuth::new("s3cret");
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "ops".into(),
            iat: now - 3600,
            exp: now - 600,
            scope: None,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding).unwrap();
        assert!(auth.verify(&token).is_err());
    }
}
