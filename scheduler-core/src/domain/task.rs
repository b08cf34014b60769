//! Tasks: what runs, when, and how.

use super::validation::{ValidationError, check_len, check_range};
use super::{ModeName, StrategyName, TaskId};
use crate::ExecutorId;
use crate::schedule::Schedule;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A JSON object, as task parameters and executor metadata are.
pub type JsonObject = serde_json::Map<String, serde_json::Value>;

/// Largest serialized size of a task's `parameters` (64 KiB).
pub const MAX_PARAMETERS_BYTES: usize = 64 * 1024;
/// Deepest nesting of arrays and objects in stored JSON (`parameters`,
/// `metadata`, a callback's `result`): MariaDB's JSON functions refuse
/// deeper documents, so they are refused at the API instead of failing the
/// write.
pub const MAX_JSON_DEPTH: usize = 32;
/// Most executors a task can be assigned.
pub const MAX_TASK_EXECUTORS: usize = 1000;
/// Default `max_retry`.
pub const DEFAULT_MAX_RETRY: u32 = 3;
/// Default `timeout_seconds`.
pub const DEFAULT_TIMEOUT_SECONDS: u32 = 300;
/// Largest `max_retry`.
pub const MAX_MAX_RETRY: i64 = 100;
/// Largest `timeout_seconds` (one week).
pub const MAX_TIMEOUT_SECONDS: i64 = 604_800;

/// Lifecycle of a task.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Fires on its schedule.
    Active,
    /// Does not fire; can still be triggered by hand.
    Paused,
    /// Soft-deleted: kept for history, never fires, its name is free again.
    Deleted,
}

impl TaskStatus {
    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "paused" => Self::Paused,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }
}

/// What to do with instants missed while the scheduler was down or behind.
///
/// ```text
/// instants:   t1    t2    t3    t4         (scheduler down from before t1 to after t3)
///                              ^ now, late by more than misfire_threshold
/// fire_once:                   fire(t3)    (one execution, scheduled_time = latest missed)
/// skip:                        -           (nothing; the next fire is t4)
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MisfirePolicy {
    /// Fire once now, for the latest missed instant.
    #[default]
    FireOnce,
    /// Fire none of the missed instants.
    Skip,
}

impl MisfirePolicy {
    /// The snake_case name used in JSON and SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FireOnce => "fire_once",
            Self::Skip => "skip",
        }
    }

    /// Parses the snake_case name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "fire_once" => Self::FireOnce,
            "skip" => Self::Skip,
            _ => return None,
        })
    }
}

/// A stored task (docs/reference/semantics.md#tasks).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Generated id.
    pub id: TaskId,
    /// Unique among tasks that are not deleted.
    pub name: String,
    /// Cron expression, 5 or 6 fields or a nickname.
    pub cron_expression: String,
    /// IANA time zone the expression is evaluated in.
    pub timezone: String,
    /// Parameters sent with every execution.
    pub parameters: Option<JsonObject>,
    /// Execution mode name.
    pub execution_mode: ModeName,
    /// Load-balancing strategy name.
    pub load_balance_strategy: StrategyName,
    /// Attempts allowed after the first.
    pub max_retry: u32,
    /// Seconds an attempt may run before it times out.
    pub timeout_seconds: u32,
    /// What to do with missed instants.
    pub misfire_policy: MisfirePolicy,
    /// Lifecycle status.
    pub status: TaskStatus,
    /// Next instant the task fires; `None` unless active.
    pub next_run_time: Option<DateTime<Utc>>,
    /// When the task was created.
    pub created_at: DateTime<Utc>,
    /// When the task was last changed by a user (not by firing).
    pub updated_at: DateTime<Utc>,
}

impl Task {
    /// The task's parsed schedule.
    ///
    /// Stored tasks were validated on the way in, so this only fails for a store
    /// that was edited by hand.
    pub fn schedule(&self) -> Result<Schedule, ValidationError> {
        Schedule::parse(&self.cron_expression, &self.timezone)
    }
}

/// An executor assigned to a task, with its weight and priority.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskExecutor {
    /// The assigned executor.
    pub executor_id: ExecutorId,
    /// Weight for `weighted_round_robin`, 1..=1000.
    pub weight: u32,
    /// Lower is preferred; only the lowest priority among candidates is used.
    pub priority: i32,
}

/// An assignment of an executor to a task as given by a client, before validation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = TaskExecutorRequest))]
#[serde(deny_unknown_fields)]
pub struct TaskExecutorInput {
    /// The executor (an existing executor's id; an unknown id is a 400).
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 64))]
    pub executor_id: ExecutorId,
    /// 1..=1000, default 1.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1000, default = 1))]
    pub weight: Option<i64>,
    /// Default 0; lower is preferred.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(default = 0, minimum = -2147483648i64, maximum = 2147483647i64))]
    pub priority: Option<i64>,
}

