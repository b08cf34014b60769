//! Every validation rule of tasks, executors and assignments (docs/reference/semantics.md,
//! sections Tasks and Executors), through the input types the API uses. Each refusal names its field.

use chrono::{DateTime, TimeZone, Utc};
use scheduler_core::{
    Executor, ExecutorId, ExecutorPatch, ExecutorRegistration, ExecutorStatus, JsonObject, MAX_PARAMETERS_BYTES,
    MisfirePolicy, ModeName, NewTask, StrategyName, Task, TaskExecutor, TaskExecutorInput, TaskId, TaskPatch,
    TaskStatus, ValidationError,
};
use serde_json::{Value, json};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

fn later() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 13, 0, 0).unwrap()
}

fn new_task(name: &str) -> NewTask {
    NewTask::new(name, "0 */5 * * * *")
}

fn create(t: NewTask) -> Result<Task, ValidationError> {
    t.validate(TaskId::generate(), now()).map(|(t, _)| t)
}

#[track_caller]
fn refused<T: std::fmt::Debug>(r: Result<T, ValidationError>, field: &str) -> ValidationError {
    match r {
        Ok(v) => panic!("expected {field} to be refused, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.field, field, "the error names the field: {e}");
            assert!(!e.message.is_empty());
            e
        }
    }
}

fn stored_task() -> Task {
    create(new_task("stored").parameters(obj(json!({"a": 1})))).unwrap()
}

/// Applies `patch` to a stored task: refused, and the task is untouched.
#[track_caller]
fn patch_refused(patch: TaskPatch, field: &str) {
    let t = stored_task();
    let before = t.clone();
    refused(patch.apply(&t, later()), field);
    assert_eq!(t, before, "a refused patch changes nothing");
}

fn obj(v: Value) -> JsonObject {
    v.as_object().cloned().unwrap()
}

/// A parameters object whose serialization is exactly `size` bytes.
fn params_of_size(size: usize) -> JsonObject {
    // {"k":"<filler>"} is 8 bytes plus the filler.
    let p = obj(json!({ "k": "x".repeat(size - 8) }));
    assert_eq!(serde_json::to_vec(&p).unwrap().len(), size);
    p
}

fn registration(base_url: &str) -> ExecutorRegistration {
    ExecutorRegistration {
        name: "svc".to_owned(),
        instance_id: "svc-1".to_owned(),
        base_url: base_url.to_owned(),
        health_check_url: None,
        metadata: None,
    }
}

fn register(r: ExecutorRegistration) -> Result<Executor, ValidationError> {
    r.validate(ExecutorId::generate(), now())
}

fn stored_executor() -> Executor {
    register(registration("http://svc-1.test:9000")).unwrap()
}

#[track_caller]
fn executor_patch_refused(patch: ExecutorPatch, field: &str) {
    let e = stored_executor();
    let before = e.clone();
    refused(patch.apply(&e, later()), field);
    assert_eq!(e, before, "a refused patch changes nothing");
}

fn input(id: &str, weight: Option<i64>, priority: Option<i64>) -> TaskExecutorInput {
    TaskExecutorInput {
        executor_id: ExecutorId::new(id),
        weight,
        priority,
    }
}

// ---- task: name --------------------------------------------------------------

#[test]
fn task_name_is_1_to_255_characters_not_bytes() {
    // 255 two-byte characters: 510 bytes, still 255 characters.
    let t = create(new_task(&"é".repeat(255))).unwrap();
    assert_eq!(t.name.chars().count(), 255);
    create(new_task(&"a".repeat(255))).unwrap();
    create(new_task("x")).unwrap();
    refused(create(new_task(&"é".repeat(256))), "name");
    refused(create(new_task(&"a".repeat(256))), "name");
    refused(create(new_task("")), "name");
    refused(create(new_task("   ")), "name");
    // Separators that regular expressions count as space are blank too.
    refused(create(new_task("\u{1c}\u{1f} \u{3000}")), "name");
}

