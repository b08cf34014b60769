//! The API's error statuses and body (docs/reference/api.md#errors) on every kind of bad request:
//! malformed JSON, wrong types, unknown enum values and fields, content
//! types (415), oversize bodies (413), bad paging, unknown routes, a store
//! that is down (503) — and never a 500 for client input.

mod common;

use axum::http::Method;
use common::*;
use scheduler_core::Scheduler;
use scheduler_server::{AppState, app};
use serde_json::json;
use std::sync::Arc;

/// Every route with a JSON body, with a path that exists once a task, an
/// executor and an execution exist.
const BODY_ROUTES: &[(&str, &str)] = &[
    ("POST", "/api/v1/tasks"),
    ("PUT", "/api/v1/tasks/{task}"),
    ("POST", "/api/v1/tasks/{task}/trigger"),
    ("PUT", "/api/v1/tasks/{task}/executors"),
    ("POST", "/api/v1/executors/register"),
    ("PUT", "/api/v1/executors/{executor}"),
    ("PUT", "/api/v1/executors/{executor}/status"),
];

async fn fixtures(app: &axum::Router) -> (String, String) {
    let t = create_task(app, &task_body("fixture")).await;
    let e = register_executor(app, "fixture").await;
    (id_of(&t), id_of(&e))
}

fn fill(path: &str, task: &str, executor: &str) -> String {
    path.replace("{task}", task).replace("{executor}", executor)
}

#[tokio::test]
async fn malformed_json_is_400_naming_the_body() {
    let (app, _) = open_api();
    let (task, executor) = fixtures(&app).await;
    for (method, path) in BODY_ROUTES {
        let uri = fill(path, &task, &executor);
        for bad in ["{", "{\"", "{\"na", "nul", "tru", "\u{1}", "{,}"] {
            let r = send(&app, raw(method.parse().unwrap(), &uri, Some("application/json"), bad)).await;
            let m = r.invalid("body");
            assert!(m.contains("malformed JSON"), "{method} {uri} {bad:?}: {m}");
        }
        // A JSON value that is not an object.
        send(&app, raw(method.parse().unwrap(), &uri, Some("application/json"), "[]"))
            .await
            .invalid("body");
        send(
            &app,
            raw(method.parse().unwrap(), &uri, Some("application/json"), "\"text\""),
        )
        .await
        .invalid("body");
    }
    // Trailing content after a complete object.
    let uri = format!("/api/v1/tasks/{task}");
    let m = send(&app, raw(Method::PUT, &uri, Some("application/json"), "{} {}"))
        .await
        .invalid("body");
    assert!(m.contains("malformed JSON"), "{m}");
}

#[tokio::test]
async fn wrong_types_unknown_enums_and_unknown_fields_name_the_field() {
    let (app, _) = open_api();
    let (task, executor) = fixtures(&app).await;
    let t = format!("/api/v1/tasks/{task}");
    let e = format!("/api/v1/executors/{executor}");
    put(&app, &t, &json!({"max_retry": true})).await.invalid("max_retry");
    put(&app, &t, &json!({"timeout_seconds": 1.5}))
        .await
        .invalid("timeout_seconds");
    put(&app, &t, &json!({"timeout_seconds": 99999999999999999999u128 as f64}))
        .await
        .invalid("timeout_seconds");
    put(&app, &t, &json!({"name": ["a"]})).await.invalid("name");
    put(&app, &t, &json!({"misfire_policy": "FIRE_ONCE"}))
        .await
        .invalid("misfire_policy");
    put(&app, &t, &json!({"execution_mode": 3}))
        .await
        .invalid("execution_mode");
    put(&app, &t, &json!({"cron": "* * * * *"})).await.invalid("cron");
    put(&app, &format!("{e}/status"), &json!({"status": "ONLINE"}))
        .await
        .invalid("status");
    put(&app, &e, &json!({"metadata": [1]})).await.invalid("metadata");
    put(&app, &e, &json!({"weight": 3})).await.invalid("weight");
    post(
        &app,
        "/api/v1/executors/register",
        &json!({"name": "x", "instance_id": 7, "base_url": "http://h"}),
    )
    .await
    .invalid("instance_id");
    put(
        &app,
        &format!("{t}/executors"),
        &json!({"executors": [{"executor_id": executor, "priority": "high"}]}),
    )
    .await
    .invalid("executors[0].priority");
    put(
        &app,
        &format!("{t}/executors"),
        &json!({"executors": [{"executor_id": executor, "priority": 3000000000u64}]}),
    )
    .await
    .invalid("executors[0].priority");
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let (app, _) = open_api();
    let (task, executor) = fixtures(&app).await;
    for (method, path) in BODY_ROUTES {
        let uri = fill(path, &task, &executor);
        for ct in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/xml"),
            None,
        ] {
            let r = send(&app, raw(method.parse().unwrap(), &uri, ct, "{\"name\":\"x\"}")).await;
            r.error(415, "unsupported_media_type");
        }
    }
    // JSON with parameters or a +json type is fine.
    let ok = send(
        &app,
        raw(
            Method::POST,
            "/api/v1/tasks",
            Some("application/json; charset=utf-8"),
            serde_json::to_vec(&task_body("charset")).unwrap(),
        ),
    )
    .await;
    ok.ok(201);
    let vnd = send(
        &app,
        raw(
            Method::POST,
            "/api/v1/tasks",
            Some("application/vnd.api+json"),
            serde_json::to_vec(&task_body("vnd")).unwrap(),
        ),
    )
    .await;
    vnd.ok(201);
}

