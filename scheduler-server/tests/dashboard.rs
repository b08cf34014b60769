//! The dashboard is served by the server itself: `/` and every client-side
//! route give the single-page app, assets carry their content type and
//! caching headers, and `/api/...` keeps the API's JSON errors.

mod common;

use common::{follower, get, open_api};
use scheduler_server::AppState;

#[tokio::test]
async fn the_app_is_served_at_the_root_and_at_client_routes() {
    let (app, _) = open_api();
    for path in [
        "/",
        "/tasks",
        "/tasks/0192f0a1-0000-7000-8000-000000000000",
        "/executions?status=failed",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status.as_u16(), 200, "{path}");
        assert!(
            r.headers["content-type"].to_str().unwrap().starts_with("text/html"),
            "{path}"
        );
        assert!(r.text.contains("id=\"root\""), "{path}: {}", r.text);
        assert_eq!(r.headers["cache-control"], "no-cache", "{path}");
    }
}

#[tokio::test]
async fn hashed_assets_are_immutable_with_their_content_type() {
    let (app, _) = open_api();
    let index = get(&app, "/").await.text;
    // Every asset the page refers to is served.
    let assets: Vec<&str> = index.split('"').filter(|s| s.starts_with("/assets/")).collect();
    assert!(!assets.is_empty(), "index.html refers to its assets: {index}");
    for a in assets {
        let r = get(&app, a).await;
        assert_eq!(r.status.as_u16(), 200, "{a}");
        assert_eq!(r.headers["cache-control"], "public, max-age=31536000, immutable", "{a}");
        let ct = r.headers["content-type"].to_str().unwrap();
        if a.ends_with(".js") {
            assert!(ct.contains("javascript"), "{a}: {ct}");
        } else if a.ends_with(".css") {
            assert!(ct.starts_with("text/css"), "{a}: {ct}");
        }
    }
    assert_eq!(get(&app, "/assets/nope-0000.js").await.status.as_u16(), 404);
}

#[tokio::test]
async fn api_paths_keep_json_errors_and_the_page_needs_no_token() {
    let (app, _) = open_api();
    get(&app, "/api/v1/nothing").await.error(404, "not_found");
    let secured = scheduler_server::app(AppState::new(follower()).with_jwt_secret("dashboard-test-secret"));
    assert_eq!(
        get(&secured, "/").await.status.as_u16(),
        200,
        "the page itself asks for the token"
    );
    get(&secured, "/api/v1/tasks").await.error(401, "unauthorized");
    let _ = app;
}

#[tokio::test]
async fn dashboard_responses_carry_the_security_headers() {
    let (app, _) = open_api();
    let index = get(&app, "/").await.text;
    let asset = index
        .split('"')
        .find(|s| s.starts_with("/assets/"))
        .expect("an asset")
        .to_owned();
    for path in ["/", "/tasks/42", asset.as_str(), "/assets/missing-0000.js"] {
        let r = get(&app, path).await;
        let csp = r.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(r.headers["x-frame-options"], "DENY", "{path}");
    }
}