#[test]
fn task_patch_name_follows_the_same_rule() {
    let (t, _) = TaskPatch {
        name: Some("🚀".repeat(255)),
        ..TaskPatch::default()
    }
    .apply(&stored_task(), later())
    .unwrap();
    assert_eq!(t.name, "🚀".repeat(255));
    for bad in ["a".repeat(256), String::new()] {
        patch_refused(
            TaskPatch {
                name: Some(bad),
                ..TaskPatch::default()
            },
            "name",
        );
    }
}

#[test]
fn task_id_is_at_most_64_characters() {
    NewTask::new("n", "* * * * *")
        .validate(TaskId::new("a".repeat(64)), now())
        .unwrap();
    refused(
        NewTask::new("n", "* * * * *").validate(TaskId::new("a".repeat(65)), now()),
        "id",
    );
}

// ---- task: defaults ------------------------------------------------------------

#[test]
fn task_defaults() {
    let id = TaskId::generate();
    let (t, executors) = NewTask::new("defaults", "*/10 * * * * *")
        .validate(id.clone(), now())
        .unwrap();
    assert_eq!(t.id, id);
    assert_eq!(t.name, "defaults");
    assert_eq!(t.cron_expression, "*/10 * * * * *");
    assert_eq!(t.timezone, "UTC");
    assert_eq!(t.parameters, None);
    assert_eq!(t.execution_mode, ModeName::PARALLEL);
    assert_eq!(t.execution_mode.as_str(), "parallel");
    assert_eq!(t.load_balance_strategy, StrategyName::ROUND_ROBIN);
    assert_eq!(t.load_balance_strategy.as_str(), "round_robin");
    assert_eq!(t.max_retry, 3);
    assert_eq!(t.timeout_seconds, 300);
    assert_eq!(t.misfire_policy, MisfirePolicy::FireOnce);
    assert_eq!(t.status, TaskStatus::Active);
    // Computed: the first instant of the schedule after `now`.
    assert_eq!(
        t.next_run_time,
        scheduler_core::Schedule::new("*/10 * * * * *", "UTC")
            .unwrap()
            .next_after(now())
    );
    assert!(t.next_run_time.unwrap() > now());
    assert_eq!((t.created_at, t.updated_at), (now(), now()));
    assert!(executors.is_empty());
}

#[test]
fn task_defaults_from_json() {
    let t: NewTask = serde_json::from_value(json!({"name": "j", "cron_expression": "@daily"})).unwrap();
    let t = create(t).unwrap();
    assert_eq!(
        (
            t.timezone.as_str(),
            t.execution_mode.as_str(),
            t.load_balance_strategy.as_str(),
            t.max_retry,
            t.timeout_seconds,
            t.misfire_policy,
            t.status
        ),
        (
            "UTC",
            "parallel",
            "round_robin",
            3,
            300,
            MisfirePolicy::FireOnce,
            TaskStatus::Active
        )
    );
}

#[test]
fn explicit_values_are_kept() {
    let t = create(
        new_task("explicit")
            .timezone("America/New_York")
            .execution_mode(ModeName::SKIP)
            .load_balance_strategy(StrategyName::STICKY)
            .max_retry(0)
            .timeout_seconds(604_800)
            .misfire_policy(MisfirePolicy::Skip)
            .paused(),
    )
    .unwrap();
    assert_eq!(t.timezone, "America/New_York");
    assert_eq!(t.execution_mode, ModeName::SKIP);
    assert_eq!(t.load_balance_strategy, StrategyName::STICKY);
    assert_eq!((t.max_retry, t.timeout_seconds), (0, 604_800));
    assert_eq!(t.misfire_policy, MisfirePolicy::Skip);
    assert_eq!(t.status, TaskStatus::Paused);
}

// ---- task: numbers -------------------------------------------------------------

