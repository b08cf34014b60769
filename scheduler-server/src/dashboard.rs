//! The web dashboard: the single-page app built from `web/` into this
//! crate's `dashboard/` folder (see `web/README.md`), embedded into the
//! binary and served at `/` and at every path outside `/api/`.
//!
//! ```text
//! GET /                      index.html                      Cache-Control: no-cache
//! GET /assets/index-3f9a.js  the file (content-hashed name)  Cache-Control: public, max-age=31536000, immutable
//! GET /favicon.svg           the file                        Cache-Control: no-cache
//! GET /tasks/42              index.html (the SPA routes it)  Cache-Control: no-cache
//! GET /assets/gone.js        404 (a missing file is not the app)
//! GET /api/v1/unknown        404 with the API's error body
//! ```
//!
//! Release builds carry the files inside the binary; debug builds read them
//! from `dashboard/` at each request (rust-embed's behaviour), so a rebuilt
//! dashboard shows up without recompiling. Every response has an `ETag` (the
//! file's SHA-256), and `If-None-Match` gets a 304.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use rust_embed::{Embed, EmbeddedFile};
use std::fmt::Write as _;

/// The built dashboard, committed in this crate's `dashboard/` folder so the
/// published package carries it.
#[derive(Embed)]
#[folder = "$CARGO_MANIFEST_DIR/dashboard"]
struct Dist;

/// The page every client-side route is answered with.
pub const INDEX: &str = "index.html";

/// `Cache-Control` of files under `/assets/`: their names carry a hash of
/// their content, so a changed file is a new URL and an old one never changes.
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `Cache-Control` of `index.html` and other unhashed files: revalidate every
/// time (cheap, thanks to the `ETag`), so a new build is picked up at once.
pub const CACHE_REVALIDATE: &str = "no-cache";

/// Routes serving the dashboard: `/` and every path but `/api/...`, with the
/// SPA fallback to `index.html`. Merge it into the API router; the API's
/// routes win over its catch-all, and it answers unknown `/api/` paths with
/// the API's 404 body. It needs no state and takes no authentication (the app
/// asks for a token itself when the API answers 401).
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route("/", get(index))
        .route("/{*path}", any(serve))
        .layer(axum::middleware::map_response(with_security_headers))
}

/// `Content-Security-Policy` of every dashboard response: the app loads its
/// scripts, styles and icons from this server only and talks to this API
/// only. Inline styles stay allowed because the chart library sets `style`
/// attributes; inline scripts, `eval`, plugins and framing are refused.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
    object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Adds the headers that keep the dashboard from being framed, sniffed into
/// another type, or made to run scripts from elsewhere.
async fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

async fn index(headers: HeaderMap) -> Response {
    match Dist::get(INDEX) {
        Some(file) => file_response(INDEX, file, &headers),
        None => missing_build(),
    }
}

async fn serve(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    if path == "api" || path.starts_with("api/") {
        return api_error(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no route for {method} {}", uri.path()),
        );
    }
    if method != Method::GET && method != Method::HEAD {
        let mut response = api_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            &format!("{method} is not allowed on {}", uri.path()),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    // Never look outside the folder, whatever rust-embed does in debug builds.
    let safe = !path.contains('\\') && path.split('/').all(|seg| seg != ".." && seg != ".");
    if safe && let Some(file) = Dist::get(path) {
        return file_response(path, file, &headers);
    }
    // A missing file (an old asset, a typo) is a 404; any other path is a
    // route of the app.
    let last = path.rsplit('/').next().unwrap_or_default();
    if !safe || path.starts_with("assets/") || last.contains('.') {
        return api_error(StatusCode::NOT_FOUND, "not_found", &format!("no file {}", uri.path()));
    }
    index(headers).await
}

fn file_response(path: &str, file: EmbeddedFile, request: &HeaderMap) -> Response {
    let cache = if path.starts_with("assets/") {
        CACHE_IMMUTABLE
    } else {
        CACHE_REVALIDATE
    };
    let mut etag = String::with_capacity(66);
    etag.push('"');
    for byte in file.metadata.sha256_hash() {
        // Writing to a String cannot fail.
        let _ = write!(etag, "{byte:02x}");
    }
    etag.push('"');

    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag || tag.trim() == "*"));

    let mime = file.metadata.mimetype();
    let content_type = if mime.starts_with("text/") && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    };
    let builder = Response::builder()
        .header(header::CACHE_CONTROL, cache)
        .header(header::ETAG, &etag);
    let response = if not_modified {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::empty())
    } else {
        builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(file.data))
    };
    // Every header above is a valid header value (ASCII from rust-embed and
    // constants), so building cannot fail; answer 500 rather than panic anyway.
    response.unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// The API's error body (docs/reference/api.md#errors), `{"error":{"code","message"}}`.
fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, axum::Json(body)).into_response()
}

fn missing_build() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "The dashboard is not built: run `npm ci && npm run build` in web/.\n",
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;
    use axum::http::Request;
    use tower::ServiceExt;

    async fn call(router: Router, method: &str, path: &str, etag: Option<&str>) -> Response {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(tag) = etag {
            request = request.header(header::IF_NONE_MATCH, tag);
        }
        router
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible")
    }

    fn header_of(r: &Response, name: header::HeaderName) -> &str {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    async fn text(r: Response) -> String {
        String::from_utf8(to_bytes(r.into_body(), 1 << 24).await.expect("body").to_vec()).expect("utf-8")
    }

    fn app() -> Router {
        router()
    }

    #[tokio::test]
    async fn root_serves_index_without_caching() {
        let r = call(app(), "GET", "/", None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header_of(&r, header::CONTENT_TYPE), "text/html; charset=utf-8");
        assert_eq!(header_of(&r, header::CACHE_CONTROL), CACHE_REVALIDATE);
        assert!(text(r).await.contains("id=\"root\""));
    }

    #[tokio::test]
    async fn client_routes_fall_back_to_index() {
        for path in ["/tasks", "/tasks/0192-abc/edit", "/executions/x"] {
            let r = call(app(), "GET", path, None).await;
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(header_of(&r, header::CACHE_CONTROL), CACHE_REVALIDATE, "{path}");
            assert!(text(r).await.contains("id=\"root\""), "{path}");
        }
    }

    #[tokio::test]
    async fn hashed_assets_are_immutable_with_their_type() {
        let mut seen = 0;
        for name in Dist::iter().filter(|n| n.starts_with("assets/")) {
            let r = call(app(), "GET", &format!("/{name}"), None).await;
            assert_eq!(r.status(), StatusCode::OK, "{name}");
            assert_eq!(header_of(&r, header::CACHE_CONTROL), CACHE_IMMUTABLE, "{name}");
            let expected = if name.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else if name.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                continue;
            };
            assert_eq!(header_of(&r, header::CONTENT_TYPE), expected, "{name}");
            seen += 1;
        }
        assert!(seen >= 2, "dashboard/assets has the app's JS and CSS");
    }

    #[tokio::test]
    async fn missing_files_and_api_paths_are_404() {
        let r = call(app(), "GET", "/assets/index-00000000.js", None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = call(app(), "GET", "/robots.txt", None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = call(app(), "GET", "/api/v1/nothing-here", None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert!(text(r).await.contains("\"code\":\"not_found\""));
        let r = call(app(), "GET", "/assets/../index.html", None).await;
        assert_ne!(r.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn only_get_and_head() {
        let r = call(app(), "POST", "/tasks", None).await;
        assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(header_of(&r, header::ALLOW), "GET, HEAD");
        let r = call(app(), "HEAD", "/tasks", None).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn etag_revalidation_answers_304() {
        let r = call(app(), "GET", "/", None).await;
        let etag = header_of(&r, header::ETAG).to_owned();
        assert!(etag.starts_with('"') && etag.len() == 66, "{etag}");
        let r = call(app(), "GET", "/", Some(&etag)).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&r, header::CACHE_CONTROL), CACHE_REVALIDATE);
    }

    #[tokio::test]
    async fn merges_under_a_stateful_api_router() {
        let api: Router<u8> = Router::new().route("/api/v1/ping", get(|| async { "pong" }));
        let merged = api.merge(router()).with_state(7u8);
        let r = call(merged.clone(), "GET", "/api/v1/ping", None).await;
        assert_eq!(text(r).await, "pong");
        let r = call(merged, "GET", "/executors", None).await;
        assert_eq!(r.status(), StatusCode::OK);
    }
}
