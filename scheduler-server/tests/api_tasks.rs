//! `/api/v1/tasks` through `app()` (no socket): create, read, list, update,
//! pause/resume, delete, trigger, assignments, statistics.

mod common;

use axum::http::Method;
use common::*;
use serde_json::json;

const TASK_TIMESTAMPS: &[&str] = &["next_run_time", "created_at", "updated_at"];

#[tokio::test]
async fn create_returns_201_with_defaults_and_millisecond_timestamps() {
    let (app, _) = open_api();
    let r = post(&app, "/api/v1/tasks", &task_body("nightly")).await;
    let t = r.ok(201);
    assert_eq!(t["name"], "nightly");
    assert_eq!(t["timezone"], "UTC");
    assert_eq!(t["parameters"], serde_json::Value::Null);
    assert_eq!(t["execution_mode"], "parallel");
    assert_eq!(t["load_balance_strategy"], "round_robin");
    assert_eq!(t["max_retry"], 3);
    assert_eq!(t["timeout_seconds"], 300);
    assert_eq!(t["misfire_policy"], "fire_once");
    assert_eq!(t["status"], "active");
    assert!(t["id"].as_str().is_some_and(|id| !id.is_empty() && id.len() <= 64));
    assert_timestamps(t, TASK_TIMESTAMPS);
    assert!(t["next_run_time"].as_str().unwrap().ends_with(":00.000Z"));
    let keys: Vec<&String> = t.as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 14, "exactly the API's task fields: {keys:?}");
}

#[tokio::test]
async fn create_with_every_field_and_executors() {
    let (app, _) = open_api();
    let e1 = register_executor(&app, "i-1").await;
    let e2 = register_executor(&app, "i-2").await;
    let body = json!({
        "name": "full", "cron_expression": "*/30 * * * *", "timezone": "Europe/Berlin",
        "parameters": {"a": [1, 2]}, "execution_mode": "sequential",
        "load_balance_strategy": "weighted_round_robin", "max_retry": 0, "timeout_seconds": 604800,
        "misfire_policy": "skip", "status": "paused",
        "executors": [{"executor_id": id_of(&e1), "weight": 5, "priority": 1}, {"executor_id": id_of(&e2)}],
    });
    let t = create_task(&app, &body).await;
    assert_eq!(t["status"], "paused");
    assert_eq!(t["next_run_time"], serde_json::Value::Null);
    assert_eq!(t["timezone"], "Europe/Berlin");
    assert_eq!(t["misfire_policy"], "skip");
    assert_eq!(t["max_retry"], 0);
    let list = get(&app, &format!("/api/v1/tasks/{}/executors", id_of(&t))).await;
    let items = list.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    let first = items.iter().find(|i| i["executor_id"] == e1["id"]).unwrap();
    assert_eq!(
        (first["weight"].as_u64(), first["priority"].as_i64()),
        (Some(5), Some(1))
    );
    let second = items.iter().find(|i| i["executor_id"] == e2["id"]).unwrap();
    assert_eq!(
        (second["weight"].as_u64(), second["priority"].as_i64()),
        (Some(1), Some(0))
    );
}