#[test]
fn max_retry_is_0_to_100() {
    let with = |n: i64| NewTask {
        max_retry: Some(n),
        ..new_task("r")
    };
    assert_eq!(create(with(0)).unwrap().max_retry, 0);
    assert_eq!(create(with(100)).unwrap().max_retry, 100);
    refused(create(with(101)), "max_retry");
    refused(create(with(-1)), "max_retry");
    refused(create(with(i64::MAX)), "max_retry");

    let patch = |n: i64| TaskPatch {
        max_retry: Some(n),
        ..TaskPatch::default()
    };
    assert_eq!(patch(100).apply(&stored_task(), later()).unwrap().0.max_retry, 100);
    assert_eq!(patch(0).apply(&stored_task(), later()).unwrap().0.max_retry, 0);
    patch_refused(patch(101), "max_retry");
    patch_refused(patch(-1), "max_retry");
}

#[test]
fn timeout_seconds_is_1_to_604800() {
    let with = |n: i64| NewTask {
        timeout_seconds: Some(n),
        ..new_task("t")
    };
    assert_eq!(create(with(1)).unwrap().timeout_seconds, 1);
    assert_eq!(create(with(604_800)).unwrap().timeout_seconds, 604_800);
    refused(create(with(0)), "timeout_seconds");
    refused(create(with(604_801)), "timeout_seconds");
    refused(create(with(-5)), "timeout_seconds");

    let patch = |n: i64| TaskPatch {
        timeout_seconds: Some(n),
        ..TaskPatch::default()
    };
    assert_eq!(
        patch(604_800).apply(&stored_task(), later()).unwrap().0.timeout_seconds,
        604_800
    );
    assert_eq!(patch(1).apply(&stored_task(), later()).unwrap().0.timeout_seconds, 1);
    patch_refused(patch(0), "timeout_seconds");
    patch_refused(patch(604_801), "timeout_seconds");
}

// ---- task: parameters ----------------------------------------------------------

#[test]
fn parameters_are_at_most_64_kib_serialized() {
    assert_eq!(MAX_PARAMETERS_BYTES, 65_536);
    let t = create(new_task("p").parameters(params_of_size(65_536))).unwrap();
    assert_eq!(serde_json::to_vec(&t.parameters).unwrap().len(), 65_536);
    refused(create(new_task("p").parameters(params_of_size(65_537))), "parameters");
    create(new_task("p").parameters(JsonObject::new())).unwrap();

    let patch = |p: Option<JsonObject>| TaskPatch {
        parameters: Some(p),
        ..TaskPatch::default()
    };
    patch(Some(params_of_size(65_536)))
        .apply(&stored_task(), later())
        .unwrap();
    patch_refused(patch(Some(params_of_size(65_537))), "parameters");
    // Some(None) clears them.
    assert_eq!(patch(None).apply(&stored_task(), later()).unwrap().0.parameters, None);
}

// ---- task: time zone and cron --------------------------------------------------

#[test]
fn timezone_is_an_iana_name() {
    for tz in ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/Argentina/Buenos_Aires"] {
        assert_eq!(create(new_task("z").timezone(tz)).unwrap().timezone, tz);
    }
    for bad in ["Mars/Olympus", "", "Europe/Berlinn", "+02:00"] {
        refused(create(new_task("z").timezone(bad)), "timezone");
        patch_refused(
            TaskPatch {
                timezone: Some(bad.to_owned()),
                ..TaskPatch::default()
            },
            "timezone",
        );
    }
}

#[test]
fn cron_expressions_that_parse_are_accepted() {
    for expr in [
        "*/15 * * * * *",
        "0 */5 * * *",
        "0 30 9 * * MON-FRI",
        "@yearly",
        "@monthly",
        "@weekly",
        "@daily",
        "@hourly",
        "0 0 0 L * *",
        "0 0 0 * * MON#2",
        "0 0 12 29 2 *",
    ] {
        assert_eq!(create(NewTask::new("c", expr)).unwrap().cron_expression, expr);
    }
}

#[test]
fn invalid_or_never_firing_cron_is_refused() {
    for bad in [
        "",
        "not a cron",
        "* * * *",
        "61 * * * * *",
        "* * 25 * * *",
        "0 0 0 * * * 2030",
        "@fortnightly",
        "0 0 0 30 2 *",
        "0 0 31 4 *",
    ] {
        refused(create(NewTask::new("c", bad)), "cron_expression");
        patch_refused(
            TaskPatch {
                cron_expression: Some(bad.to_owned()),
                ..TaskPatch::default()
            },
            "cron_expression",
        );
    }
}

