//! `/api/v1/executors` through `app()`: register (201/200), list, get,
//! update, status, delete.

mod common;

use common::*;
use serde_json::json;

const EXECUTOR_TIMESTAMPS: &[&str] = &["last_health_check", "created_at", "updated_at"];

#[tokio::test]
async fn register_creates_then_updates_by_instance_id() {
    let (app, _) = open_api();
    let body =
        json!({"name": "w", "instance_id": "host-1", "base_url": "http://10.0.0.1:9000", "metadata": {"zone": "a"}});
    let created = post(&app, "/api/v1/executors/register", &body).await;
    let e = created.ok(201).clone();
    assert_eq!(e["status"], "online");
    assert_eq!(e["is_healthy"], true);
    assert_eq!(e["health_check_failures"], 0);
    assert_eq!(e["health_check_url"], serde_json::Value::Null);
    assert_eq!(e["metadata"], json!({"zone": "a"}));
    assert_timestamps(&e, EXECUTOR_TIMESTAMPS);
    assert!(!e.as_object().unwrap().contains_key("health_check_successes"));
    assert_eq!(e.as_object().unwrap().len(), 12);

    let again = json!({"name": "w2", "instance_id": "host-1", "base_url": "http://10.0.0.2:9000", "health_check_url": "http://10.0.0.2:9000/ping"});
    let updated = post(&app, "/api/v1/executors/register", &again).await;
    let u = updated.ok(200);
    assert_eq!(u["id"], e["id"]);
    assert_eq!(u["name"], "w2");
    assert_eq!(u["base_url"], "http://10.0.0.2:9000");
    assert_eq!(u["health_check_url"], "http://10.0.0.2:9000/ping");
    assert_eq!(u["created_at"], e["created_at"]);
    let list = get(&app, "/api/v1/executors").await;
    assert_eq!(list.ok(200)["total"], 1);
}

#[tokio::test]
async fn register_validation() {
    let (app, _) = open_api();
    let ok = json!({"name": "w", "instance_id": "i", "base_url": "http://h:1"});
    let mut cases = Vec::new();
    for (field, value) in [
        ("name", json!("")),
        ("name", json!(null)),
        ("instance_id", json!("")),
        ("base_url", json!("not a url")),
        ("base_url", json!("ftp://h/")),
        ("base_url", json!("/relative")),
        ("health_check_url", json!("gopher://h")),
        ("metadata", json!("text")),
        ("status", json!("online")),
        ("color", json!("red")),
    ] {
        let mut b = ok.clone();
        b[field] = value;
        cases.push((b, field));
    }
    for missing in ["name", "instance_id", "base_url"] {
        let mut b = ok.clone();
        b.as_object_mut().unwrap().remove(missing);
        cases.push((b, missing));
    }
    for (body, field) in cases {
        post(&app, "/api/v1/executors/register", &body).await.invalid(field);
    }
    assert_eq!(get(&app, "/api/v1/executors").await.ok(200)["total"], 0);
}

#[tokio::test]
async fn list_filters_by_status_name_health_and_pages() {
    let (app, s) = open_api();
    let a = register_executor(&app, "alpha").await;
    let b = register_executor(&app, "beta").await;
    let c = post(
        &app,
        "/api/v1/executors/register",
        &json!({"name": "special", "instance_id": "gamma", "base_url": "http://g:1"}),
    )
    .await
    .ok(201)
    .clone();
    put(
        &app,
        &format!("/api/v1/executors/{}/status", id_of(&a)),
        &json!({"status": "maintenance", "reason": "patching"}),
    )
    .await
    .ok(200);
    // Make `b` unhealthy through the store, as the prober would.
    let thresholds = scheduler_core::HealthThresholds {
        failure_threshold: 1,
        recovery_threshold: 1,
    };
    s.store()
        .record_health(
            &scheduler_core::ExecutorId::new(id_of(&b)),
            false,
            chrono::Utc::now(),
            thresholds,
        )
        .await
        .unwrap();

    let all = get(&app, "/api/v1/executors").await;
    assert_eq!(all.ok(200)["total"], 3);
    assert_eq!(all.body["items"][0]["id"], c["id"], "newest first");
    let maint = get(&app, "/api/v1/executors?status=maintenance").await;
    assert_eq!(maint.ok(200)["items"][0]["id"], a["id"]);
    assert_eq!(maint.body["total"], 1);
    let named = get(&app, "/api/v1/executors?name=spec").await;
    assert_eq!(named.ok(200)["total"], 1);
    let sick = get(&app, "/api/v1/executors?healthy=false").await;
    assert_eq!(sick.ok(200)["items"][0]["id"], b["id"]);
    let well = get(&app, "/api/v1/executors?healthy=true").await;
    assert_eq!(well.ok(200)["total"], 2);
    let page = get(&app, "/api/v1/executors?page=2&page_size=2").await;
    assert_eq!(page.ok(200)["items"].as_array().unwrap().len(), 1);

    get(&app, "/api/v1/executors?status=busy").await.invalid("status");
    get(&app, "/api/v1/executors?healthy=yes").await.invalid("healthy");
    get(&app, "/api/v1/executors?page=0").await.invalid("page");
    get(&app, "/api/v1/executors?page_size=500").await.invalid("page_size");
}

