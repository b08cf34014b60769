//! [`ApiError`]: every failure of a request, mapped to its status (docs/reference/api.md#errors)
//! code and body `{"error": {"code": "<snake_case>", "message": "..."}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use scheduler_core::{SchedulerError, StoreError, ValidationError};
use serde::Serialize;
use utoipa::ToSchema;

/// Why a request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400 `validation_failed`; the message reads `"<field>: <rule>"`.
    #[error("{0}")]
    Validation(String),
    /// 401 `unauthorized`.
    #[error("{0}")]
    Unauthorized(String),
    /// 403 `forbidden`: authenticated, but the token's scope does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 405 `method_not_allowed`.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 409 `conflict`.
    #[error("{0}")]
    Conflict(String),
    /// 413 `payload_too_large`.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 415 `unsupported_media_type`.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 503 `unavailable`.
    #[error("{0}")]
    Unavailable(String),
    /// 500 `internal`: a bug, never the client's input.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// A validation error on `field`.
    pub fn field(field: impl std::fmt::Display, rule: impl std::fmt::Display) -> Self {
        Self::Validation(format!("{field}: {rule}"))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::MethodNotAllowed(_) => "method_not_allowed",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal",
        }
    }

    fn message(&self) -> &str {
        match self {
            Self::Validation(m)
            | Self::Unauthorized(m)
            | Self::Forbidden(m)
            | Self::NotFound(m)
            | Self::MethodNotAllowed(m)
            | Self::Conflict(m)
            | Self::PayloadTooLarge(m)
            | Self::UnsupportedMediaType(m)
            | Self::Unavailable(m)
            | Self::Internal(m) => m,
        }
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::Validation(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { .. } => Self::NotFound(e.to_string()),
            // A value the database refused for good, or a database failure
            // that is ours: never a 503 that clients would retry forever.
            StoreError::Invalid(m) => {
                tracing::info!(error = %m, "the database refused a value");
                Self::Validation(refused_value_message(&m))
            }
            StoreError::Internal(m) => {
                // The detail may name tables and hosts: it goes to the log only.
                tracing::error!(error = %m, "database error");
                Self::Internal("internal error; the server log has the details".to_owned())
            }
            StoreError::NameTaken(_)
            | StoreError::InstanceTaken(_)
            | StoreError::AlreadyFired { .. }
            | StoreError::Conflict(_) => Self::Conflict(e.to_string()),
            StoreError::Unavailable(detail) => {
                // The detail may name hosts or users: it goes to the log only.
                tracing::warn!(error = %detail, "store unavailable");
                Self::Unavailable("the store is unreachable; try again later".to_owned())
            }
            // A kind of store error this server does not know yet: ours, not the client's.
            other => {
                tracing::error!(error = %other, "store error");
                Self::Internal("internal error; the server log has the details".to_owned())
            }
        }
    }
}

/// `"<column>: refused by the database (...)"`, naming the column when the
/// database's message does (`... for column 'name' ...`).
fn refused_value_message(m: &str) -> String {
    let detail = m;
    let column = detail.split_once("column ").and_then(|(_, rest)| {
        let quoted = rest.split(' ').next()?;
        // `db`.`table`.`column`: the last part is the column.
        let name = quoted.rsplit('.').next().unwrap_or(quoted).trim_matches(['\'', '`']);
        (!name.is_empty()).then(|| name.to_owned())
    });
    let short: String = detail.chars().take(200).collect();
    format!(
        "{}: refused by the database ({short})",
        column.as_deref().unwrap_or("body")
    )
}

impl From<SchedulerError> for ApiError {
    fn from(e: SchedulerError) -> Self {
        match e {
            SchedulerError::Validation(v) => v.into(),
            SchedulerError::Store(s) => s.into(),
            SchedulerError::Unauthorized(m) => Self::Unauthorized(m),
            other => {
                tracing::error!(error = %other, "engine error");
                Self::Internal("internal error; the server log has the details".to_owned())
            }
        }
    }
}

/// The error body of every non-2xx answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorResponse {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// `validation_failed`, `unauthorized`, `forbidden`, `not_found`, `method_not_allowed`,
    /// `conflict`, `payload_too_large`, `unsupported_media_type`, `unavailable`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// Human-readable; for `validation_failed` it starts with the field name.
    #[schema(example = "timeout_seconds: must be between 1 and 604800 (got 0)")]
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(error = %self, "request failed");
        }
        let body = ErrorResponse {
            error: ErrorDetail {
                code: self.code().to_owned(),
                message: self.message().to_owned(),
            },
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_refusals_are_400_or_500_never_503() {
        let refused = StoreError::Invalid("Data too long for column 'name' at row 1".to_owned());
        let e = ApiError::from(refused);
        assert_eq!((e.status(), e.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        assert!(e.message().starts_with("name: "), "{e}");
        let e = ApiError::from(StoreError::Invalid(
            "Incorrect datetime value: 'x' for column `jobs`.`executions`.`end_time` at row 1".to_owned(),
        ));
        assert!(e.message().starts_with("end_time: "), "{e}");
        let e = ApiError::from(StoreError::Internal(
            "Unknown column 'jobs.x' in 'field list'".to_owned(),
        ));
        assert_eq!((e.status(), e.code()), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        assert!(!e.message().contains("jobs"));
        let e = ApiError::from(StoreError::Conflict("task x is deleted".into()));
        assert_eq!(e.status(), StatusCode::CONFLICT);
    }
}