// ---- task: mode, strategy, status ----------------------------------------------

#[test]
fn mode_and_strategy_names_must_be_snake_case() {
    // Open sets: a snake_case name an embedding program may register is fine here;
    // whether it is registered is the engine's check.
    create(new_task("m").execution_mode(ModeName::new("my_mode2"))).unwrap();
    create(new_task("s").load_balance_strategy(StrategyName::new("my_strategy"))).unwrap();
    for bad in ["", "Parallel", "round-robin", "two words", "ünïcode", &"a".repeat(65)] {
        refused(
            create(new_task("m").execution_mode(ModeName::new(bad))),
            "execution_mode",
        );
        refused(
            create(new_task("s").load_balance_strategy(StrategyName::new(bad))),
            "load_balance_strategy",
        );
        patch_refused(
            TaskPatch {
                execution_mode: Some(ModeName::new(bad)),
                ..TaskPatch::default()
            },
            "execution_mode",
        );
        patch_refused(
            TaskPatch {
                load_balance_strategy: Some(StrategyName::new(bad)),
                ..TaskPatch::default()
            },
            "load_balance_strategy",
        );
    }
}

#[test]
fn built_in_modes_and_strategies_are_accepted() {
    for m in ModeName::BUILT_IN {
        create(new_task("m").execution_mode(ModeName::new(*m))).unwrap();
    }
    for s in StrategyName::BUILT_IN {
        create(new_task("s").load_balance_strategy(StrategyName::new(*s))).unwrap();
    }
    assert_eq!(ModeName::BUILT_IN, ["parallel", "sequential", "skip"]);
    assert_eq!(
        StrategyName::BUILT_IN,
        [
            "round_robin",
            "weighted_round_robin",
            "random",
            "sticky",
            "least_loaded"
        ]
    );
}

#[test]
fn a_task_cannot_be_created_deleted() {
    refused(
        create(NewTask {
            status: Some(TaskStatus::Deleted),
            ..new_task("d")
        }),
        "status",
    );
    assert_eq!(create(new_task("p").paused()).unwrap().status, TaskStatus::Paused);
    assert_eq!(
        create(NewTask {
            status: Some(TaskStatus::Active),
            ..new_task("a")
        })
        .unwrap()
        .status,
        TaskStatus::Active
    );
}

// ---- task patches --------------------------------------------------------------

#[test]
fn a_patch_changes_only_what_it_names() {
    let t = stored_task();
    let (p, executors) = TaskPatch {
        max_retry: Some(9),
        ..TaskPatch::default()
    }
    .apply(&t, later())
    .unwrap();
    let mut want = t.clone();
    want.max_retry = 9;
    want.updated_at = later();
    assert_eq!(p, want);
    assert_eq!(executors, None, "no executors given: the assignment set is kept");

    let (p, _) = TaskPatch::default().apply(&t, later()).unwrap();
    assert_eq!(p.parameters, t.parameters, "absent parameters are kept");
    assert!(TaskPatch::default().keeps_schedule());
    assert!(
        !TaskPatch {
            timezone: Some("UTC".to_owned()),
            ..TaskPatch::default()
        }
        .keeps_schedule()
    );
}

#[test]
fn a_refused_patch_with_several_fields_changes_nothing() {
    let t = stored_task();
    let before = t.clone();
    let e = refused(
        TaskPatch {
            name: Some("renamed".to_owned()),
            max_retry: Some(5),
            timeout_seconds: Some(0),
            ..TaskPatch::default()
        }
        .apply(&t, later()),
        "timeout_seconds",
    );
    assert!(e.message.contains('0'), "{e}");
    assert_eq!(t, before);
}