impl TaskExecutorInput {
    /// Validates a whole assignment list (`executors[i].field` in errors; no
    /// duplicates; at most [`MAX_TASK_EXECUTORS`] entries).
    pub fn validate_all(inputs: &[TaskExecutorInput]) -> Result<Vec<TaskExecutor>, ValidationError> {
        if inputs.len() > MAX_TASK_EXECUTORS {
            return Err(ValidationError::new(
                "executors",
                format!("must have at most {MAX_TASK_EXECUTORS} entries (got {})", inputs.len()),
            ));
        }
        let mut out: Vec<TaskExecutor> = Vec::with_capacity(inputs.len());
        let mut seen = std::collections::HashSet::with_capacity(inputs.len());
        for (i, input) in inputs.iter().enumerate() {
            let field = |f: &str| format!("executors[{i}].{f}");
            check_len(&field("executor_id"), input.executor_id.as_str(), 1, super::MAX_ID_LEN)?;
            if !seen.insert(input.executor_id.as_str()) {
                return Err(ValidationError::new(field("executor_id"), "is assigned twice"));
            }
            let weight = check_range(&field("weight"), input.weight.unwrap_or(1), 1, 1000)?;
            let priority = input.priority.unwrap_or(0);
            let priority = i32::try_from(priority).map_err(|_| {
                ValidationError::new(field("priority"), format!("must fit in 32 bits (got {priority})"))
            })?;
            out.push(TaskExecutor {
                executor_id: input.executor_id.clone(),
                weight,
                priority,
            });
        }
        Ok(out)
    }
}

/// A task as given to create it (`POST /tasks`); fields left out take their
/// defaults (docs/reference/semantics.md#tasks).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = CreateTaskRequest))]
#[serde(deny_unknown_fields)]
pub struct NewTask {
    /// 1..=255 characters, not only spaces, unique among tasks that are not deleted.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255, pattern = "\\S"))]
    pub name: String,
    /// 6 fields with seconds, 5 without, or `@yearly`/`@monthly`/`@weekly`/`@daily`/`@hourly`.
    /// Must be a valid expression that fires at least once (checked by the
    /// server; no schema can express it).
    #[cfg_attr(
        feature = "openapi",
        schema(example = "0 */5 * * * *", min_length = 1, max_length = 255)
    )]
    pub cron_expression: String,
    /// IANA zone name, default `UTC` (checked against the zone database by the server).
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Europe/Berlin", min_length = 1, max_length = 64)
    )]
    pub timezone: Option<String>,
    /// JSON object, at most 64 KiB serialized and 32 levels of nesting.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub parameters: Option<JsonObject>,
    /// Default `parallel`; `sequential`, `skip`, or a mode the embedding program registered.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, example = "parallel", pattern = "^[a-z0-9_]{1,64}$")
    )]
    pub execution_mode: Option<ModeName>,
    /// Default `round_robin`; `weighted_round_robin`, `random`, `sticky`,
    /// `least_loaded`, or a strategy the embedding program registered.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(value_type = Option<String>, example = "round_robin", pattern = "^[a-z0-9_]{1,64}$")
    )]
    pub load_balance_strategy: Option<StrategyName>,
    /// 0..=100, default 3.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100, default = 3))]
    pub max_retry: Option<i64>,
    /// 1..=604800, default 300.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 604800, default = 300))]
    pub timeout_seconds: Option<i64>,
    /// Default `fire_once`.
    #[serde(default)]
    pub misfire_policy: Option<MisfirePolicy>,
    /// `active` (default) or `paused`.
    #[serde(default)]
    pub status: Option<TaskStatus>,
    /// Executors to assign (each at most once; at most 1000).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub executors: Option<Vec<TaskExecutorInput>>,
}