#[tokio::test]
async fn create_validation_names_the_field() {
    let (app, _) = open_api();
    let cases = [
        (json!({"cron_expression": "* * * * *"}), "name"),
        (json!({"name": "", "cron_expression": "* * * * *"}), "name"),
        (json!({"name": "x".repeat(256), "cron_expression": "* * * * *"}), "name"),
        (json!({"name": "a"}), "cron_expression"),
        (json!({"name": "a", "cron_expression": "not cron"}), "cron_expression"),
        (
            json!({"name": "a", "cron_expression": "0 0 0 30 2 *"}),
            "cron_expression",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "timezone": "Mars/Olympus"}),
            "timezone",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "max_retry": 101}),
            "max_retry",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "max_retry": -1}),
            "max_retry",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "timeout_seconds": 0}),
            "timeout_seconds",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "timeout_seconds": 604801}),
            "timeout_seconds",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "max_retry": "3"}),
            "max_retry",
        ),
        (json!({"name": 5, "cron_expression": "* * * * *"}), "name"),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "parameters": [1]}),
            "parameters",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "parameters": {"big": "x".repeat(70_000)}}),
            "parameters",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "misfire_policy": "later"}),
            "misfire_policy",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "execution_mode": "whenever"}),
            "execution_mode",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "load_balance_strategy": "best"}),
            "load_balance_strategy",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "status": "deleted"}),
            "status",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "status": "sleeping"}),
            "status",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "executors": [{"executor_id": "nope"}]}),
            "executors",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "executors": [{"executor_id": "x", "weight": 0}]}),
            "executors[0].weight",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "executors": [{"executor_id": "x", "weight": "1"}]}),
            "executors[0].weight",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "executors": [{"weight": 1}]}),
            "executors[0].executor_id",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "executors": [{"executor_id": "x", "wieght": 1}]}),
            "executors[0].wieght",
        ),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "timeout": 5}),
            "timeout",
        ),
        (json!({"name": "a", "cron_expression": "* * * * *", "id": "mine"}), "id"),
        (
            json!({"name": "a", "cron_expression": "* * * * *", "created_at": "2026-01-01T00:00:00Z"}),
            "created_at",
        ),
    ];
    for (body, field) in cases {
        let r = post(&app, "/api/v1/tasks", &body).await;
        r.invalid(field);
    }
    // Nothing was written by any of them.
    let list = get(&app, "/api/v1/tasks").await;
    assert_eq!(list.ok(200)["total"], 0);
}

#[tokio::test]
async fn cron_forms_are_accepted() {
    let (app, _) = open_api();
    for (i, cron) in [
        "* * * * *",
        "*/5 * * * * *",
        "@daily",
        "@hourly",
        "0 0 12 L * *",
        "0 0 9 * * MON#1",
    ]
    .iter()
    .enumerate()
    {
        let r = post(
            &app,
            "/api/v1/tasks",
            &json!({"name": format!("t{i}"), "cron_expression": cron}),
        )
        .await;
        r.ok(201);
    }
}

#[tokio::test]
async fn duplicate_name_is_409_and_a_deleted_name_can_be_reused() {
    let (app, _) = open_api();
    let t = create_task(&app, &task_body("dup")).await;
    post(&app, "/api/v1/tasks", &task_body("dup"))
        .await
        .error(409, "conflict");
    delete(&app, &format!("/api/v1/tasks/{}", id_of(&t))).await.ok(204);
    create_task(&app, &task_body("dup")).await;
}

#[tokio::test]
async fn get_unknown_is_404_and_deleted_is_still_readable() {
    let (app, _) = open_api();
    get(&app, "/api/v1/tasks/nope").await.error(404, "not_found");
    let t = create_task(&app, &task_body("gone")).await;
    let path = format!("/api/v1/tasks/{}", id_of(&t));
    delete(&app, &path).await.ok(204);
    let r = get(&app, &path).await;
    assert_eq!(r.ok(200)["status"], "deleted");
    assert_eq!(r.body["next_run_time"], serde_json::Value::Null);
}

#[tokio::test]
async fn operations_on_a_deleted_task_are_409() {
    let (app, _) = open_api();
    let t = create_task(&app, &task_body("doomed")).await;
    let id = id_of(&t);
    delete(&app, &format!("/api/v1/tasks/{id}")).await.ok(204);
    delete(&app, &format!("/api/v1/tasks/{id}"))
        .await
        .error(409, "conflict");
    post_empty(&app, &format!("/api/v1/tasks/{id}/pause"))
        .await
        .error(409, "conflict");
    post_empty(&app, &format!("/api/v1/tasks/{id}/resume"))
        .await
        .error(409, "conflict");
    post_empty(&app, &format!("/api/v1/tasks/{id}/trigger"))
        .await
        .error(409, "conflict");
    put(&app, &format!("/api/v1/tasks/{id}"), &json!({"max_retry": 1}))
        .await
        .error(409, "conflict");
    put(
        &app,
        &format!("/api/v1/tasks/{id}/executors"),
        &json!({"executors": []}),
    )
    .await
    .error(409, "conflict");
}