#[test]
fn patch_json_distinguishes_absent_from_null_parameters() {
    let absent: TaskPatch = serde_json::from_value(json!({"name": "x"})).unwrap();
    assert_eq!(absent.parameters, None);
    let null: TaskPatch = serde_json::from_value(json!({"parameters": null})).unwrap();
    assert_eq!(null.parameters, Some(None));
    let t = stored_task();
    assert_eq!(null.apply(&t, later()).unwrap().0.parameters, None);
}

// ---- executors -----------------------------------------------------------------

#[test]
fn registration_defaults() {
    let e = register(registration("http://svc-1.test:9000")).unwrap();
    assert_eq!(e.status, ExecutorStatus::Online);
    assert!(e.is_healthy);
    assert_eq!(e.health_check_failures, 0);
    assert_eq!(e.last_health_check, None);
    assert_eq!(e.health_check_url, None);
    assert_eq!(e.health_url(), "http://svc-1.test:9000/health");
    assert_eq!((e.created_at, e.updated_at), (now(), now()));
}

#[test]
fn base_url_is_an_absolute_http_or_https_url() {
    for ok in [
        "http://svc-1.test:9000",
        "https://svc.example.com",
        "http://10.0.0.1:8080/base/",
        "https://[::1]:8443",
    ] {
        assert_eq!(register(registration(ok)).unwrap().base_url, ok);
    }
    for bad in [
        "ftp://svc.test",
        "file:///tmp/x",
        "mailto:ops@example.com",
        "/relative/path",
        "svc.test:9000",
        "svc.test",
        "http://",
        "https://",
        "http:// /x",
        "",
        // Nothing that changes where `{base_url}/execute` goes, no credentials.
        "http://user:pw@svc.test:9000",
        "http://user@svc.test",
        "http://svc.test/?x=1",
        "http://svc.test/?",
        "http://svc.test/base#frag",
        "http://svc.test/#",
    ] {
        refused(register(registration(bad)), "base_url");
        executor_patch_refused(
            ExecutorPatch {
                base_url: Some(bad.to_owned()),
                ..ExecutorPatch::default()
            },
            "base_url",
        );
    }
}

#[test]
fn health_check_url_is_null_or_absolute() {
    let with = |u: Option<&str>| ExecutorRegistration {
        health_check_url: u.map(str::to_owned),
        ..registration("http://svc-1.test:9000")
    };
    let e = register(with(Some("https://other.test/ready"))).unwrap();
    assert_eq!(e.health_url(), "https://other.test/ready");
    assert_eq!(
        register(with(None)).unwrap().health_url(),
        "http://svc-1.test:9000/health"
    );
    for bad in [
        "ftp://svc.test/health",
        "/health",
        "health",
        "http://",
        "",
        "http://u:p@svc.test/health",
        "http://svc.test/health?deep=1",
        "http://svc.test/health#x",
    ] {
        refused(register(with(Some(bad))), "health_check_url");
        executor_patch_refused(
            ExecutorPatch {
                health_check_url: Some(Some(bad.to_owned())),
                ..ExecutorPatch::default()
            },
            "health_check_url",
        );
    }
    // Some(None) goes back to {base_url}/health.
    let with_url = register(with(Some("https://other.test/ready"))).unwrap();
    let cleared = ExecutorPatch {
        health_check_url: Some(None),
        ..ExecutorPatch::default()
    }
    .apply(&with_url, later())
    .unwrap();
    assert_eq!(cleared.health_check_url, None);
    assert_eq!(cleared.health_url(), "http://svc-1.test:9000/health");
}

#[test]
fn executor_name_is_1_to_255_characters() {
    let with = |n: String| ExecutorRegistration {
        name: n,
        ..registration("http://svc-1.test:9000")
    };
    register(with("ß".repeat(255))).unwrap();
    refused(register(with("ß".repeat(256))), "name");
    refused(register(with(String::new())), "name");
    executor_patch_refused(
        ExecutorPatch {
            name: Some(String::new()),
            ..ExecutorPatch::default()
        },
        "name",
    );
    executor_patch_refused(
        ExecutorPatch {
            name: Some("a".repeat(256)),
            ..ExecutorPatch::default()
        },
        "name",
    );
}

