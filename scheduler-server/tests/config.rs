//! Configuration: defaults, YAML, environment and flags in that order of
//! precedence, and errors that name the key and where its value came from.

use scheduler_server::config::{Config, LogFormat, Overrides};
use std::path::PathBuf;
use std::time::Duration;

fn temp_yaml(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scheduler-server-config-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn load(file: Option<&PathBuf>, vars: &[(&str, &str)], flags: &Overrides) -> Result<Config, String> {
    Config::load(file.map(PathBuf::as_path), env(vars), flags).map_err(|e| e.to_string())
}

#[test]
fn defaults_are_the_documented_ones() {
    let c = load(None, &[], &Overrides::default()).unwrap();
    assert_eq!(c.database, None);
    assert_eq!(c.database_url(), None);
    assert_eq!(c.api.host, "127.0.0.1");
    assert_eq!(c.api.port, 8080);
    assert_eq!(c.api.public_url, None);
    assert_eq!(c.auth.jwt_secret, None);
    assert_eq!(c.scheduler.instance_id, None);
    assert_eq!(c.scheduler.heartbeat_interval.0, Duration::from_secs(30));
    assert_eq!(c.scheduler.lock_key, "scheduler_leader_lock");
    assert_eq!(c.scheduler.lock_timeout.0, Duration::from_secs(30));
    assert_eq!(c.scheduler.max_workers, 10);
    assert_eq!(c.scheduler.misfire_threshold.0, Duration::from_secs(5));
    assert_eq!(c.scheduler.dispatch_timeout.0, Duration::from_secs(10));
    assert_eq!(c.scheduler.retry_backoff.0, Duration::from_secs(1));
    assert_eq!(c.health_check.interval.0, Duration::from_secs(30));
    assert_eq!(c.health_check.timeout.0, Duration::from_secs(10));
    assert_eq!(c.health_check.failure_threshold, 3);
    assert_eq!(c.health_check.recovery_threshold, 2);
    assert_eq!(c.log.format, LogFormat::Text);

    let engine = c.scheduler_config();
    let default = scheduler_core::SchedulerConfig::default();
    assert_eq!(engine.heartbeat_interval, default.heartbeat_interval);
    assert_eq!(engine.max_workers, default.max_workers);
    assert_eq!(engine.misfire_threshold, default.misfire_threshold);
    assert_eq!(engine.dispatch_timeout, default.dispatch_timeout);
    assert_eq!(engine.retry_backoff, default.retry_backoff);
    assert_eq!(engine.health_check_interval, default.health_check_interval);
    assert_eq!(engine.health_check_timeout, default.health_check_timeout);
    assert_eq!(engine.health_thresholds, default.health_thresholds);
}

#[test]
fn every_key_from_yaml() {
    let yaml = r#"
database:
  url: "mysql://root:@127.0.0.1:3306/jobs"
  max_connections: 4
api:
  host: "0.0.0.0"
  port: 9090
  public_url: "https://scheduler.example.com/"
auth:
  jwt_secret: "s3cret-s3cret-s3cret-s3cret-s3cret"
scheduler:
  instance_id: "node-1"
  heartbeat_interval: "10s"
  lock_key: "my_lock"
  lock_timeout: "1m"
  max_workers: 32
  misfire_threshold: "2s"
  dispatch_timeout: "500ms"
  retry_backoff: "250ms"
health_check:
  interval: "1m30s"
  timeout: "3s"
  failure_threshold: 5
  recovery_threshold: 4
log:
  format: json
"#;
    let path = temp_yaml("full.yaml", yaml);
    let c = load(Some(&path), &[], &Overrides::default()).unwrap();
    assert_eq!(c.database_url().as_deref(), Some("mysql://root:@127.0.0.1:3306/jobs"));
    assert_eq!(c.database.as_ref().unwrap().max_connections, 4);
    assert_eq!((c.api.host.as_str(), c.api.port), ("0.0.0.0", 9090));
    assert_eq!(c.auth.jwt_secret.as_deref(), Some("s3cret-s3cret-s3cret-s3cret-s3cret"));
    assert_eq!(c.scheduler.instance_id.as_deref(), Some("node-1"));
    assert_eq!(c.scheduler.lock_key, "my_lock");
    assert_eq!(c.scheduler.lock_timeout.0, Duration::from_secs(60));
    assert_eq!(c.scheduler.max_workers, 32);
    assert_eq!(c.log.format, LogFormat::Json);
    let e = c.scheduler_config();
    assert_eq!(e.heartbeat_interval, Duration::from_secs(10));
    assert_eq!(e.misfire_threshold, Duration::from_secs(2));
    assert_eq!(e.dispatch_timeout, Duration::from_millis(500));
    assert_eq!(e.retry_backoff, Duration::from_millis(250));
    assert_eq!(e.health_check_interval, Duration::from_secs(90));
    assert_eq!(e.health_check_timeout, Duration::from_secs(3));
    assert_eq!(e.health_thresholds.failure_threshold, 5);
    assert_eq!(e.health_thresholds.recovery_threshold, 4);
    let bound: std::net::SocketAddr = "0.0.0.0:9090".parse().unwrap();
    assert_eq!(c.callback_base(bound), "https://scheduler.example.com");
}

#[test]
fn database_from_separate_keys() {
    let path = temp_yaml(
        "db.yaml",
        "database:\n  host: db.internal\n  port: 3307\n  user: sched\n  password: \"p@ss:word\"\n  dbname: jobs\n",
    );
    let c = load(Some(&path), &[], &Overrides::default()).unwrap();
    assert_eq!(
        c.database_url().as_deref(),
        Some("mysql://sched:p%40ss%3Aword@db.internal:3307/jobs")
    );
    let no_db = temp_yaml("nodb.yaml", "database:\n  host: db.internal\n");
    let err = load(Some(&no_db), &[], &Overrides::default()).unwrap_err();
    assert!(err.contains("database.dbname"), "{err}");
    // The URL wins over the separate keys (e.g. given in the environment).
    let c = load(
        Some(&path),
        &[("SCHEDULER_DATABASE__URL", "mysql://u@h:1/d")],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.database_url().as_deref(), Some("mysql://u@h:1/d"));
}

#[test]
fn env_overrides_file_and_flags_override_env() {
    let path = temp_yaml(
        "layers.yaml",
        "api:\n  port: 1000\n  host: 10.0.0.1\nscheduler:\n  retry_backoff: 5s\n",
    );
    let vars = [
        ("SCHEDULER_API__PORT", "2000"),
        ("SCHEDULER_SCHEDULER__RETRY_BACKOFF", "100ms"),
        ("SCHEDULER_DATABASE__URL", "mysql://env@127.0.0.1:3306/envdb"),
        ("SCHEDULER_HEALTH_CHECK__FAILURE_THRESHOLD", "7"),
        ("SCHEDULER_AUTH__JWT_SECRET", "0071234567890123456789012345678901"),
        ("SCHEDULER_LOG__FORMAT", "json"),
        // Not configuration: no `__` after the prefix.
        ("SCHEDULER_TEST_MYSQL_URL", "mysql://elsewhere"),
        ("OTHER__THING", "1"),
    ];
    let c = load(Some(&path), &vars, &Overrides::default()).unwrap();
    assert_eq!(c.api.port, 2000);
    assert_eq!(c.api.host, "10.0.0.1");
    assert_eq!(c.scheduler.retry_backoff.0, Duration::from_millis(100));
    assert_eq!(c.database_url().as_deref(), Some("mysql://env@127.0.0.1:3306/envdb"));
    assert_eq!(c.health_check.failure_threshold, 7);
    assert_eq!(
        c.auth.jwt_secret.as_deref(),
        Some("0071234567890123456789012345678901"),
        "a numeric secret stays a string, leading zeros included"
    );
    assert_eq!(c.log.format, LogFormat::Json);

    let flags = Overrides {
        host: Some("127.0.0.2".into()),
        port: Some(3000),
        public_url: Some("http://cb.local:3000".into()),
        database_url: Some("mysql://flag@127.0.0.1:3306/flagdb".into()),
        max_connections: Some(2),
        instance_id: Some("flagged".into()),
        log_format: Some(LogFormat::Text),
    };
    let c = load(Some(&path), &vars, &flags).unwrap();
    assert_eq!((c.api.host.as_str(), c.api.port), ("127.0.0.2", 3000));
    assert_eq!(c.api.public_url.as_deref(), Some("http://cb.local:3000"));
    assert_eq!(c.database_url().as_deref(), Some("mysql://flag@127.0.0.1:3306/flagdb"));
    assert_eq!(c.database.as_ref().unwrap().max_connections, 2);
    assert_eq!(c.scheduler.instance_id.as_deref(), Some("flagged"));
    assert_eq!(c.log.format, LogFormat::Text);
}

#[test]
fn errors_name_the_key_and_the_source() {
    let cases = [
        ("api:\n  prot: 1\n", "api.prot"),
        ("apii:\n  port: 1\n", "apii"),
        ("api:\n  port: eighty\n", "api.port"),
        ("api:\n  port: 70000\n", "api.port"),
        ("scheduler:\n  retry_backoff: soon\n", "scheduler.retry_backoff"),
        ("scheduler:\n  heartbeat_interval: 30\n", "scheduler.heartbeat_interval"),
        ("scheduler:\n  max_workers: 0\n", "scheduler.max_workers"),
        ("scheduler:\n  dispatch_timeout: 0s\n", "scheduler.dispatch_timeout"),
        (
            "health_check:\n  failure_threshold: 0\n",
            "health_check.failure_threshold",
        ),
        ("health_check:\n  timeout: 1 fortnight\n", "health_check.timeout"),
        ("log:\n  format: xml\n", "log.format"),
        ("api:\n  public_url: \"not a url\"\n", "api.public_url"),
        (
            "database:\n  max_connections: 0\n  url: mysql://h/d\n",
            "database.max_connections",
        ),
        ("auth:\n  jwt_secret: \"\"\n", "auth.jwt_secret"),
        ("auth:\n  jwt_secret: change-me\n", "auth.jwt_secret"),
        ("api:\n  max_connections: 0\n", "api.max_connections"),
        ("api:\n  request_timeout: 0s\n", "api.request_timeout"),
        ("api:\n  host: 0.0.0.0\n", "api.host"),
        ("api:\n  max_connections: 18446744073709551615\n", "api.max_connections"),
        (
            "scheduler:\n  max_workers: 18446744073709551615\n",
            "scheduler.max_workers",
        ),
        (
            "database:\n  max_connections: 4294967295\n  url: mysql://h/d\n",
            "database.max_connections",
        ),
        (
            "executors:\n  deny_networks: [\"10.0.0.0/33\"]\n",
            "executors.deny_networks",
        ),
        ("executors:\n  deny_networks: [intranet]\n", "executors.deny_networks"),
    ];
    for (yaml, key) in cases {
        let path = temp_yaml("bad.yaml", yaml);
        let err = load(Some(&path), &[], &Overrides::default()).unwrap_err();
        assert!(err.contains(key), "error for {yaml:?} should name {key}: {err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
    }
    let path = temp_yaml("file.yaml", "api:\n  bogus: 1\n");
    let err = load(Some(&path), &[], &Overrides::default()).unwrap_err();
    assert!(err.contains("file.yaml"), "names the file: {err}");

    let err = load(None, &[("SCHEDULER_API__PROT", "1")], &Overrides::default()).unwrap_err();
    assert!(err.contains("api.prot") && err.contains("SCHEDULER_API__PROT"), "{err}");
    let err = load(None, &[("SCHEDULER_API__PORT", "x")], &Overrides::default()).unwrap_err();
    assert!(err.contains("api.port") && err.contains("SCHEDULER_API__PORT"), "{err}");

    let missing = std::env::temp_dir().join("definitely-missing-scheduler.yaml");
    let err = load(Some(&missing), &[], &Overrides::default()).unwrap_err();
    assert!(err.contains("definitely-missing-scheduler.yaml"), "{err}");
    let syntax = temp_yaml("syntax.yaml", "api: [port: 1\n");
    let err = load(Some(&syntax), &[], &Overrides::default()).unwrap_err();
    assert!(err.contains("syntax.yaml"), "{err}");
}

#[test]
fn empty_file_means_defaults() {
    let path = temp_yaml("empty.yaml", "# nothing here\n");
    let c = load(Some(&path), &[], &Overrides::default()).unwrap();
    assert_eq!(c, Config::default());
}

#[test]
fn callback_base_defaults_to_the_bound_address() {
    let c = Config::default();
    assert_eq!(
        c.callback_base("127.0.0.1:8080".parse().unwrap()),
        "http://127.0.0.1:8080"
    );
    assert_eq!(c.callback_base("[::1]:8080".parse().unwrap()), "http://[::1]:8080");
    let wildcard = c.callback_base("0.0.0.0:8080".parse().unwrap());
    assert!(wildcard.starts_with("http://") && wildcard.ends_with(":8080") && !wildcard.contains("0.0.0.0"));
}

#[test]
fn new_keys_have_their_defaults() {
    let c = load(None, &[], &Overrides::default()).unwrap();
    assert!(!c.api.allow_unauthenticated);
    assert_eq!(c.api.request_timeout.0, Duration::from_secs(30));
    assert_eq!(c.api.max_connections, 1024);
    assert_eq!(c.api.shutdown_grace.0, Duration::from_secs(10));
    assert_eq!(c.executors.access_token, None);
    assert_eq!(c.scheduler_config().shutdown_grace, Duration::from_secs(10));
    let path = temp_yaml(
        "limits.yaml",
        "api:\n  request_timeout: 5s\n  max_connections: 3\n  shutdown_grace: 2s\nexecutors:\n  access_token: tok\n",
    );
    let c = load(Some(&path), &[], &Overrides::default()).unwrap();
    assert_eq!(c.api.request_timeout.0, Duration::from_secs(5));
    assert_eq!(c.api.max_connections, 3);
    assert_eq!(c.api.shutdown_grace.0, Duration::from_secs(2));
    assert_eq!(c.scheduler_config().shutdown_grace, Duration::from_secs(2));
    assert_eq!(c.executors.access_token.as_deref(), Some("tok"));
}

const GOOD_SECRET: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn a_short_jwt_secret_is_bad_config() {
    for short in ["", "change-me", &GOOD_SECRET[..31]] {
        let err = load(None, &[("SCHEDULER_AUTH__JWT_SECRET", short)], &Overrides::default()).unwrap_err();
        assert!(
            err.contains("auth.jwt_secret") && err.contains("32"),
            "{short:?}: {err}"
        );
    }
    let c = load(
        None,
        &[("SCHEDULER_AUTH__JWT_SECRET", GOOD_SECRET)],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.auth.jwt_secret.as_deref(), Some(GOOD_SECRET));
}

#[test]
fn an_open_api_beyond_loopback_is_bad_config() {
    for host in ["0.0.0.0", "::", "10.1.2.3", "scheduler.internal"] {
        let flags = Overrides {
            host: Some(host.into()),
            ..Overrides::default()
        };
        let err = load(None, &[], &flags).unwrap_err();
        assert!(
            err.contains("api.host") && err.contains("auth.jwt_secret"),
            "{host}: {err}"
        );
        // Allowed on purpose, or with a secret.
        load(None, &[("SCHEDULER_API__ALLOW_UNAUTHENTICATED", "true")], &flags).unwrap();
        load(None, &[("SCHEDULER_AUTH__JWT_SECRET", GOOD_SECRET)], &flags).unwrap();
    }
    for host in ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"] {
        let flags = Overrides {
            host: Some(host.into()),
            ..Overrides::default()
        };
        load(None, &[], &flags).unwrap_or_else(|e| panic!("{host}: {e}"));
    }
}

#[test]
fn environment_strings_are_kept_byte_for_byte() {
    let secret = "\"007\"-with-quotes-and-spaces  0000000000";
    let vars = [
        ("SCHEDULER_AUTH__JWT_SECRET", secret),
        ("SCHEDULER_SCHEDULER__INSTANCE_ID", "007"),
        ("SCHEDULER_SCHEDULER__LOCK_KEY", "true"),
        ("SCHEDULER_EXECUTORS__ACCESS_TOKEN", "0x10"),
        ("SCHEDULER_DATABASE__PASSWORD", "'quoted'"),
        ("SCHEDULER_DATABASE__HOST", "db"),
        ("SCHEDULER_DATABASE__DBNAME", "[jobs]"),
    ];
    let c = load(None, &vars, &Overrides::default()).unwrap();
    assert_eq!(c.auth.jwt_secret.as_deref(), Some(secret));
    assert_eq!(c.scheduler.instance_id.as_deref(), Some("007"));
    assert_eq!(c.scheduler.lock_key, "true");
    assert_eq!(c.executors.access_token.as_deref(), Some("0x10"));
    let db = c.database.as_ref().unwrap();
    assert_eq!(db.password.as_deref(), Some("'quoted'"));
    assert_eq!(db.dbname.as_deref(), Some("[jobs]"));
}

#[test]
fn huge_durations_are_refused() {
    for (yaml, key) in [
        (
            "scheduler:\n  heartbeat_interval: 99999999999d\n",
            "scheduler.heartbeat_interval",
        ),
        ("health_check:\n  interval: 367d\n", "health_check.interval"),
        ("api:\n  request_timeout: 400d\n", "api.request_timeout"),
        ("api:\n  shutdown_grace: 18446744073709551615s\n", "api.shutdown_grace"),
    ] {
        let path = temp_yaml("huge.yaml", yaml);
        let err = load(Some(&path), &[], &Overrides::default()).unwrap_err();
        assert!(err.contains(key), "{yaml}: {err}");
    }
    let path = temp_yaml("year.yaml", "health_check:\n  interval: 365d\n");
    load(Some(&path), &[], &Overrides::default()).unwrap();
}

#[test]
fn debug_output_hides_every_secret() {
    let vars = [
        ("SCHEDULER_AUTH__JWT_SECRET", "jwt-secret-jwt-secret-jwt-secret-XYZ"),
        ("SCHEDULER_EXECUTORS__ACCESS_TOKEN", "access-token-ABC"),
        ("SCHEDULER_DATABASE__URL", "mysql://user:url-password-DEF@db:3306/jobs"),
        ("SCHEDULER_DATABASE__PASSWORD", "field-password-GHI"),
    ];
    let flags = Overrides {
        database_url: Some("mysql://user:flag-password-JKL@db:3306/jobs".into()),
        ..Overrides::default()
    };
    let c = load(None, &vars, &flags).unwrap();
    let text = format!("{c:?} {c:#?} {flags:?}");
    for secret in ["XYZ", "ABC", "DEF", "GHI", "JKL"] {
        assert!(!text.contains(secret), "Debug shows {secret}: {text}");
    }
    assert!(text.contains("<redacted>"), "{text}");
}

#[test]
fn a_yaml_syntax_error_names_the_file_and_the_line() {
    let path = temp_yaml("broken.yaml", "api:\n  port: 8080\n  host: [127.0.0.1\nauth: {}\n");
    let err = load(Some(&path), &[], &Overrides::default()).unwrap_err();
    assert!(err.contains("broken.yaml"), "names the file: {err}");
    assert!(err.contains("YAML file"), "says what the file is: {err}");
    assert!(err.contains("line 3"), "says where: {err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");

    let err = Config::from_yaml("api:\n\tport: 1\n").unwrap_err().to_string();
    assert!(err.contains("YAML text") && err.contains("line 2"), "{err}");
}

#[test]
fn a_bad_duration_names_the_key_and_the_value() {
    let path = temp_yaml("durations.yaml", "scheduler:\n  retry_backoff: 3x\n");
    let err = load(Some(&path), &[], &Overrides::default()).unwrap_err();
    assert!(
        err.contains("scheduler.retry_backoff") && err.contains("\"3x\"") && err.contains("durations.yaml"),
        "{err}"
    );
    // A bare number has no unit: refused, from the file or the environment.
    let path = temp_yaml("bare.yaml", "health_check:\n  timeout: 10\n");
    let err = load(Some(&path), &[], &Overrides::default()).unwrap_err();
    assert!(err.contains("health_check.timeout") && err.contains("10"), "{err}");
    let vars = [("SCHEDULER_HEALTH_CHECK__TIMEOUT", "10")];
    let err = load(None, &vars, &Overrides::default()).unwrap_err();
    assert!(
        err.contains("SCHEDULER_HEALTH_CHECK__TIMEOUT") && err.contains("10"),
        "{err}"
    );
    let vars = [("SCHEDULER_HEALTH_CHECK__TIMEOUT", "10 parsecs")];
    let err = load(None, &vars, &Overrides::default()).unwrap_err();
    assert!(
        err.contains("health_check.timeout") && err.contains("\"10 parsecs\""),
        "{err}"
    );
}

#[test]
fn durations_in_every_documented_form() {
    let path = temp_yaml(
        "forms.yaml",
        "scheduler:\n  retry_backoff: 500ms\n  lock_timeout: 1m30s\n  heartbeat_interval: 1m 30s\n  misfire_threshold: 1.5s\n\
         health_check:\n  interval: 5min\n  timeout: 2s\nhistory:\n  retention: 2w\n",
    );
    let c = load(
        Some(&path),
        &[("SCHEDULER_API__REQUEST_TIMEOUT", "1h")],
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.scheduler.retry_backoff.0, Duration::from_millis(500));
    assert_eq!(c.scheduler.lock_timeout.0, Duration::from_secs(90));
    assert_eq!(c.scheduler.heartbeat_interval.0, Duration::from_secs(90));
    assert_eq!(c.scheduler.misfire_threshold.0, Duration::from_millis(1500));
    assert_eq!(c.health_check.interval.0, Duration::from_secs(300));
    assert_eq!(c.history.retention.map(|d| d.0), Some(Duration::from_secs(14 * 86_400)));
    assert_eq!(c.api.request_timeout.0, Duration::from_secs(3600));
}