#[tokio::test]
async fn unknown_ids_are_404_on_every_task_route() {
    let (app, _) = open_api();
    for (method, path) in [
        (Method::GET, "/api/v1/tasks/x"),
        (Method::DELETE, "/api/v1/tasks/x"),
        (Method::POST, "/api/v1/tasks/x/pause"),
        (Method::POST, "/api/v1/tasks/x/resume"),
        (Method::POST, "/api/v1/tasks/x/trigger"),
        (Method::GET, "/api/v1/tasks/x/executors"),
        (Method::GET, "/api/v1/tasks/x/stats"),
    ] {
        send(&app, req(method, path)).await.error(404, "not_found");
    }
    put(&app, "/api/v1/tasks/x", &json!({"max_retry": 1}))
        .await
        .error(404, "not_found");
    put(&app, "/api/v1/tasks/x/executors", &json!({"executors": []}))
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn list_filters_pages_and_hides_deleted() {
    let (app, _) = open_api();
    for i in 0..5 {
        create_task(&app, &task_body(&format!("job-{i}"))).await;
    }
    let other = create_task(&app, &task_body("other")).await;
    post_empty(&app, &format!("/api/v1/tasks/{}/pause", id_of(&other)))
        .await
        .ok(200);
    let gone = create_task(&app, &task_body("gone")).await;
    delete(&app, &format!("/api/v1/tasks/{}", id_of(&gone))).await.ok(204);

    let all = get(&app, "/api/v1/tasks").await;
    let all = all.ok(200);
    assert_eq!(all["total"], 6);
    assert_eq!((all["page"].as_u64(), all["page_size"].as_u64()), (Some(1), Some(20)));
    let names: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "other", "newest first: {names:?}");
    assert!(!names.contains(&"gone"));

    let page = get(&app, "/api/v1/tasks?name=job&page=2&page_size=2").await;
    let page = page.ok(200);
    assert_eq!(page["total"], 5);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    assert_eq!((page["page"].as_u64(), page["page_size"].as_u64()), (Some(2), Some(2)));

    let paused = get(&app, "/api/v1/tasks?status=paused").await;
    assert_eq!(paused.ok(200)["total"], 1);
    let deleted = get(&app, "/api/v1/tasks?status=deleted").await;
    assert_eq!(deleted.ok(200)["items"][0]["name"], "gone");
    let beyond = get(&app, "/api/v1/tasks?page=99").await;
    assert_eq!(beyond.ok(200)["items"].as_array().unwrap().len(), 0);
    assert_eq!(beyond.body["total"], 6);
}

#[tokio::test]
async fn update_changes_only_the_fields_given() {
    let (app, _) = open_api();
    let t = create_task(
        &app,
        &json!({"name": "u", "cron_expression": "0 0 * * * *", "parameters": {"a": 1}}),
    )
    .await;
    let path = format!("/api/v1/tasks/{}", id_of(&t));
    let r = put(&app, &path, &json!({"max_retry": 7, "cron_expression": "0 30 * * * *"})).await;
    let u = r.ok(200);
    assert_eq!(u["max_retry"], 7);
    assert_eq!(u["name"], "u");
    assert_eq!(u["parameters"], json!({"a": 1}));
    assert_eq!(u["cron_expression"], "0 30 * * * *");
    assert!(u["next_run_time"].as_str().unwrap().ends_with(":30:00.000Z"));
    assert_eq!(u["created_at"], t["created_at"]);
    assert_timestamps(u, TASK_TIMESTAMPS);
    let cleared = put(&app, &path, &json!({"parameters": null})).await;
    assert_eq!(cleared.ok(200)["parameters"], serde_json::Value::Null);
    let same = put(&app, &path, &json!({})).await;
    assert_eq!(same.ok(200)["max_retry"], 7);
}

#[tokio::test]
async fn update_rejects_read_only_and_invalid_fields_without_writing() {
    let (app, _) = open_api();
    create_task(&app, &task_body("taken")).await;
    let t = create_task(&app, &task_body("mine")).await;
    let path = format!("/api/v1/tasks/{}", id_of(&t));
    for field in ["status", "id", "created_at", "updated_at", "next_run_time"] {
        let m = put(&app, &path, &json!({ field: "x", "max_retry": 9 }))
            .await
            .invalid(field);
        assert!(m.contains("read-only"), "{m}");
    }
    put(&app, &path, &json!({"timeout_seconds": 0, "max_retry": 9}))
        .await
        .invalid("timeout_seconds");
    put(&app, &path, &json!({"cron_expression": "61 * * * * *", "max_retry": 9}))
        .await
        .invalid("cron_expression");
    put(&app, &path, &json!({"timezone": "Nowhere", "max_retry": 9}))
        .await
        .invalid("timezone");
    put(&app, &path, &json!({"max_retry": 9, "misfire_policy": "never"}))
        .await
        .invalid("misfire_policy");
    put(
        &app,
        &path,
        &json!({"max_retry": 9, "executors": [{"executor_id": "ghost"}]}),
    )
    .await
    .invalid("executors");
    put(&app, &path, &json!({"name": "taken", "max_retry": 9}))
        .await
        .error(409, "conflict");
    let after = get(&app, &path).await;
    assert_eq!(after.ok(200)["max_retry"], 3, "no partial write");
    assert_eq!(after.body["name"], "mine");
}