impl NewTask {
    /// A task with a name and a cron expression, everything else default.
    pub fn new(name: impl Into<String>, cron_expression: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            cron_expression: cron_expression.into(),
            ..Self::default()
        }
    }

    /// Sets the time zone.
    pub fn timezone(mut self, tz: impl Into<String>) -> Self {
        self.timezone = Some(tz.into());
        self
    }

    /// Sets the parameters.
    pub fn parameters(mut self, p: JsonObject) -> Self {
        self.parameters = Some(p);
        self
    }

    /// Sets the execution mode.
    pub fn execution_mode(mut self, m: ModeName) -> Self {
        self.execution_mode = Some(m);
        self
    }

    /// Sets the load-balancing strategy.
    pub fn load_balance_strategy(mut self, s: StrategyName) -> Self {
        self.load_balance_strategy = Some(s);
        self
    }

    /// Sets `max_retry`.
    pub fn max_retry(mut self, n: u32) -> Self {
        self.max_retry = Some(n.into());
        self
    }

    /// Sets `timeout_seconds`.
    pub fn timeout_seconds(mut self, n: u32) -> Self {
        self.timeout_seconds = Some(n.into());
        self
    }

    /// Sets the misfire policy.
    pub fn misfire_policy(mut self, p: MisfirePolicy) -> Self {
        self.misfire_policy = Some(p);
        self
    }

    /// Creates the task paused.
    pub fn paused(mut self) -> Self {
        self.status = Some(TaskStatus::Paused);
        self
    }

    /// Validates every field and builds the stored task, with its
    /// `next_run_time` (the first instant after `now`, when active), and its
    /// assignments.
    pub fn validate(self, id: TaskId, now: DateTime<Utc>) -> Result<(Task, Vec<TaskExecutor>), ValidationError> {
        let status = match self.status.unwrap_or(TaskStatus::Active) {
            TaskStatus::Deleted => {
                return Err(ValidationError::new("status", "must be active or paused"));
            }
            s => s,
        };
        let task = Task {
            id,
            name: self.name,
            cron_expression: self.cron_expression,
            timezone: self.timezone.unwrap_or_else(|| "UTC".to_owned()),
            parameters: self.parameters,
            execution_mode: self.execution_mode.unwrap_or_default(),
            load_balance_strategy: self.load_balance_strategy.unwrap_or_default(),
            max_retry: check_range(
                "max_retry",
                self.max_retry.unwrap_or(DEFAULT_MAX_RETRY.into()),
                0,
                MAX_MAX_RETRY,
            )?,
            timeout_seconds: check_range(
                "timeout_seconds",
                self.timeout_seconds.unwrap_or(DEFAULT_TIMEOUT_SECONDS.into()),
                1,
                MAX_TIMEOUT_SECONDS,
            )?,
            misfire_policy: self.misfire_policy.unwrap_or_default(),
            status,
            next_run_time: None,
            created_at: now,
            updated_at: now,
        };
        let schedule = validate_task(&task)?;
        let mut task = task;
        if task.status == TaskStatus::Active {
            task.next_run_time = schedule.next_after(now);
        }
        let executors = TaskExecutorInput::validate_all(self.executors.as_deref().unwrap_or_default())?;
        Ok((task, executors))
    }
}

/// A change to a task (`PUT /tasks/{id}`): only the fields given change;
/// `id`, `status` and the timestamps cannot be set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = UpdateTaskRequest))]
#[serde(deny_unknown_fields)]
pub struct TaskPatch {
    /// New name (1..=255 characters, not only spaces).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255, pattern = "\\S"))]
    pub name: Option<String>,
    /// New cron expression (must be valid and fire at least once).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 255))]
    pub cron_expression: Option<String>,
    /// New IANA time zone.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub timezone: Option<String>,
    /// New parameters; `null` clears them.
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub parameters: Option<Option<JsonObject>>,
    /// New execution mode.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[a-z0-9_]{1,64}$"))]
    pub execution_mode: Option<ModeName>,
    /// New strategy.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, pattern = "^[a-z0-9_]{1,64}$"))]
    pub load_balance_strategy: Option<StrategyName>,
    /// New `max_retry`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 100))]
    pub max_retry: Option<i64>,
    /// New `timeout_seconds`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 604800))]
    pub timeout_seconds: Option<i64>,
    /// New misfire policy.
    #[serde(default)]
    pub misfire_policy: Option<MisfirePolicy>,
    /// Replaces the assignments when given (each at most once; at most 1000).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 1000))]
    pub executors: Option<Vec<TaskExecutorInput>>,
}

impl TaskPatch {
    /// True when the patch changes nothing about when the task fires.
    pub fn keeps_schedule(&self) -> bool {
        self.cron_expression.is_none() && self.timezone.is_none()
    }

