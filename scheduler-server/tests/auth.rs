//! Bearer JWT authentication: off by default, required on every `/api/v1`
//! route but the callback when `auth.jwt_secret` is set; the `token`
//! subcommand mints tokens the server accepts.

mod common;

use axum::body::Body;
use axum::http::{Method, Request, header};
use common::*;
use scheduler_server::{AppState, app};
use scheduler_server::{JwtAuth, Scope};
use serde_json::json;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

const SECRET: &str = "test-secret-0123456789-0123456789-0123456789";

fn with_bearer(method: Method, uri: &str, token: &str, body: Option<&serde_json::Value>) -> Request<Body> {
    let b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    match body {
        Some(v) => b
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(serde_json::to_vec(v).unwrap()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    }
}

#[tokio::test]
async fn without_a_secret_the_api_is_open() {
    let (app, _) = open_api();
    get(&app, "/api/v1/tasks").await.ok(200);
    get(&app, "/api/v1/openapi.json").await.ok(200);
}

#[tokio::test]
async fn with_a_secret_every_api_route_needs_a_valid_token() {
    let s = follower();
    let app = app(AppState::new(s).with_jwt_secret(SECRET));
    let routes = [
        (Method::POST, "/api/v1/tasks"),
        (Method::GET, "/api/v1/tasks"),
        (Method::GET, "/api/v1/tasks/x"),
        (Method::PUT, "/api/v1/tasks/x"),
        (Method::DELETE, "/api/v1/tasks/x"),
        (Method::POST, "/api/v1/tasks/x/pause"),
        (Method::POST, "/api/v1/tasks/x/resume"),
        (Method::POST, "/api/v1/tasks/x/trigger"),
        (Method::GET, "/api/v1/tasks/x/executors"),
        (Method::PUT, "/api/v1/tasks/x/executors"),
        (Method::GET, "/api/v1/tasks/x/stats"),
        (Method::POST, "/api/v1/executors/register"),
        (Method::GET, "/api/v1/executors"),
        (Method::GET, "/api/v1/executors/x"),
        (Method::PUT, "/api/v1/executors/x"),
        (Method::PUT, "/api/v1/executors/x/status"),
        (Method::DELETE, "/api/v1/executors/x"),
        (Method::GET, "/api/v1/executions"),
        (Method::GET, "/api/v1/executions/x"),
        (Method::POST, "/api/v1/executions/x/stop"),
        (Method::GET, "/api/v1/system/status"),
        (Method::GET, "/api/v1/schedule/preview?cron_expression=@daily"),
        (Method::GET, "/api/v1/openapi.json"),
    ];
    let other = JwtAuth::new("another-secret")
        .mint("ops", Duration::from_secs(60))
        .unwrap();
    for (method, uri) in &routes {
        let r = send(&app, req(method.clone(), uri)).await;
        r.error(401, "unauthorized");
        assert_eq!(r.headers["www-authenticate"], "Bearer");
        send(&app, with_bearer(method.clone(), uri, "garbage", None))
            .await
            .error(401, "unauthorized");
        send(&app, with_bearer(method.clone(), uri, &other, None))
            .await
            .error(401, "unauthorized");
        let basic = Request::builder()
            .method(method.clone())
            .uri(*uri)
            .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
            .body(Body::empty())
            .unwrap();
        send(&app, basic).await.error(401, "unauthorized");
    }
    // A 401 comes before validation: nothing about the body leaks.
    send(&app, raw(Method::POST, "/api/v1/tasks", Some("text/plain"), "junk"))
        .await
        .error(401, "unauthorized");

    let token = JwtAuth::new(SECRET).mint("ops", Duration::from_secs(60)).unwrap();
    let ok = send(&app, with_bearer(Method::GET, "/api/v1/tasks", &token, None)).await;
    ok.ok(200);
    let created = send(
        &app,
        with_bearer(Method::POST, "/api/v1/tasks", &token, Some(&task_body("authed"))),
    )
    .await;
    created.ok(201);
    send(&app, with_bearer(Method::GET, "/api/v1/openapi.json", &token, None))
        .await
        .ok(200);
    // Probes and metrics stay open.
    get(&app, "/healthz").await.ok(200);
    get(&app, "/readyz").await.ok(200);
    assert_eq!(get(&app, "/metrics").await.status, 200);
}

#[tokio::test]
async fn the_callback_needs_no_jwt_only_its_token() {
    let accept = Arc::new(AcceptAll::default());
    let s = leader_with(accept);
    let app = app(AppState::new(s.clone()).with_jwt_secret(SECRET));
    let jwt = JwtAuth::new(SECRET).mint("ops", Duration::from_secs(60)).unwrap();
    let reg = json!({"name": "w", "instance_id": "w1", "base_url": "http://127.0.0.1:9"});
    send(
        &app,
        with_bearer(Method::POST, "/api/v1/executors/register", &jwt, Some(&reg)),
    )
    .await
    .ok(201);
    let t = send(
        &app,
        with_bearer(Method::POST, "/api/v1/tasks", &jwt, Some(&task_body("cb"))),
    )
    .await;
    let task_id = id_of(t.ok(201));
    let e = send(
        &app,
        with_bearer(Method::POST, &format!("/api/v1/tasks/{task_id}/trigger"), &jwt, None),
    )
    .await;
    let exec_id = id_of(e.ok(201));
    let token = running_token(&s, &exec_id).await;

    let uri = format!("/api/v1/executions/{exec_id}/callback");
    let callback = |tok: Option<&str>| {
        let mut b = Request::builder()
            .method(Method::POST)
            .uri(&uri)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = tok {
            b = b.header("X-Callback-Token", t);
        }
        b.body(Body::from("{\"status\":\"success\"}")).unwrap()
    };
    send(&app, callback(None)).await.error(401, "unauthorized");
    send(&app, callback(Some("wrong"))).await.error(401, "unauthorized");
    // A JWT is no substitute for the callback token.
    let with_jwt_only = Request::builder()
        .method(Method::POST)
        .uri(&uri)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {jwt}"))
        .body(Body::from("{\"status\":\"success\"}"))
        .unwrap();
    send(&app, with_jwt_only).await.error(401, "unauthorized");
    let r = send(&app, callback(Some(&token))).await;
    assert_eq!(r.ok(200)["status"], "success");
}

#[test]
fn token_subcommand_mints_a_token_the_server_accepts() {
    let out = Command::new(env!("CARGO_BIN_EXE_scheduler-server"))
        .args(["token", "--subject", "dashboard", "--ttl", "2h"])
        .env("SCHEDULER_AUTH__JWT_SECRET", SECRET)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap();
    let claims = JwtAuth::new(SECRET).verify(token.trim()).unwrap();
    assert_eq!(claims.sub, "dashboard");
    assert_eq!(claims.exp - claims.iat, 7200);
    assert_eq!(claims.scope.as_deref(), Some("admin"));
}

fn mint_with_binary(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_scheduler-server"))
        .arg("token")
        .args(args)
        .env("SCHEDULER_AUTH__JWT_SECRET", SECRET)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn token_subcommand_mints_both_scopes_with_a_ttl_ceiling() {
    let (ok, token, err) = mint_with_binary(&["--subject", "worker-1", "--scope", "executor", "--ttl", "30d"]);
    assert!(ok, "{err}");
    let claims = JwtAuth::new(SECRET).verify(&token).unwrap();
    assert_eq!(
        (claims.sub.as_str(), claims.scope.as_deref()),
        ("worker-1", Some("executor"))
    );
    let (ok, _, err) = mint_with_binary(&["--subject", "ops", "--scope", "admin", "--ttl", "91d"]);
    assert!(!ok && err.contains("90d"), "{err}");
    let (ok, _, err) = mint_with_binary(&["--subject", "ops", "--scope", "root"]);
    assert!(!ok, "{err}");
}

fn scoped_app() -> (axum::Router, JwtAuth) {
    let app = app(AppState::new(follower()).with_jwt_secret(SECRET));
    (app, JwtAuth::new(SECRET))
}

fn register_body(instance: &str) -> serde_json::Value {
    json!({"name": "worker", "instance_id": instance, "base_url": "http://127.0.0.1:9"})
}

#[tokio::test]
async fn an_executor_token_only_registers_and_updates_its_own_executor() {
    let (app, auth) = scoped_app();
    let admin = auth.mint("ops", Duration::from_secs(60)).unwrap();
    let mine = auth
        .mint_scoped("worker-1", Scope::Executor, Duration::from_secs(60))
        .unwrap();

    // Its own instance: register, update, set status.
    let r = send(
        &app,
        with_bearer(
            Method::POST,
            "/api/v1/executors/register",
            &mine,
            Some(&register_body("worker-1")),
        ),
    )
    .await;
    let own_id = r.ok(201)["id"].as_str().unwrap().to_owned();
    let r = send(
        &app,
        with_bearer(
            Method::PUT,
            &format!("/api/v1/executors/{own_id}"),
            &mine,
            Some(&json!({"name": "renamed"})),
        ),
    )
    .await;
    assert_eq!(r.ok(200)["name"], "renamed");
    let r = send(
        &app,
        with_bearer(
            Method::PUT,
            &format!("/api/v1/executors/{own_id}/status"),
            &mine,
            Some(&json!({"status": "maintenance"})),
        ),
    )
    .await;
    assert_eq!(r.ok(200)["status"], "maintenance");

    // Another instance: neither register it nor take it over.
    let r = send(
        &app,
        with_bearer(
            Method::POST,
            "/api/v1/executors/register",
            &admin,
            Some(&register_body("worker-2")),
        ),
    )
    .await;
    let other_id = r.ok(201)["id"].as_str().unwrap().to_owned();
    send(
        &app,
        with_bearer(
            Method::POST,
            "/api/v1/executors/register",
            &mine,
            Some(&register_body("worker-2")),
        ),
    )
    .await
    .error(403, "forbidden");
    send(
        &app,
        with_bearer(
            Method::PUT,
            &format!("/api/v1/executors/{other_id}"),
            &mine,
            Some(&json!({"name": "x"})),
        ),
    )
    .await
    .error(403, "forbidden");
    send(
        &app,
        with_bearer(
            Method::PUT,
            &format!("/api/v1/executors/{other_id}/status"),
            &mine,
            Some(&json!({"status": "offline"})),
        ),
    )
    .await
    .error(403, "forbidden");
    send(
        &app,
        with_bearer(
            Method::PUT,
            "/api/v1/executors/no-such-id",
            &mine,
            Some(&json!({"name": "x"})),
        ),
    )
    .await
    .error(403, "forbidden");

    // Everything else is out of scope.
    for (method, uri) in [
        (Method::GET, "/api/v1/tasks"),
        (Method::POST, "/api/v1/tasks"),
        (Method::DELETE, "/api/v1/tasks/x"),
        (Method::GET, "/api/v1/executors"),
        (Method::GET, &*format!("/api/v1/executors/{own_id}")),
        (Method::DELETE, &*format!("/api/v1/executors/{own_id}")),
        (Method::GET, "/api/v1/executions"),
        (Method::GET, "/api/v1/system/status"),
        (Method::GET, "/api/v1/openapi.json"),
    ] {
        send(&app, with_bearer(method.clone(), uri, &mine, Some(&json!({}))))
            .await
            .error(403, "forbidden");
    }
    // The admin token (and one without a scope) may do all of it.
    get_with(&app, "/api/v1/tasks", &admin).await.ok(200);
    let now = chrono::Utc::now().timestamp();
    let no_scope = auth_token(&json!({"sub": "legacy", "iat": now, "exp": now + 60}));
    get_with(&app, "/api/v1/tasks", &no_scope).await.ok(200);
    let odd = auth_token(&json!({"sub": "x", "iat": now, "exp": now + 60, "scope": "superuser"}));
    get_with(&app, "/api/v1/tasks", &odd).await.error(403, "forbidden");
}

fn auth_token(claims: &serde_json::Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

async fn get_with(app: &axum::Router, uri: &str, token: &str) -> Answer {
    send(app, with_bearer(Method::GET, uri, token, None)).await
}

#[test]
fn token_subcommand_without_a_secret_fails_with_one_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_scheduler-server"))
        .args(["token", "--subject", "x"])
        .env_remove("SCHEDULER_AUTH__JWT_SECRET")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("auth.jwt_secret"), "{err}");
    assert!(out.stdout.is_empty());
}