#[tokio::test]
async fn pause_and_resume() {
    let (app, _) = open_api();
    let t = create_task(&app, &task_body("p")).await;
    let id = id_of(&t);
    let p = post_empty(&app, &format!("/api/v1/tasks/{id}/pause")).await;
    assert_eq!(p.ok(200)["status"], "paused");
    assert_eq!(p.body["next_run_time"], serde_json::Value::Null);
    let again = post_empty(&app, &format!("/api/v1/tasks/{id}/pause")).await;
    assert_eq!(again.ok(200)["status"], "paused");
    let r = post_empty(&app, &format!("/api/v1/tasks/{id}/resume")).await;
    assert_eq!(r.ok(200)["status"], "active");
    assert_timestamps(&r.body, TASK_TIMESTAMPS);
    assert!(r.body["next_run_time"].is_string());
}

#[tokio::test]
async fn trigger_creates_a_manual_execution_and_merges_parameters() {
    let (app, _) = open_api();
    let t = create_task(
        &app,
        &json!({"name": "tr", "cron_expression": "@daily", "parameters": {"a": 1, "b": 2}}),
    )
    .await;
    let id = id_of(&t);
    post_empty(&app, &format!("/api/v1/tasks/{id}/pause")).await.ok(200);
    let r = post(
        &app,
        &format!("/api/v1/tasks/{id}/trigger"),
        &json!({"parameters": {"b": 3, "c": 4}}),
    )
    .await;
    let e = r.ok(201);
    assert_eq!(e["trigger_type"], "manual");
    assert_eq!(e["status"], "pending");
    assert_eq!(e["task_id"], id.as_str());
    assert_eq!(e["parameters"], json!({"a": 1, "b": 3, "c": 4}));
    assert_eq!(e["retry_count"], 0);
    assert_timestamps(e, &["scheduled_time", "start_time", "end_time", "created_at"]);
    let keys: Vec<&String> = e.as_object().unwrap().keys().collect();
    for internal in ["dispatched_at", "next_attempt_at", "timeout_at", "callback_token"] {
        assert!(
            !e.as_object().unwrap().contains_key(internal),
            "{internal} leaked: {keys:?}"
        );
    }
    assert_eq!(keys.len(), 13);
    // Without a body, and with an empty JSON body.
    let plain = post_empty(&app, &format!("/api/v1/tasks/{id}/trigger")).await;
    assert_eq!(plain.ok(201)["parameters"], json!({"a": 1, "b": 2}));
    post(&app, &format!("/api/v1/tasks/{id}/trigger"), &json!({}))
        .await
        .ok(201);
    post(&app, &format!("/api/v1/tasks/{id}/trigger"), &json!({"params": {}}))
        .await
        .invalid("params");
    post(&app, &format!("/api/v1/tasks/{id}/trigger"), &json!({"parameters": 5}))
        .await
        .invalid("parameters");
}

#[tokio::test]
async fn executors_assignment_replace() {
    let (app, _) = open_api();
    let e1 = register_executor(&app, "a").await;
    let e2 = register_executor(&app, "b").await;
    let t = create_task(&app, &task_body("assign")).await;
    let path = format!("/api/v1/tasks/{}/executors", id_of(&t));
    assert_eq!(get(&app, &path).await.ok(200), &json!({"items": []}));
    let body = json!({"executors": [
        {"executor_id": id_of(&e1), "weight": 3},
        {"executor_id": id_of(&e2), "priority": -1},
    ]});
    let r = put(&app, &path, &body).await;
    assert_eq!(r.ok(200)["items"].as_array().unwrap().len(), 2);
    put(
        &app,
        &path,
        &json!({"executors": [{"executor_id": id_of(&e1), "weight": 1001}]}),
    )
    .await
    .invalid("executors[0].weight");
    put(
        &app,
        &path,
        &json!({"executors": [{"executor_id": id_of(&e1)}, {"executor_id": id_of(&e1)}]}),
    )
    .await
    .invalid("executors[1].executor_id");
    put(&app, &path, &json!({"executors": [{"executor_id": "ghost"}]}))
        .await
        .invalid("executors");
    put(&app, &path, &json!({})).await.invalid("executors");
    put(&app, &path, &json!({"executors": {}})).await.invalid("executors");
    assert_eq!(
        get(&app, &path).await.ok(200)["items"].as_array().unwrap().len(),
        2,
        "no partial write"
    );
    let cleared = put(&app, &path, &json!({"executors": []})).await;
    assert_eq!(cleared.ok(200), &json!({"items": []}));
}

