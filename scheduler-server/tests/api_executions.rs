//! `/api/v1/executions` through `app()`: list and filters, get, stop, and
//! the callback's authentication, validation and conflicts.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, header};
use common::*;
use scheduler_server::{AppState, app};
use serde_json::{Value, json};
use std::sync::Arc;

fn callback_req(id: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/executions/{id}/callback"))
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        b = b.header("X-Callback-Token", t);
    }
    b.body(Body::from(serde_json::to_vec(body).unwrap())).unwrap()
}

/// A leading engine whose dispatches are accepted; one executor, one task.
async fn running_execution() -> (axum::Router, scheduler_core::Scheduler, Arc<AcceptAll>, String, String) {
    let accept = Arc::new(AcceptAll::default());
    let s = leader_with(accept.clone());
    let app = app(AppState::new(s.clone()));
    register_executor(&app, "w").await;
    let t = create_task(&app, &task_body("cb")).await;
    let e = post_empty(&app, &format!("/api/v1/tasks/{}/trigger", id_of(&t)))
        .await
        .ok(201)
        .clone();
    let id = id_of(&e);
    let token = running_token(&s, &id).await;
    (app, s, accept, id, token)
}

#[tokio::test]
async fn list_filters_and_orders_by_scheduled_time() {
    let (app, _) = open_api();
    let a = create_task(&app, &task_body("a")).await;
    let b = create_task(&app, &task_body("b")).await;
    let mut ids = Vec::new();
    for t in [&a, &a, &b] {
        let e = post_empty(&app, &format!("/api/v1/tasks/{}/trigger", id_of(t)))
            .await
            .ok(201)
            .clone();
        ids.push(id_of(&e));
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    let all = get(&app, "/api/v1/executions").await;
    let all = all.ok(200).clone();
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"][0]["id"], ids[2].as_str(), "newest scheduled_time first");
    assert_eq!((all["page"].as_u64(), all["page_size"].as_u64()), (Some(1), Some(20)));
    for item in all["items"].as_array().unwrap() {
        assert_timestamps(item, &["scheduled_time", "start_time", "end_time", "created_at"]);
    }
    let of_a = get(&app, &format!("/api/v1/executions?task_id={}", id_of(&a))).await;
    assert_eq!(of_a.ok(200)["total"], 2);
    let pending = get(&app, "/api/v1/executions?status=pending&page_size=1").await;
    assert_eq!(pending.ok(200)["total"], 3);
    assert_eq!(pending.body["items"].as_array().unwrap().len(), 1);
    let none = get(&app, "/api/v1/executions?status=success").await;
    assert_eq!(none.ok(200)["total"], 0);
    let by_executor = get(&app, "/api/v1/executions?executor_id=nobody").await;
    assert_eq!(by_executor.ok(200)["total"], 0);

    let first = all["items"][2]["scheduled_time"].as_str().unwrap().to_owned();
    let last = all["items"][0]["scheduled_time"].as_str().unwrap().to_owned();
    let from = get(&app, &format!("/api/v1/executions?from={last}")).await;
    assert_eq!(from.ok(200)["total"], 1);
    let to = get(&app, &format!("/api/v1/executions?to={first}")).await;
    assert_eq!(to.ok(200)["total"], 1);
    // Any RFC 3339 form is accepted (here with an offset, URL-encoded).
    let offset = get(
        &app,
        "/api/v1/executions?from=2000-01-01T01:00:00%2B01:00&to=2999-01-01T00:00:00Z",
    )
    .await;
    assert_eq!(offset.ok(200)["total"], 3);

    get(&app, "/api/v1/executions?status=done").await.invalid("status");
    get(&app, "/api/v1/executions?from=yesterday").await.invalid("from");
    get(&app, "/api/v1/executions?to=2026-13-01T00:00:00Z")
        .await
        .invalid("to");
    get(
        &app,
        "/api/v1/executions?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    )
    .await
    .invalid("from");
    get(&app, "/api/v1/executions?page_size=0").await.invalid("page_size");
    get(&app, "/api/v1/executions?page=-1").await.invalid("page");
    get(&app, "/api/v1/executions?task=1").await.invalid("task");
    get(&app, "/api/v1/executions?status=pending&status=running")
        .await
        .invalid("status");
}

#[tokio::test]
async fn get_and_stop() {
    let (app, _) = open_api();
    get(&app, "/api/v1/executions/nope").await.error(404, "not_found");
    post_empty(&app, "/api/v1/executions/nope/stop")
        .await
        .error(404, "not_found");
    let t = create_task(&app, &task_body("s")).await;
    let e = post_empty(&app, &format!("/api/v1/tasks/{}/trigger", id_of(&t)))
        .await
        .ok(201)
        .clone();
    let id = id_of(&e);
    let got = get(&app, &format!("/api/v1/executions/{id}")).await;
    assert_eq!(got.ok(200)["id"], id.as_str());
    let stopped = post_empty(&app, &format!("/api/v1/executions/{id}/stop")).await;
    let stopped = stopped.ok(200);
    assert_eq!(stopped["status"], "cancelled");
    assert!(stopped["end_time"].is_string());
    assert_timestamps(stopped, &["end_time"]);
    post_empty(&app, &format!("/api/v1/executions/{id}/stop"))
        .await
        .error(409, "conflict");
}

#[tokio::test]
async fn stop_asks_the_executor_to_stop() {
    let (app, _s, accept, id, _token) = running_execution().await;
    let r = post_empty(&app, &format!("/api/v1/executions/{id}/stop")).await;
    assert_eq!(r.ok(200)["status"], "cancelled");
    eventually(std::time::Duration::from_secs(5), "the stop request", || async {
        accept
            .stops
            .lock()
            .unwrap()
            .iter()
            .any(|x| x.as_str() == id)
            .then_some(())
    })
    .await;
}

#[tokio::test]
async fn callback_needs_the_right_token() {
    let (app, _s, _accept, id, token) = running_execution().await;
    let body = json!({"status": "success"});
    send(&app, callback_req(&id, None, &body))
        .await
        .error(401, "unauthorized");
    send(&app, callback_req(&id, Some(""), &body))
        .await
        .error(401, "unauthorized");
    send(&app, callback_req(&id, Some("not-the-token"), &body))
        .await
        .error(401, "unauthorized");
    send(&app, callback_req("unknown", Some(&token), &body))
        .await
        .error(404, "not_found");
    let r = send(&app, callback_req(&id, Some(&token), &body)).await;
    assert_eq!(r.ok(200)["status"], "success");
}

#[tokio::test]
async fn callback_validation() {
    let (app, _s, _accept, id, token) = running_execution().await;
    for (body, field) in [
        (json!({"status": "timeout"}), "status"),
        (json!({"status": "cancelled"}), "status"),
        (json!({"status": 1}), "status"),
        (json!({}), "status"),
        (json!({"status": "success", "end_time": "yesterday"}), "end_time"),
        (json!({"status": "success", "logs": 5}), "logs"),
        (json!({"status": "success", "extra": 5}), "extra"),
    ] {
        send(&app, callback_req(&id, Some(&token), &body)).await.invalid(field);
    }
    send(
        &app,
        raw(
            Method::POST,
            &format!("/api/v1/executions/{id}/callback"),
            Some("text/plain"),
            "status=success",
        ),
    )
    .await
    .error(401, "unauthorized");
    let r = send(
        &app,
        callback_req(&id, Some(&token), &json!({"status": "running", "logs": "step 1"})),
    )
    .await;
    assert_eq!(r.ok(200)["status"], "running");
}

#[tokio::test]
async fn second_final_callback_is_409_and_changes_nothing() {
    let (app, _s, _accept, id, token) = running_execution().await;
    // Now, written in another offset (an end_time in the future is refused).
    let now = chrono::Utc::now();
    let plus_two = chrono::FixedOffset::east_opt(2 * 3600).unwrap();
    let local = now
        .with_timezone(&plus_two)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    let done = json!({
        "status": "success", "result": {"n": 1}, "logs": "ok", "end_time": local
    });
    let r = send(&app, callback_req(&id, Some(&token), &done)).await;
    let e = r.ok(200).clone();
    assert_eq!(e["result"], json!({"n": 1}));
    assert_eq!(
        e["end_time"],
        now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "end_time normalised to UTC with ms"
    );
    let again = send(
        &app,
        callback_req(&id, Some(&token), &json!({"status": "failed", "logs": "late"})),
    )
    .await;
    again.error(409, "conflict");
    let after = get(&app, &format!("/api/v1/executions/{id}")).await;
    assert_eq!(after.ok(200)["status"], "success");
    assert_eq!(after.body["result"], json!({"n": 1}));
    assert!(!after.body["logs"].as_str().unwrap().contains("late"));
    post_empty(&app, &format!("/api/v1/executions/{id}/stop"))
        .await
        .error(409, "conflict");
}

#[tokio::test]
async fn failed_callback_with_retries_left_goes_back_to_pending() {
    let (app, _s, _accept, id, token) = running_execution().await;
    let r = send(
        &app,
        callback_req(&id, Some(&token), &json!({"status": "failed", "logs": "boom"})),
    )
    .await;
    let e = r.ok(200);
    assert_eq!(e["status"], "pending");
    assert_eq!(e["retry_count"], 1);
    assert!(e["logs"].as_str().unwrap().contains("boom"));
    // The old attempt's token no longer works.
    send(&app, callback_req(&id, Some(&token), &json!({"status": "success"})))
        .await
        .error(401, "unauthorized");
}

#[tokio::test]
async fn a_malformed_callback_token_is_refused_before_the_body_or_the_store() {
    // The store is down: any request that reached it would get 503.
    let s = scheduler_core::Scheduler::builder().store(Arc::new(DownStore)).build();
    let app = app(AppState::new(s));
    let uri = "/api/v1/executions/x/callback";
    let big = "x".repeat(2 * 1024 * 1024);
    for token in [
        "not-the-token",
        "0123456789abcdef0123456789abcde",   // 31 digits
        "0123456789abcdef0123456789abcdef0", // 33
        "0123456789ABCDEF0123456789ABCDEF",  // upper case is not issued
        "0123456789abcdef 123456789abcdef",
    ] {
        for (ct, body) in [
            (Some("application/json"), "{\"status\":\"success\"}".to_owned()),
            (Some("application/json"), "{not json".to_owned()),
            (Some("text/plain"), "status=success".to_owned()),
            (Some("application/json"), big.clone()),
        ] {
            let mut req = raw(Method::POST, uri, ct, body);
            req.headers_mut().insert("x-callback-token", token.parse().unwrap());
            send(&app, req).await.error(401, "unauthorized");
        }
    }
    // A well-formed token goes on to the store (down here).
    let mut req = raw(Method::POST, uri, Some("application/json"), "{\"status\":\"success\"}");
    req.headers_mut()
        .insert("x-callback-token", "0123456789abcdef0123456789abcdef".parse().unwrap());
    send(&app, req).await.error(503, "unavailable");
}

#[tokio::test]
async fn callback_end_time_lies_between_the_start_and_now() {
    let (app, s, _accept, id, token) = running_execution().await;
    let exec = s
        .store()
        .get_execution(&scheduler_core::ExecutionId::new(id.clone()))
        .await
        .unwrap();
    let start = exec.start_time.unwrap();
    let fmt = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for end in [
        "+10000-01-01T00:00:00Z".to_owned(),
        "9999-12-31T23:59:59Z".to_owned(),
        fmt(chrono::Utc::now() + chrono::TimeDelta::minutes(10)),
        fmt(start - chrono::TimeDelta::seconds(1)),
    ] {
        let body = json!({"status": "success", "end_time": end});
        send(&app, callback_req(&id, Some(&token), &body))
            .await
            .invalid("end_time");
    }
    // A wrong token still gets 401 rather than a hint about the times.
    let body = json!({"status": "success", "end_time": fmt(start - chrono::TimeDelta::seconds(1))});
    send(&app, callback_req(&id, Some("0123456789abcdef0123456789abcdef"), &body))
        .await
        .error(401, "unauthorized");
    let deep = (0..40).fold(json!(1), |v, _| json!([v]));
    send(
        &app,
        callback_req(&id, Some(&token), &json!({"status": "success", "result": deep})),
    )
    .await
    .invalid("result");
    let ok = json!({"status": "success", "end_time": fmt(chrono::Utc::now())});
    let r = send(&app, callback_req(&id, Some(&token), &ok)).await;
    assert_eq!(r.ok(200)["status"], "success");
}
