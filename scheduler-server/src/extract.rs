//! Extractors whose rejections are [`ApiError`]s, so malformed JSON, wrong
//! types, unknown fields, wrong content types and oversize bodies all get
//! the API's error body (docs/reference/api.md#errors).

use crate::error::ApiError;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

/// Largest request body accepted (1 MiB, docs/reference/api.md#conventions); larger is a 413.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON body, required.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

/// A JSON body that may be left out (an empty body).
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match read_json_body(req, state).await? {
            Some(bytes) => parse_json(&bytes).map(Self),
            None => Err(ApiError::field("body", "a JSON body is required")),
        }
    }
}

impl<S, T> FromRequest<S> for OptionalJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match read_json_body(req, state).await? {
            // `null` is "no body" too, as the document's nullable body says.
            Some(bytes) if bytes.trim_ascii() == b"null" => Ok(Self(None)),
            Some(bytes) => parse_json(&bytes).map(|v| Self(Some(v))),
            None => Ok(Self(None)),
        }
    }
}

pub(crate) fn is_json_content_type(value: &str) -> bool {
    let mime = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Reads the body within the limit; `None` when it is empty. A non-empty
/// body that is not declared as JSON is a 415.
async fn read_json_body<S: Send + Sync>(req: Request, state: &S) -> Result<Option<Bytes>, ApiError> {
    let too_large = || ApiError::PayloadTooLarge(format!("body: must be at most {MAX_BODY_BYTES} bytes"));
    let headers = req.headers();
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared_len.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("").to_owned());
    let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::field("body", format!("cannot be read ({rejection})"))
        }
    })?;
    // An empty body is no body, whatever its declared type (clients often
    // send `text/plain` with an empty POST).
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match content_type {
        Some(ct) if !is_json_content_type(&ct) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Type must be application/json (got {ct:?})"
        ))),
        None => Err(ApiError::UnsupportedMediaType(
            "Content-Type must be application/json (none given)".to_owned(),
        )),
        _ => Ok(Some(bytes)),
    }
}

/// Fields that exist on responses but can never be written.
const READ_ONLY_FIELDS: &[&str] = &[
    "id",
    "status",
    "next_run_time",
    "created_at",
    "updated_at",
    "is_healthy",
    "last_health_check",
    "health_check_failures",
];

/// Parses a JSON object with the path of the offending field in every error.
///
/// Every request body of the API is an object; serde would also accept an
/// array for a struct (fields by position), which is refused here.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::field("body", "must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        if inner.is_syntax() && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
            // serde_json reports a wrong JSON type for an enum (`"status": 1`)
            // as a syntax error although the document is valid JSON.
            return ApiError::field(path, "invalid type: expected one of the documented string values");
        }
        json_error(&path, &inner)
    })?;
    de.end()
        .map_err(|e| ApiError::field("body", format!("malformed JSON: {e}")))?;
    Ok(value)
}

fn json_error(path: &str, e: &serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => ApiError::field("body", format!("malformed JSON: {e}")),
        Category::Data => {
            let message = strip_position(e);
            let at = (path != ".").then_some(path);
            // For an unknown field the path already ends with the field's name.
            if let Some(field) = between(&message, "unknown field `", "`") {
                let rule = if READ_ONLY_FIELDS.contains(&field) {
                    "is read-only and cannot be set here".to_owned()
                } else {
                    match message.split_once(", expected ") {
                        Some((_, expected)) => format!("unknown field (expected {})", expected.replace('`', "")),
                        None => "unknown field".to_owned(),
                    }
                };
                return ApiError::field(at.unwrap_or(field), rule);
            }
            // For a missing field the path is the object that lacks it.
            if let Some(field) = between(&message, "missing field `", "`") {
                let full = match at {
                    Some(p) => format!("{p}.{field}"),
                    None => field.to_owned(),
                };
                return ApiError::field(full, "is required");
            }
            match at {
                Some(p) => ApiError::field(p, message),
                None if message.contains("expected struct") || message.starts_with("invalid type") => {
                    ApiError::field("body", "must be a JSON object")
                }
                None => ApiError::field("body", message),
            }
        }
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = s.strip_prefix(start)?;
    rest.split_once(end).map(|(x, _)| x)
}

/// serde_json appends " at line L column C" to data errors; the field path says more.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).map(str::to_owned).unwrap_or(text)
}

/// One path segment, `/{id}`.
#[derive(Debug)]
pub struct IdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(id) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::field("id", e.body_text()))?;
        Ok(Self(id))
    }
}

/// The query string as a list of pairs, read strictly: a parameter named
/// twice, or one the route does not know, is a 400.
#[derive(Debug, Default)]
pub struct QueryParams {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
            .map_err(|e| ApiError::field("query", format!("malformed query string ({e})")))?;
        let mut seen = std::collections::HashSet::with_capacity(pairs.len());
        for (k, _) in &pairs {
            if !seen.insert(k.as_str()) {
                return Err(ApiError::field(k, "is given more than once"));
            }
        }
        Ok(Self { pairs })
    }
}

impl QueryParams {
    /// Whether the parameter is present (empty or not).
    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// Takes a string parameter out; an empty value counts as absent.
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.take_raw(name).filter(|v| !v.is_empty())
    }

    fn take_raw(&mut self, name: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(i).1)
    }

    /// Takes and parses a typed parameter (number, enum, boolean, time): an
    /// empty value is not a value of its type and is refused like any other.
    pub fn parse<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&str) -> Option<T>,
        rule: &str,
    ) -> Result<Option<T>, ApiError> {
        match self.take_raw(name) {
            None => Ok(None),
            Some(v) => parse(&v)
                .map(Some)
                .ok_or_else(|| ApiError::field(name, format!("{rule} (got {v:?})"))),
        }
    }

    /// An integer in `min..=max`, or `default`.
    pub fn int_in(&mut self, name: &str, default: u32, min: u32, max: u32) -> Result<u32, ApiError> {
        let rule = if max == u32::MAX {
            format!("must be an integer of at least {min}")
        } else {
            format!("must be an integer between {min} and {max}")
        };
        Ok(self
            .parse(
                name,
                |v| v.parse::<u32>().ok().filter(|n| (min..=max).contains(n)),
                &rule,
            )?
            .unwrap_or(default))
    }

    /// Fails on any parameter not taken yet.
    pub fn finish(self) -> Result<(), ApiError> {
        match self.pairs.into_iter().next() {
            Some((k, _)) => Err(ApiError::field(k, "unknown query parameter")),
            None => Ok(()),
        }
    }
}