#[tokio::test]
async fn stats_shape() {
    let (app, _) = open_api();
    let t = create_task(&app, &task_body("stats")).await;
    let id = id_of(&t);
    // Statistics count final executions: a pending one is not counted yet,
    // a cancelled one is (in the total, not in the rates).
    let triggered = post_empty(&app, &format!("/api/v1/tasks/{id}/trigger")).await;
    let pending = id_of(triggered.ok(201));
    let before = get(&app, &format!("/api/v1/tasks/{id}/stats")).await;
    assert_eq!(before.ok(200)["24h"]["total"], 0);
    post_empty(&app, &format!("/api/v1/executions/{pending}/stop"))
        .await
        .ok(200);
    let r = get(&app, &format!("/api/v1/tasks/{id}/stats")).await;
    let s = r.ok(200);
    for w in ["24h", "7d", "90d"] {
        for k in [
            "total",
            "success",
            "failed",
            "timeout",
            "skipped",
            "cancelled",
            "success_rate",
            "timeout_rate",
            "avg_duration_ms",
        ] {
            assert!(s[w].as_object().unwrap().contains_key(k), "{w}.{k} missing");
        }
        assert_eq!(s[w]["total"], 1);
        assert_eq!(s[w]["success_rate"], serde_json::Value::Null);
    }
    assert_eq!(s["health_score"], serde_json::Value::Null);
    let daily = s["daily"].as_array().unwrap();
    assert_eq!(daily.len(), 30);
    let last = &daily[29];
    assert_eq!(last["total"], 1);
    assert_eq!(last["date"].as_str().unwrap().len(), 10);
    for k in ["date", "total", "success", "failed", "timeout", "success_rate"] {
        assert!(last.as_object().unwrap().contains_key(k));
    }
}

#[tokio::test]
async fn schedule_preview() {
    let (app, _) = open_api();
    let r = get(
        &app,
        "/api/v1/schedule/preview?cron_expression=0%200%209%20*%20*%20*&timezone=Europe/Berlin&count=3",
    )
    .await;
    let items = r.ok(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);
    for i in &items {
        let s = i.as_str().unwrap();
        assert!(is_api_timestamp(s), "{s}");
        assert!(s.ends_with(":00:00.000Z"));
    }
    let default = get(&app, "/api/v1/schedule/preview?cron_expression=@hourly").await;
    assert_eq!(default.ok(200)["items"].as_array().unwrap().len(), 5);
    get(&app, "/api/v1/schedule/preview").await.invalid("cron_expression");
    get(&app, "/api/v1/schedule/preview?cron_expression=nope")
        .await
        .invalid("cron_expression");
    get(
        &app,
        "/api/v1/schedule/preview?cron_expression=@daily&timezone=Atlantis",
    )
    .await
    .invalid("timezone");
    get(&app, "/api/v1/schedule/preview?cron_expression=@daily&count=0")
        .await
        .invalid("count");
    get(&app, "/api/v1/schedule/preview?cron_expression=@daily&count=51")
        .await
        .invalid("count");
    get(&app, "/api/v1/schedule/preview?cron_expression=@daily&count=50")
        .await
        .ok(200);
}

#[tokio::test]
async fn a_null_trigger_body_is_no_body() {
    let (app, _) = open_api();
    let t = create_task(&app, &task_body("null-trigger")).await;
    let r = send(
        &app,
        raw(
            axum::http::Method::POST,
            &format!("/api/v1/tasks/{}/trigger", id_of(&t)),
            Some("application/json"),
            "null",
        ),
    )
    .await;
    assert_eq!(r.ok(201)["trigger_type"], "manual");
}