    /// Applies the patch to a copy of `task` and validates the result. When
    /// the schedule changes, an active task's `next_run_time` becomes the
    /// first new instant after `now`.
    pub fn apply(self, task: &Task, now: DateTime<Utc>) -> Result<(Task, Option<Vec<TaskExecutor>>), ValidationError> {
        let keeps_schedule = self.keeps_schedule();
        let mut t = task.clone();
        if let Some(v) = self.name {
            t.name = v;
        }
        if let Some(v) = self.cron_expression {
            t.cron_expression = v;
        }
        if let Some(v) = self.timezone {
            t.timezone = v;
        }
        if let Some(v) = self.parameters {
            t.parameters = v;
        }
        if let Some(v) = self.execution_mode {
            t.execution_mode = v;
        }
        if let Some(v) = self.load_balance_strategy {
            t.load_balance_strategy = v;
        }
        if let Some(v) = self.max_retry {
            t.max_retry = check_range("max_retry", v, 0, MAX_MAX_RETRY)?;
        }
        if let Some(v) = self.timeout_seconds {
            t.timeout_seconds = check_range("timeout_seconds", v, 1, MAX_TIMEOUT_SECONDS)?;
        }
        if let Some(v) = self.misfire_policy {
            t.misfire_policy = v;
        }
        t.updated_at = now;
        let schedule = validate_task(&t)?;
        if t.status == TaskStatus::Active && !keeps_schedule {
            t.next_run_time = schedule.next_after(now);
        }
        let executors = self
            .executors
            .as_deref()
            .map(TaskExecutorInput::validate_all)
            .transpose()?;
        Ok((t, executors))
    }
}

/// The rules every stored task satisfies, whatever input built it; returns
/// the parsed schedule.
fn validate_task(t: &Task) -> Result<Schedule, ValidationError> {
    check_len("id", t.id.as_str(), 1, super::MAX_ID_LEN)?;
    check_len("name", &t.name, 1, 255)?;
    if super::validation::is_blank(&t.name) {
        return Err(ValidationError::new("name", "must not be blank"));
    }
    check_len("cron_expression", &t.cron_expression, 1, 255)?;
    check_len("timezone", &t.timezone, 1, 64)?;
    // Parses the zone first so an unknown zone is reported as such.
    crate::schedule::parse_timezone(&t.timezone)?;
    let schedule = Schedule::new(&t.cron_expression, &t.timezone)?;
    validate_parameters("parameters", t.parameters.as_ref())?;
    check_name("execution_mode", t.execution_mode.as_str())?;
    check_name("load_balance_strategy", t.load_balance_strategy.as_str())?;
    Ok(schedule)
}

/// Checks the 64 KiB limit and the nesting limit ([`MAX_JSON_DEPTH`]) on a
/// parameters (or metadata) object.
pub fn validate_parameters(field: &str, p: Option<&JsonObject>) -> Result<(), ValidationError> {
    if let Some(p) = p {
        if 1 + p.values().map(json_depth).max().unwrap_or(0) > MAX_JSON_DEPTH {
            return Err(depth_error(field));
        }
        // Serializing a Map of Values cannot fail (string keys, no custom Serialize).
        let size = serde_json::to_vec(p).map(|v| v.len()).unwrap_or(usize::MAX);
        if size > MAX_PARAMETERS_BYTES {
            return Err(ValidationError::new(
                field,
                format!("must be at most {MAX_PARAMETERS_BYTES} bytes serialized (got {size})"),
            ));
        }
    }
    Ok(())
}

/// Levels of nested arrays and objects: `1` → 0, `{}` → 1, `{"a":[1]}` → 2.
pub fn json_depth(v: &serde_json::Value) -> usize {
    // Iterative, so a deep document cannot overflow the stack.
    let mut deepest = 0;
    let mut stack = vec![(v, 1usize)];
    while let Some((v, level)) = stack.pop() {
        match v {
            serde_json::Value::Array(a) => {
                deepest = deepest.max(level);
                stack.extend(a.iter().map(|x| (x, level + 1)));
            }
            serde_json::Value::Object(o) => {
                deepest = deepest.max(level);
                stack.extend(o.values().map(|x| (x, level + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// Checks [`MAX_JSON_DEPTH`] on any JSON value.
pub fn validate_json_depth(field: &str, v: &serde_json::Value) -> Result<(), ValidationError> {
    if json_depth(v) > MAX_JSON_DEPTH {
        return Err(depth_error(field));
    }
    Ok(())
}

fn depth_error(field: &str) -> ValidationError {
    ValidationError::new(
        field,
        format!("must not nest arrays and objects more than {MAX_JSON_DEPTH} levels deep"),
    )
}

fn check_name(field: &str, name: &str) -> Result<(), ValidationError> {
    check_len(field, name, 1, 64)?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(ValidationError::new(field, "must be snake_case"));
    }
    Ok(())
}

/// Serde helper: distinguishes an absent field from an explicit `null`.
pub(crate) mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(v: &Option<Option<T>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}