#[test]
fn instance_id_is_1_to_255_characters() {
    let with = |id: String| ExecutorRegistration {
        instance_id: id,
        ..registration("http://svc-1.test:9000")
    };
    assert_eq!(register(with("ü".repeat(255))).unwrap().instance_id, "ü".repeat(255));
    refused(register(with("ü".repeat(256))), "instance_id");
    refused(register(with(String::new())), "instance_id");
}

#[test]
fn executor_metadata_is_at_most_64_kib() {
    let with = |m: JsonObject| ExecutorRegistration {
        metadata: Some(m),
        ..registration("http://svc-1.test:9000")
    };
    register(with(params_of_size(65_536))).unwrap();
    refused(register(with(params_of_size(65_537))), "metadata");
}

#[test]
fn an_executor_patch_changes_only_what_it_names() {
    let e = stored_executor();
    let p = ExecutorPatch {
        name: Some("renamed".to_owned()),
        ..ExecutorPatch::default()
    }
    .apply(&e, later())
    .unwrap();
    let mut want = e.clone();
    want.name = "renamed".to_owned();
    want.updated_at = later();
    assert_eq!(p, want);

    let before = e.clone();
    refused(
        ExecutorPatch {
            name: Some("renamed".to_owned()),
            base_url: Some("ftp://x.test".to_owned()),
            ..ExecutorPatch::default()
        }
        .apply(&e, later()),
        "base_url",
    );
    assert_eq!(e, before);
}

// ---- assignments ---------------------------------------------------------------

#[test]
fn assignment_weight_is_1_to_1000_default_1_and_priority_defaults_to_0() {
    let got = TaskExecutorInput::validate_all(&[
        input("a", None, None),
        input("b", Some(1), Some(-3)),
        input("c", Some(1000), Some(7)),
    ])
    .unwrap();
    assert_eq!(
        got,
        vec![
            TaskExecutor {
                executor_id: ExecutorId::new("a"),
                weight: 1,
                priority: 0
            },
            TaskExecutor {
                executor_id: ExecutorId::new("b"),
                weight: 1,
                priority: -3
            },
            TaskExecutor {
                executor_id: ExecutorId::new("c"),
                weight: 1000,
                priority: 7
            },
        ]
    );
    assert!(TaskExecutorInput::validate_all(&[]).unwrap().is_empty());

    for bad in [0, 1001, -1] {
        refused(
            TaskExecutorInput::validate_all(&[input("a", Some(1), None), input("b", Some(bad), None)]),
            "executors[1].weight",
        );
    }
    refused(
        TaskExecutorInput::validate_all(&[input("a", None, Some(i64::from(i32::MAX) + 1))]),
        "executors[0].priority",
    );
    TaskExecutorInput::validate_all(&[input("a", None, Some(i64::from(i32::MIN)))]).unwrap();
}

#[test]
fn an_executor_is_assigned_at_most_once() {
    refused(
        TaskExecutorInput::validate_all(&[
            input("a", None, None),
            input("b", None, None),
            input("a", Some(5), Some(1)),
        ]),
        "executors[2].executor_id",
    );
}

#[test]
fn assignment_executor_id_is_1_to_64_characters() {
    TaskExecutorInput::validate_all(&[input(&"e".repeat(64), None, None)]).unwrap();
    refused(
        TaskExecutorInput::validate_all(&[input(&"e".repeat(65), None, None)]),
        "executors[0].executor_id",
    );
    refused(
        TaskExecutorInput::validate_all(&[input("", None, None)]),
        "executors[0].executor_id",
    );
}

