//! Bearer authentication with HS256 JWTs (`auth.jwt_secret`).
//!
//! With a secret configured, every `/api/v1` route needs
//! `Authorization: Bearer <token>` — `/api/v1/openapi.json` included, since it
//! is under `/api/v1` — except the execution callback, which executors
//! authenticate with the per-execution `X-Callback-Token` instead.
//! `/healthz`, `/readyz` and `/metrics` stay open for probes and scrapers.
//! Tokens carry `sub`, `iat` and `exp`; `scheduler-server token` mints one.

use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The claims of an API token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Who the token was minted for.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expires at (seconds since the epoch).
    pub exp: i64,
}

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

    /// A token for `subject`, valid for `ttl` from now.
    pub fn mint(&self, subject: &str, ttl: Duration) -> Result<String, AuthError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(ttl.as_secs()).map_err(|_| AuthError::Mint("ttl is too long".to_owned()))?;
        let exp = now
            .checked_add(ttl)
            .ok_or_else(|| AuthError::Mint("ttl is too long".to_owned()))?;
        let claims = Claims {
            sub: subject.to_owned(),
            iat: now,
            exp,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Mint(e.to_string()))
    }

    /// The claims of a valid token.
    pub fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

/// Middleware: rejects requests without a valid bearer token (401).
pub async fn require_jwt(State(auth): State<Arc<JwtAuth>>, req: Request, next: Next) -> Response {
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
    match auth.verify(token) {
        Ok(claims) => {
            tracing::trace!(subject = %claims.sub, "authenticated");
            next.run(req).await
        }
        Err(e) => ApiError::Unauthorized(e.to_string()).into_response(),
    }
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
    fn expired_is_rejected() {
        let auth = JwtAuth::new("s3cret");
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "ops".into(),
            iat: now - 3600,
            exp: now - 600,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding).unwrap();
        assert!(auth.verify(&token).is_err());
    }
}
