//! Field validation shared by every input type.

use std::fmt;

/// A rejected input: which field, and which rule it broke.
///
/// The server turns this into `400 validation_failed` with `"{field}: {message}"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    /// The field name as it appears in the JSON API (`timeout_seconds`, `executors[1].weight`).
    pub field: String,
    /// The rule that was broken, in plain words.
    pub message: String,
}

impl ValidationError {
    /// A validation error on `field`.
    pub fn new(field: impl Into<String>, message: impl fmt::Display) -> Self {
        Self {
            field: field.into(),
            message: message.to_string(),
        }
    }
}

/// Checks a string's length in characters (not bytes) against `min..=max`.
pub(crate) fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), ValidationError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ValidationError::new(
            field,
            format!("must be {min} to {max} characters long (got {n})"),
        ));
    }
    Ok(())
}

/// Checks that an integer lies in `min..=max` and narrows it.
pub(crate) fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<u32, ValidationError> {
    if value < min || value > max {
        return Err(ValidationError::new(
            field,
            format!("must be between {min} and {max} (got {value})"),
        ));
    }
    u32::try_from(value).map_err(|_| ValidationError::new(field, "out of range"))
}

/// Whether a name is blank: nothing but white space. White space is
/// Unicode's, plus the four ASCII separators U+001C..U+001F that most regular
/// expression engines (and so the OpenAPI document's `\S` pattern, as
/// clients check it) also count as space.
pub(crate) fn is_blank(value: &str) -> bool {
    value
        .chars()
        .all(|c| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Checks that `value` is an absolute `http`/`https` URL with a host and
/// nothing that would change where a request built from it goes: no user
/// info (credentials belong in headers, not in a URL that is stored and
/// shown), no query and no fragment (`{base_url}/execute` must be a path
/// under the base, not a new query value).
pub(crate) fn check_http_url(field: &str, value: &str) -> Result<(), ValidationError> {
    check_len(field, value, 1, 2048)?;
    let url = url::Url::parse(value)
        .map_err(|e| ValidationError::new(field, format!("must be an absolute http(s) URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ValidationError::new(field, "must use the http or https scheme"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(field, "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ValidationError::new(
            field,
            "must not contain user info (user:password@); use executors.access_token to authenticate the scheduler",
        ));
    }
    // `Url` drops an empty `?` or `#`; the text still has it.
    if url.query().is_some() || value.contains('?') {
        return Err(ValidationError::new(field, "must not contain a query (?...)"));
    }
    if url.fragment().is_some() || value.contains('#') {
        return Err(ValidationError::new(field, "must not contain a fragment (#...)"));
    }
    Ok(())
}