#[test]
fn assignments_are_validated_on_create_and_on_patch() {
    let (_, executors) = NewTask {
        executors: Some(vec![input("a", Some(4), Some(2))]),
        ..new_task("with executors")
    }
    .validate(TaskId::generate(), now())
    .unwrap();
    assert_eq!(
        executors,
        vec![TaskExecutor {
            executor_id: ExecutorId::new("a"),
            weight: 4,
            priority: 2
        }]
    );
    refused(
        create(NewTask {
            executors: Some(vec![input("a", Some(0), None)]),
            ..new_task("bad weight")
        }),
        "executors[0].weight",
    );
    refused(
        create(NewTask {
            executors: Some(vec![input("a", None, None), input("a", None, None)]),
            ..new_task("duplicate")
        }),
        "executors[1].executor_id",
    );

    let (_, executors) = TaskPatch {
        executors: Some(vec![input("z", None, None)]),
        ..TaskPatch::default()
    }
    .apply(&stored_task(), later())
    .unwrap();
    assert_eq!(
        executors,
        Some(vec![TaskExecutor {
            executor_id: ExecutorId::new("z"),
            weight: 1,
            priority: 0
        }])
    );
    patch_refused(
        TaskPatch {
            executors: Some(vec![input("z", Some(1001), None)]),
            ..TaskPatch::default()
        },
        "executors[0].weight",
    );
    patch_refused(
        TaskPatch {
            executors: Some(vec![input("z", None, None), input("z", None, None)]),
            ..TaskPatch::default()
        },
        "executors[1].executor_id",
    );
}

fn nested(depth: usize) -> Value {
    let mut v = json!(1);
    for _ in 0..depth {
        v = json!([v]);
    }
    v
}

#[test]
fn json_nesting_is_capped_at_the_database_limit() {
    use scheduler_core::MAX_JSON_DEPTH;
    use scheduler_core::internal::{json_depth, validate_json_depth};
    assert_eq!(MAX_JSON_DEPTH, 32);
    assert_eq!(json_depth(&json!(1)), 0);
    assert_eq!(json_depth(&json!({})), 1);
    assert_eq!(json_depth(&json!({"a": [1, {"b": 2}]})), 3);
    // The parameters object is the first level.
    let ok = obj(json!({ "a": nested(MAX_JSON_DEPTH - 1) }));
    create(NewTask {
        parameters: Some(ok),
        ..new_task("deep-ok")
    })
    .unwrap();
    let deep = obj(json!({ "a": nested(MAX_JSON_DEPTH) }));
    refused(
        create(NewTask {
            parameters: Some(deep.clone()),
            ..new_task("too-deep")
        }),
        "parameters",
    );
    refused(
        register(ExecutorRegistration {
            metadata: Some(deep),
            ..registration("http://svc.test")
        }),
        "metadata",
    );
    assert!(validate_json_depth("result", &nested(MAX_JSON_DEPTH)).is_ok());
    assert!(validate_json_depth("result", &nested(MAX_JSON_DEPTH + 1)).is_err());
    // Very deep values are measured without recursion.
    let mut v = json!(null);
    for _ in 0..100_000 {
        v = Value::Array(vec![v]);
    }
    assert_eq!(json_depth(&v), 100_000);
    std::mem::forget(v); // dropping it would recurse 100 000 levels deep
}

#[test]
fn assignment_lists_are_capped_and_checked_in_linear_time() {
    use scheduler_core::{MAX_TASK_EXECUTORS, TaskExecutorInput};
    let list = |n: usize| -> Vec<TaskExecutorInput> {
        (0..n)
            .map(|i| TaskExecutorInput {
                executor_id: format!("e{i}").into(),
                weight: None,
                priority: None,
            })
            .collect()
    };
    assert_eq!(
        TaskExecutorInput::validate_all(&list(MAX_TASK_EXECUTORS))
            .unwrap()
            .len(),
        MAX_TASK_EXECUTORS
    );
    let e = TaskExecutorInput::validate_all(&list(MAX_TASK_EXECUTORS + 1)).unwrap_err();
    assert_eq!(e.field, "executors");
    let mut dup = list(MAX_TASK_EXECUTORS - 1);
    dup.push(dup[0].clone());
    let e = TaskExecutorInput::validate_all(&dup).unwrap_err();
    assert_eq!(e.field, format!("executors[{}].executor_id", MAX_TASK_EXECUTORS - 1));
}