#[tokio::test]
async fn body_over_one_mib_is_413() {
    let (app, _) = open_api();
    let (task, executor) = fixtures(&app).await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 10));
    for (method, path) in BODY_ROUTES {
        let uri = fill(path, &task, &executor);
        let r = send(
            &app,
            raw(method.parse().unwrap(), &uri, Some("application/json"), big.clone()),
        )
        .await;
        r.error(413, "payload_too_large");
    }
    // Without a Content-Length (a stream), the limit still holds.
    let stream = futures_body(big.clone().into_bytes());
    let r = send(
        &app,
        raw(Method::POST, "/api/v1/tasks", Some("application/json"), stream),
    )
    .await;
    r.error(413, "payload_too_large");
    // Just under the limit is parsed (and rejected for its content, not its size).
    let fits = format!(
        "{{\"cron_expression\": \"@daily\", \"name\": \"{}\"}}",
        "x".repeat(1024 * 1024 - 100)
    );
    send(&app, raw(Method::POST, "/api/v1/tasks", Some("application/json"), fits))
        .await
        .invalid("name");
}

fn futures_body(bytes: Vec<u8>) -> axum::body::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = bytes.chunks(64 * 1024).map(|c| Ok(c.to_vec())).collect();
    axum::body::Body::from_stream(futures::stream::iter(chunks))
}

#[tokio::test]
async fn paging_out_of_range_is_400() {
    let (app, _) = open_api();
    for list in ["/api/v1/tasks", "/api/v1/executors", "/api/v1/executions"] {
        for (q, field) in [
            ("page_size=0", "page_size"),
            ("page_size=201", "page_size"),
            ("page_size=abc", "page_size"),
            ("page=0", "page"),
            ("page=-3", "page"),
            ("page=1.5", "page"),
            ("page=99999999999", "page"),
        ] {
            get(&app, &format!("{list}?{q}")).await.invalid(field);
        }
        let max = get(&app, &format!("{list}?page_size=200&page=1")).await;
        assert_eq!(max.ok(200)["page_size"], 200);
        let r = get(&app, &format!("{list}?page_size=1")).await;
        assert_eq!(r.ok(200)["page_size"], 1);
        get(&app, &format!("{list}?bogus=1")).await.invalid("bogus");
    }
    get(&app, "/api/v1/tasks?status=removed").await.invalid("status");
}

#[tokio::test]
async fn unknown_route_is_404_and_wrong_method_is_405_with_the_error_body() {
    let (app, _) = open_api();
    get(&app, "/api/v1/nothing").await.error(404, "not_found");
    get(&app, "/api/v2/tasks").await.error(404, "not_found");
    send(&app, req(Method::DELETE, "/api/v1/tasks"))
        .await
        .error(405, "method_not_allowed");
    send(&app, req(Method::PATCH, "/api/v1/tasks/x"))
        .await
        .error(405, "method_not_allowed");
    send(&app, req(Method::GET, "/api/v1/executions/x/callback"))
        .await
        .error(405, "method_not_allowed");
}

fn down_app() -> axum::Router {
    let s = Scheduler::builder().store(Arc::new(DownStore)).build();
    app(AppState::new(s))
}

#[tokio::test]
async fn readyz_is_503_when_the_store_does_not_answer() {
    let r = get(&down_app(), "/readyz").await;
    r.error(503, "unavailable");
    let (ok, _) = open_api();
    assert_eq!(get(&ok, "/readyz").await.ok(200)["status"], "ok");
    assert_eq!(get(&down_app(), "/healthz").await.ok(200)["status"], "ok");
}

