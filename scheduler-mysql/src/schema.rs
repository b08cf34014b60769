//! Diesel table definitions, in sync with `migrations/` (what `diesel
//! print-schema` prints for them). Row structs in `models.rs` derive their
//! column types from here, so a column whose type drifts fails to compile.

diesel::table! {
    tasks (id) {
        id -> Varchar,
        name -> Varchar,
        live_name -> Nullable<Varchar>,
        cron_expression -> Varchar,
        timezone -> Varchar,
        parameters -> Nullable<Longtext>,
        execution_mode -> Varchar,
        load_balance_strategy -> Varchar,
        max_retry -> Unsigned<Integer>,
        timeout_seconds -> Unsigned<Integer>,
        misfire_policy -> Varchar,
        status -> Varchar,
        next_run_time -> Nullable<Datetime>,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    executors (id) {
        id -> Varchar,
        name -> Varchar,
        instance_id -> Varchar,
        base_url -> Varchar,
        health_check_url -> Nullable<Varchar>,
        status -> Varchar,
        is_healthy -> Bool,
        last_health_check -> Nullable<Datetime>,
        health_check_failures -> Unsigned<Integer>,
        health_check_successes -> Unsigned<Integer>,
        metadata -> Nullable<Longtext>,
        created_at -> Datetime,
        updated_at -> Datetime,
    }
}

diesel::table! {
    task_executors (task_id, executor_id) {
        task_id -> Varchar,
        executor_id -> Varchar,
        weight -> Unsigned<Integer>,
        priority -> Integer,
    }
}

diesel::table! {
    task_executions (id) {
        id -> Varchar,
        task_id -> Varchar,
        executor_id -> Nullable<Varchar>,
        trigger_type -> Varchar,
        scheduled_time -> Datetime,
        fire_key -> Nullable<Datetime>,
        start_time -> Nullable<Datetime>,
        end_time -> Nullable<Datetime>,
        status -> Varchar,
        parameters -> Nullable<Longtext>,
        result -> Nullable<Longtext>,
        logs -> Nullable<Mediumtext>,
        retry_count -> Unsigned<Integer>,
        created_at -> Datetime,
        dispatched_at -> Nullable<Datetime>,
        next_attempt_at -> Nullable<Datetime>,
        timeout_at -> Nullable<Datetime>,
        callback_token -> Nullable<Varchar>,
        row_version -> Unsigned<Bigint>,
    }
}

diesel::table! {
    load_balance_state (task_id, strategy) {
        task_id -> Varchar,
        strategy -> Varchar,
        state -> Longtext,
        version -> Unsigned<Bigint>,
    }
}

diesel::table! {
    scheduler_instances (instance_id) {
        instance_id -> Varchar,
        hostname -> Varchar,
        is_leader -> Bool,
        started_at -> Datetime,
        last_heartbeat -> Datetime,
    }
}

diesel::joinable!(task_executors -> tasks (task_id));
diesel::joinable!(task_executors -> executors (executor_id));
diesel::joinable!(task_executions -> tasks (task_id));

diesel::allow_tables_to_appear_in_same_query!(
    tasks,
    executors,
    task_executors,
    task_executions,
    load_balance_state,
    scheduler_instances,
);

#[cfg(test)]
mod tests {
    use diesel::mysql::Mysql;
    use diesel::prelude::*;

    /// Column names of each `CREATE TABLE` in the migrations, in order.
    fn migration_columns() -> Vec<(String, Vec<String>)> {
        let sql = include_str!("../migrations/2026-11-24-000001_create_scheduler/up.sql");
        let mut tables = Vec::new();
        let mut current: Option<(String, Vec<String>)> = None;
        for line in sql.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                let name = rest.trim_end_matches('(').trim().to_owned();
                current = Some((name, Vec::new()));
            } else if line.starts_with(')') {
                tables.extend(current.take());
            } else if let Some((_, cols)) = current.as_mut() {
                let first = line.split_whitespace().next().unwrap_or("");
                let is_column = !first.is_empty()
                    && !first.starts_with("--")
                    && !["PRIMARY", "UNIQUE", "KEY", "CONSTRAINT"].contains(&first);
                if is_column {
                    cols.push(first.to_owned());
                }
            }
        }
        tables
    }

    /// Column names of a diesel table, in order, from the SQL it generates.
    fn diesel_columns<T>(select: T) -> Vec<String>
    where
        T: diesel::query_builder::QueryFragment<Mysql>,
    {
        let sql = diesel::debug_query::<Mysql, _>(&select).to_string();
        let list = sql
            .strip_prefix("SELECT ")
            .and_then(|s| s.split(" FROM ").next())
            .unwrap_or_default();
        list.split(", ")
            .map(|c| c.rsplit('.').next().unwrap_or(c).trim_matches('`').to_owned())
            .collect()
    }

    #[test]
    fn schema_rs_matches_the_migrations() {
        let expected = migration_columns();
        let actual = vec![
            (
                "tasks",
                diesel_columns(super::tasks::table.select(super::tasks::all_columns)),
            ),
            (
                "executors",
                diesel_columns(super::executors::table.select(super::executors::all_columns)),
            ),
            (
                "task_executors",
                diesel_columns(super::task_executors::table.select(super::task_executors::all_columns)),
            ),
            (
                "task_executions",
                diesel_columns(super::task_executions::table.select(super::task_executions::all_columns)),
            ),
            (
                "load_balance_state",
                diesel_columns(super::load_balance_state::table.select(super::load_balance_state::all_columns)),
            ),
            (
                "scheduler_instances",
                diesel_columns(super::scheduler_instances::table.select(super::scheduler_instances::all_columns)),
            ),
        ];
        assert_eq!(expected.len(), actual.len(), "one table! per CREATE TABLE");
        for ((name, cols), (diesel_name, diesel_cols)) in expected.iter().zip(&actual) {
            assert_eq!(name, diesel_name);
            assert_eq!(cols, diesel_cols, "columns of {name}");
        }
    }
}