#[tokio::test]
async fn update_status_and_delete() {
    let (app, _) = open_api();
    let e = register_executor(&app, "one").await;
    let path = format!("/api/v1/executors/{}", id_of(&e));
    let r = put(
        &app,
        &path,
        &json!({"name": "renamed", "metadata": {"v": 2}, "health_check_url": "http://h:2/hc"}),
    )
    .await;
    let u = r.ok(200);
    assert_eq!(u["name"], "renamed");
    assert_eq!(u["metadata"], json!({"v": 2}));
    assert_eq!(u["health_check_url"], "http://h:2/hc");
    assert_eq!(u["instance_id"], "one");
    let cleared = put(&app, &path, &json!({"health_check_url": null, "metadata": null})).await;
    assert_eq!(cleared.ok(200)["health_check_url"], serde_json::Value::Null);
    assert_eq!(cleared.body["metadata"], serde_json::Value::Null);
    put(&app, &path, &json!({"base_url": "nope"})).await.invalid("base_url");
    put(&app, &path, &json!({"instance_id": "other"}))
        .await
        .invalid("instance_id");
    put(&app, &path, &json!({"status": "offline"})).await.invalid("status");

    let st = put(&app, &format!("{path}/status"), &json!({"status": "offline"})).await;
    assert_eq!(st.ok(200)["status"], "offline");
    put(&app, &format!("{path}/status"), &json!({"status": "sleeping"}))
        .await
        .invalid("status");
    put(&app, &format!("{path}/status"), &json!({})).await.invalid("status");
    put(
        &app,
        &format!("{path}/status"),
        &json!({"status": "online", "why": "x"}),
    )
    .await
    .invalid("why");

    delete(&app, &path).await.ok(204);
    get(&app, &path).await.error(404, "not_found");
    delete(&app, &path).await.error(404, "not_found");
    put(&app, &path, &json!({"name": "x"})).await.error(404, "not_found");
    put(&app, &format!("{path}/status"), &json!({"status": "online"}))
        .await
        .error(404, "not_found");
}

#[tokio::test]
async fn deleting_an_executor_keeps_its_executions() {
    let accept = std::sync::Arc::new(AcceptAll::default());
    let s = leader_with(accept.clone());
    let app = scheduler_server::app(scheduler_server::AppState::new(s.clone()));
    let e = register_executor(&app, "doomed").await;
    let t = create_task(&app, &task_body("history")).await;
    let exec = post_empty(&app, &format!("/api/v1/tasks/{}/trigger", id_of(&t)))
        .await
        .ok(201)
        .clone();
    running_token(&s, &id_of(&exec)).await;
    let path = format!("/api/v1/executions/{}", id_of(&exec));
    assert_eq!(get(&app, &path).await.ok(200)["executor_id"], e["id"]);
    delete(&app, &format!("/api/v1/executors/{}", id_of(&e))).await.ok(204);
    let after = get(&app, &path).await;
    assert_eq!(after.ok(200)["executor_id"], serde_json::Value::Null);
}