#[tokio::test]
async fn store_down_is_503_on_every_api_route() {
    let app = down_app();
    let gets = [
        "/api/v1/tasks",
        "/api/v1/tasks/x",
        "/api/v1/tasks/x/executors",
        "/api/v1/tasks/x/stats",
        "/api/v1/executors",
        "/api/v1/executors/x",
        "/api/v1/executions",
        "/api/v1/executions/x",
        "/api/v1/system/status",
    ];
    for uri in gets {
        let m = get(&app, uri).await.error(503, "unavailable");
        assert!(!m.contains("refused (test)"), "store details stay in the log: {m}");
    }
    post(&app, "/api/v1/tasks", &task_body("x"))
        .await
        .error(503, "unavailable");
    put(&app, "/api/v1/tasks/x", &json!({"max_retry": 1}))
        .await
        .error(503, "unavailable");
    delete(&app, "/api/v1/tasks/x").await.error(503, "unavailable");
    post_empty(&app, "/api/v1/tasks/x/pause")
        .await
        .error(503, "unavailable");
    post_empty(&app, "/api/v1/tasks/x/resume")
        .await
        .error(503, "unavailable");
    post_empty(&app, "/api/v1/tasks/x/trigger")
        .await
        .error(503, "unavailable");
    put(&app, "/api/v1/tasks/x/executors", &json!({"executors": []}))
        .await
        .error(503, "unavailable");
    post(
        &app,
        "/api/v1/executors/register",
        &json!({"name": "a", "instance_id": "b", "base_url": "http://c"}),
    )
    .await
    .error(503, "unavailable");
    put(&app, "/api/v1/executors/x", &json!({"name": "n"}))
        .await
        .error(503, "unavailable");
    put(&app, "/api/v1/executors/x/status", &json!({"status": "online"}))
        .await
        .error(503, "unavailable");
    delete(&app, "/api/v1/executors/x").await.error(503, "unavailable");
    post_empty(&app, "/api/v1/executions/x/stop")
        .await
        .error(503, "unavailable");
    let cb = send(
        &app,
        axum::http::Request::builder()
            .method(Method::POST)
            .uri("/api/v1/executions/x/callback")
            .header("content-type", "application/json")
            .header("x-callback-token", "0123456789abcdef0123456789abcdef")
            .body(axum::body::Body::from("{\"status\":\"success\"}"))
            .unwrap(),
    )
    .await;
    cb.error(503, "unavailable");
    // Validation still comes first: a bad body is a 400 even with the store down.
    post(&app, "/api/v1/tasks", &json!({"name": 1})).await.invalid("name");
}

/// Garbage of every shape on every route: never a 5xx.
#[tokio::test]
async fn no_client_input_gives_a_500() {
    let (app, _) = open_api();
    let (task, executor) = fixtures(&app).await;
    let bodies: Vec<String> = vec![
        String::new(),
        "null".into(),
        "0".into(),
        "{}".into(),
        "{\"name\":null,\"cron_expression\":null}".into(),
        "{\"executors\":[null]}".into(),
        "{\"executors\":[{}]}".into(),
        "{\"status\":null}".into(),
        "{\"parameters\":{\"\\u0000\":\"\\ud800\"}}".into(),
        "{\"name\":\"\\u0000\",\"cron_expression\":\"@daily\"}".into(),
        format!("{{\"name\":\"{}\",\"cron_expression\":\"@daily\"}}", "é".repeat(300)),
        "{\"name\":\"n\",\"cron_expression\":\"* * * * * * * *\"}".into(),
        "{\"name\":\"n\",\"cron_expression\":\"@reboot\"}".into(),
        "{\"name\":\"n\",\"cron_expression\":\"0 0 0 31 2 *\"}".into(),
        "{\"name\":\"n\",\"cron_expression\":\"*/0 * * * * *\"}".into(),
        "{\"base_url\":\"http://[::1\"}".into(),
    ];
    let paths = [
        "/api/v1/tasks",
        "/api/v1/tasks/{task}",
        "/api/v1/tasks/{task}/pause",
        "/api/v1/tasks/{task}/resume",
        "/api/v1/tasks/{task}/trigger",
        "/api/v1/tasks/{task}/executors",
        "/api/v1/tasks/{task}/stats",
        "/api/v1/executors",
        "/api/v1/executors/register",
        "/api/v1/executors/{executor}",
        "/api/v1/executors/{executor}/status",
        "/api/v1/executions",
        "/api/v1/executions/x",
        "/api/v1/executions/x/stop",
        "/api/v1/executions/x/callback",
        "/api/v1/system/status",
        "/api/v1/schedule/preview?cron_expression=%FF",
        "/api/v1/tasks/%FF%FE",
        "/api/v1/tasks?name=%FF",
    ];
    for path in paths {
        let uri = fill(path, &task, &executor);
        for method in [Method::GET, Method::POST, Method::PUT, Method::DELETE] {
            for body in &bodies {
                let r = send(&app, raw(method.clone(), &uri, Some("application/json"), body.clone())).await;
                assert!(
                    r.status.as_u16() < 500,
                    "{method} {uri} with {body:?} gave {}: {}",
                    r.status,
                    r.text
                );
                if !r.status.is_success() {
                    assert!(r.body["error"]["code"].is_string(), "{method} {uri}: {}", r.text);
                }
            }
        }
    }
}
