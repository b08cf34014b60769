//! `/system/status`, `/healthz`, `/readyz`, `/metrics` and the OpenAPI document.

mod common;

use common::*;
use scheduler_server::{AppState, app};
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn system_status_shape_and_counts() {
    let accept = Arc::new(AcceptAll::default());
    let s = leader_with(accept);
    s.start().await.unwrap();
    let app = app(AppState::new(s.clone()));
    register_executor(&app, "e1").await;
    let e2 = register_executor(&app, "e2").await;
    put(
        &app,
        &format!("/api/v1/executors/{}/status", id_of(&e2)),
        &serde_json::json!({"status": "maintenance"}),
    )
    .await
    .ok(200);
    create_task(&app, &task_body("a")).await;
    let b = create_task(&app, &task_body("b")).await;
    post_empty(&app, &format!("/api/v1/tasks/{}/pause", id_of(&b)))
        .await
        .ok(200);

    let status = eventually(std::time::Duration::from_secs(5), "the heartbeat row", || async {
        let r = get(&app, "/api/v1/system/status").await;
        (!r.body["scheduler"]["instances"].as_array()?.is_empty()).then_some(r.body)
    })
    .await;
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&status), ["executions", "executors", "scheduler", "tasks"]);
    assert_eq!(keys(&status["scheduler"]), ["instance_id", "instances", "leader"]);
    assert_eq!(status["scheduler"]["instance_id"], s.instance_id());
    assert_eq!(status["scheduler"]["leader"], true);
    let inst = &status["scheduler"]["instances"][0];
    assert_eq!(
        keys(inst),
        [
            "alive",
            "hostname",
            "instance_id",
            "is_leader",
            "last_heartbeat",
            "started_at"
        ]
    );
    assert_eq!(inst["alive"], true);
    assert_timestamps(inst, &["started_at", "last_heartbeat"]);
    assert_eq!(
        keys(&status["executors"]),
        ["healthy", "maintenance", "offline", "online", "total", "unhealthy"]
    );
    assert_eq!(status["executors"]["total"], 2);
    assert_eq!(status["executors"]["online"], 1);
    assert_eq!(status["executors"]["maintenance"], 1);
    assert_eq!(keys(&status["tasks"]), ["active", "paused"]);
    assert_eq!(
        (status["tasks"]["active"].as_u64(), status["tasks"]["paused"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(keys(&status["executions"]), ["pending", "running"]);
    s.shutdown().await;
}

#[tokio::test]
async fn probes() {
    let (app, _) = open_api();
    let h = get(&app, "/healthz").await;
    assert_eq!(h.ok(200)["status"], "ok");
    let r = get(&app, "/readyz").await;
    assert_eq!(r.ok(200)["status"], "ok");
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_histograms() {
    let accept = Arc::new(AcceptAll::default());
    let s = leader_with(accept);
    let app = app(AppState::new(s.clone()));
    register_executor(&app, "m").await;
    let t = create_task(&app, &task_body("metrics")).await;
    let e = post_empty(&app, &format!("/api/v1/tasks/{}/trigger", id_of(&t)))
        .await
        .ok(201)
        .clone();
    running_token(&s, &id_of(&e)).await;
    get(&app, "/api/v1/tasks").await.ok(200);
    let r = get(&app, "/metrics").await;
    assert_eq!(r.status, 200);
    let ct = r.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/plain"), "{ct}");
    let text = &r.text;
    for needle in [
        "# TYPE chronoflow_http_request_duration_seconds histogram",
        "chronoflow_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/tasks\",status=\"200\",le=\"0.005\"}",
        "# TYPE chronoflow_fire_lag_seconds histogram",
        "chronoflow_fire_lag_seconds_bucket{le=\"+Inf\"}",
        "chronoflow_dispatches_total{outcome=\"accepted\"}",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle:?}:\n{text}");
    }
    // Unknown paths are not a label each: they share their route pattern.
    get(&app, "/no/such/path/123").await;
    get(&app, "/api/v1/no/such/path/456").await;
    let again = get(&app, "/metrics").await;
    assert!(!again.text.contains("/no/such/path/123"));
    assert!(!again.text.contains("/api/v1/no/such/path/456"));
}

/// Every route the router serves is documented, with its error responses.
#[tokio::test]
async fn openapi_documents_every_route() {
    let (app, _) = open_api();
    let r = get(&app, "/api/v1/openapi.json").await;
    let doc = r.ok(200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes: &[(&str, &[&str])] = &[
        ("/api/v1/tasks", &["post", "get"]),
        ("/api/v1/tasks/{id}", &["get", "put", "delete"]),
        ("/api/v1/tasks/{id}/pause", &["post"]),
        ("/api/v1/tasks/{id}/resume", &["post"]),
        ("/api/v1/tasks/{id}/trigger", &["post"]),
        ("/api/v1/tasks/{id}/executors", &["get", "put"]),
        ("/api/v1/tasks/{id}/stats", &["get"]),
        ("/api/v1/executors/register", &["post"]),
        ("/api/v1/executors", &["get"]),
        ("/api/v1/executors/{id}", &["get", "put", "delete"]),
        ("/api/v1/executors/{id}/status", &["put"]),
        ("/api/v1/executions", &["get"]),
        ("/api/v1/executions/{id}", &["get"]),
        ("/api/v1/executions/{id}/stop", &["post"]),
        ("/api/v1/executions/{id}/callback", &["post"]),
        ("/api/v1/alerts", &["get"]),
        ("/api/v1/system/status", &["get"]),
        ("/api/v1/schedule/preview", &["get"]),
        ("/api/v1/openapi.json", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
        ("/metrics", &["get"]),
    ];
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(paths.len(), routes.len());
    for (path, methods) in routes {
        for m in *methods {
            let op = &doc["paths"][path][m];
            assert!(op.is_object(), "{m} {path} undocumented");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|k| k.starts_with('2')),
                "{m} {path} has no success response"
            );
            for (code, resp) in responses {
                if code.starts_with('4') || code.starts_with('5') {
                    assert_eq!(
                        resp["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorResponse",
                        "{m} {path} {code}"
                    );
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "Task",
        "Executor",
        "Execution",
        "TaskExecutor",
        "TaskStats",
        "SystemStatus",
        "TaskList",
        "ExecutorList",
        "ExecutionList",
        "CreateTaskRequest",
        "UpdateTaskRequest",
        "CallbackRequest",
        "ErrorResponse",
        "Timestamp",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert_eq!(doc["security"][0]["bearer"], serde_json::json!([]));
    let cb = &doc["paths"]["/api/v1/executions/{id}/callback"]["post"];
    assert_eq!(cb["security"], serde_json::json!([{}]), "the callback needs no JWT");
    let params: Vec<&str> = cb["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(params.contains(&"X-Callback-Token"));
    let stats = &schemas["TaskStats"]["properties"];
    assert!(stats["24h"].is_object() && stats["7d"].is_object() && stats["90d"].is_object());
    let execution = schemas["Execution"]["properties"].as_object().unwrap();
    assert!(!execution.contains_key("callback_token"));
}

/// A client can send any method token; each must not become a new series.
#[tokio::test]
async fn metrics_labels_are_bounded_for_invented_methods_and_paths() {
    let (app, _) = open_api();
    for m in ["BREW", "XYZZY-1", "PROPFIND"] {
        let method = axum::http::Method::from_bytes(m.as_bytes()).unwrap();
        send(&app, req(method.clone(), "/api/v1/tasks")).await;
        send(&app, req(method, "/invented/path")).await;
    }
    let text = get(&app, "/metrics").await.text;
    for m in ["BREW", "XYZZY-1", "PROPFIND", "/invented/path", "unmatched"] {
        assert!(!text.contains(m), "/metrics carries {m:?}:\n{text}");
    }
    assert!(
        text.contains("chronoflow_http_request_duration_seconds_count{method=\"other\",route=\"/api/v1/tasks\""),
        "{text}"
    );
    // Unknown paths fall to the dashboard's catch-all pattern: one series.
    assert!(text.contains("method=\"other\",route=\"/{*path}\""), "{text}");
}

/// The document declares what the server enforces, so that a request it
/// allows is accepted (REST fuzzing in `.ci/fuzz.sh` checks this broadly).
#[tokio::test]
async fn openapi_declares_the_enforced_rules() {
    let (app, _) = open_api();
    let doc = get(&app, "/api/v1/openapi.json").await.ok(200).clone();
    let schemas = &doc["components"]["schemas"];
    let create = &schemas["CreateTaskRequest"]["properties"];
    assert_eq!(create["name"]["minLength"], 1);
    assert_eq!(create["name"]["maxLength"], 255);
    assert_eq!(create["executors"]["maxItems"], 1000);
    assert!(
        create["cron_expression"]["description"]
            .as_str()
            .unwrap()
            .contains("valid")
    );
    let register = &schemas["RegisterExecutorRequest"]["properties"];
    // URL syntax is the server's (no pattern could match it exactly); the
    // document states the rule and bounds the length.
    assert!(register["base_url"]["pattern"].is_null());
    assert_eq!(register["base_url"]["maxLength"], 2048);
    assert!(
        register["base_url"]["description"]
            .as_str()
            .unwrap()
            .contains("without user info, query or fragment")
    );
    assert_eq!(register["instance_id"]["maxLength"], 255);
    // 403 and 503 on every authenticated operation; no Authorization parameter.
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            assert!(
                params
                    .iter()
                    .all(|p| !p["name"].as_str().unwrap().eq_ignore_ascii_case("authorization")),
                "{method} {path} declares Authorization as a parameter"
            );
            if path.starts_with("/api/v1/") && !path.ends_with("/callback") {
                for code in ["401", "403", "503"] {
                    assert!(op["responses"][code].is_object(), "{method} {path} lacks {code}");
                }
            }
        }
    }
}

#[tokio::test]
async fn typed_query_parameters_may_not_be_empty() {
    let (app, _) = open_api();
    get(&app, "/api/v1/tasks?page=").await.invalid("page");
    get(&app, "/api/v1/executors?status=").await.invalid("status");
    get(&app, "/api/v1/executions?to=").await.invalid("to");
    get(&app, "/api/v1/tasks?page=2147483648").await.invalid("page");
    // An empty string filter is no filter.
    get(&app, "/api/v1/tasks?name=").await.ok(200);
}
