//! Tasks and their executor assignments in [`MysqlStore`]: create, read,
//! list, update, soft delete, the change poll and the `task_executors` rows.
//! A task's read-modify-write runs in a transaction that locks the row
//! (`SELECT ... FOR UPDATE`); a live name is unique by `uq_tasks_live_name`.

use super::*;

#[derive(QueryableByName)]
#[diesel(table_name = crate::schema::tasks)]
struct TaskStatusRow {
    status: String,
    created_at: chrono::NaiveDateTime,
}

fn insert_task_sql(t: &Task) -> StoreResult<Sql> {
    let q = Sql::new(
        "INSERT INTO tasks (id, name, cron_expression, timezone, parameters, execution_mode, \
         load_balance_strategy, max_retry, timeout_seconds, misfire_policy, status, next_run_time, \
         created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(t.id.as_str());
    Ok(bind_task_fields(q, t)?
        .bind(db_time(t.created_at))
        .bind(db_time(t.updated_at)))
}

fn update_task_sql(t: &Task) -> StoreResult<Sql> {
    let q = Sql::new(
        "UPDATE tasks SET name = ?, cron_expression = ?, timezone = ?, parameters = ?, execution_mode = ?, \
         load_balance_strategy = ?, max_retry = ?, timeout_seconds = ?, misfire_policy = ?, status = ?, \
         next_run_time = ?, updated_at = ? WHERE id = ?",
    );
    Ok(bind_task_fields(q, t)?.bind(db_time(t.updated_at)).bind(t.id.as_str()))
}

/// Binds `name` through `next_run_time`, in the order both statements list them.
fn bind_task_fields(q: Sql, t: &Task) -> StoreResult<Sql> {
    Ok(q.bind(&t.name)
        .bind(&t.cron_expression)
        .bind(&t.timezone)
        .bind(json_text(t.parameters.as_ref())?)
        .bind(t.execution_mode.as_str())
        .bind(t.load_balance_strategy.as_str())
        .bind(t.max_retry)
        .bind(t.timeout_seconds)
        .bind(t.misfire_policy.as_str())
        .bind(t.status.as_str())
        .bind(db_time_opt(t.next_run_time)))
}

/// Inserts `executors` as the assignments of `task_id` (none is fine).
async fn insert_assignments(
    c: &mut AsyncMysqlConnection,
    task_id: &TaskId,
    executors: &[TaskExecutor],
) -> Result<(), Fail> {
    if executors.is_empty() {
        return Ok(());
    }
    let mut q = Sql::new("INSERT INTO task_executors (task_id, executor_id, weight, priority) VALUES ");
    for (i, a) in executors.iter().enumerate() {
        q.push_mut(if i == 0 { "(?, ?, ?, ?)" } else { ", (?, ?, ?, ?)" });
        q.bind_mut(task_id.as_str());
        q.bind_mut(a.executor_id.as_str());
        q.bind_mut(a.weight);
        q.bind_mut(a.priority);
    }
    if executors.len() > 8 {
        // One prepared statement per list length is fine for short lists only.
        q.uncacheable();
    }
    match exec(c, q).await {
        Ok(_) => Ok(()),
        Err(Fail::Db(e)) if is_foreign_key(&e) => Err(missing_executor(c, executors).await),
        Err(Fail::Db(e)) if duplicate_key(&e).is_some() => Err(Fail::Store(StoreError::Conflict(
            "an executor is assigned twice".into(),
        ))),
        Err(e) => Err(e),
    }
}

/// The `NotFound` for the first assigned executor that does not exist.
async fn missing_executor(c: &mut AsyncMysqlConnection, executors: &[TaskExecutor]) -> Fail {
    let mut q = Sql::new("SELECT id FROM executors WHERE id IN ");
    q.push_in_list(executors.iter().map(|a| a.executor_id.as_str()), executors.len() <= 8);
    match rows::<IdRow>(c, q).await {
        Ok(found) => {
            let found: std::collections::HashSet<String> = found.into_iter().map(|r| r.id).collect();
            match executors.iter().find(|a| !found.contains(a.executor_id.as_str())) {
                Some(a) => Fail::Store(StoreError::executor_not_found(&a.executor_id)),
                None => Fail::Store(StoreError::Conflict(
                    "an assigned executor was removed concurrently".into(),
                )),
            }
        }
        Err(e) => e,
    }
}

impl MysqlStore {
    pub(super) async fn create_task_tx(&self, task: &Task, executors: &[TaskExecutor]) -> StoreResult<Task> {
        let t = normalize_task(task);
        let insert = insert_task_sql(&t)?;
        let (insert, t_ref) = (&insert, &t);
        let r = self
            .tx(|c, _| {
                Box::pin(async move {
                    exec(c, insert.clone()).await?;
                    insert_assignments(c, &t_ref.id, executors).await
                })
            })
            .await;
        match r {
            Ok(()) => Ok(t),
            Err(Fail::Db(e)) => Err(match duplicate_key(&e) {
                Some("uq_tasks_live_name") => StoreError::NameTaken(t.name.clone()),
                Some("PRIMARY") => StoreError::Conflict(format!("task {} already exists", t.id)),
                _ => unavailable(e),
            }),
            Err(Fail::Store(e)) => Err(e),
        }
    }

    pub(super) async fn get_task_q(&self, id: &TaskId) -> StoreResult<Task> {
        let q = Sql::new(format!("SELECT {TASK_COLS} FROM tasks WHERE id = ?")).bind(id.as_str());
        self.row::<TaskRow>(q)
            .await?
            .ok_or_else(|| StoreError::task_not_found(id))?
            .into_task()
    }

    pub(super) async fn list_tasks_q(&self, filter: &TaskFilter, page: Page) -> StoreResult<Paged<Task>> {
        let mut cond = Sql::new(" WHERE ");
        match filter.status {
            Some(s) => {
                cond.push_mut("status = ?");
                cond.bind_mut(s.as_str());
            }
            None => cond.push_mut("status <> 'deleted'"),
        }
        if let Some(n) = &filter.name {
            cond.push_mut(" AND name LIKE ? ESCAPE '!'");
            cond.bind_mut(like_pattern(n));
        }
        let select = Sql::new(format!("SELECT {TASK_COLS} FROM tasks"))
            .append(&cond)
            .push(" ORDER BY created_at DESC, id DESC");
        let count = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM tasks").append(&cond);
        self.paged(select, count, page, TaskRow::into_task).await
    }

    pub(super) async fn update_task_tx(&self, task: &Task, executors: Option<&[TaskExecutor]>) -> StoreResult<Task> {
        let mut t = normalize_task(task);
        let update = update_task_sql(&t)?;
        let (update, id) = (&update, &task.id);
        let r = self
            .tx(|c, _| {
                Box::pin(async move {
                    let q = Sql::new("SELECT status, created_at FROM tasks WHERE id = ? FOR UPDATE").bind(id.as_str());
                    let stored = row::<TaskStatusRow>(c, q)
                        .await?
                        .ok_or_else(|| StoreError::task_not_found(id))?;
                    if stored.status == TaskStatus::Deleted.as_str() {
                        return Err(Fail::Store(StoreError::Conflict(format!("task {id} is deleted"))));
                    }
                    exec(c, update.clone()).await?;
                    if let Some(list) = executors {
                        exec(
                            c,
                            Sql::new("DELETE FROM task_executors WHERE task_id = ?").bind(id.as_str()),
                        )
                        .await?;
                        insert_assignments(c, id, list).await?;
                    }
                    Ok(stored.created_at)
                })
            })
            .await;
        match r {
            Ok(created_at) => {
                t.created_at = created_at.and_utc();
                Ok(t)
            }
            Err(Fail::Db(e)) => Err(match duplicate_key(&e) {
                Some("uq_tasks_live_name") => StoreError::NameTaken(t.name.clone()),
                _ => unavailable(e),
            }),
            Err(Fail::Store(e)) => Err(e),
        }
    }

    pub(super) async fn delete_task_tx(&self, id: &TaskId, at: DateTime<Utc>) -> StoreResult<Task> {
        self.tx(|c, _| {
            Box::pin(async move {
                let q = Sql::new(format!("SELECT {TASK_COLS} FROM tasks WHERE id = ? FOR UPDATE")).bind(id.as_str());
                let mut t = row::<TaskRow>(c, q)
                    .await?
                    .ok_or_else(|| StoreError::task_not_found(id))?
                    .into_task()?;
                if t.status == TaskStatus::Deleted {
                    return Err(Fail::Store(StoreError::Conflict(format!(
                        "task {id} is already deleted"
                    ))));
                }
                t.status = TaskStatus::Deleted;
                t.next_run_time = None;
                t.updated_at = ms(at);
                let q = Sql::new("UPDATE tasks SET status = ?, next_run_time = NULL, updated_at = ? WHERE id = ?")
                    .bind(TaskStatus::Deleted.as_str())
                    .bind(db_time(at))
                    .bind(id.as_str());
                exec(c, q).await?;
                Ok(t)
            })
        })
        .await
        .map_err(Fail::into_store)
    }

    pub(super) async fn active_tasks_q(&self) -> StoreResult<Vec<Task>> {
        let q = Sql::new(format!("SELECT {TASK_COLS} FROM tasks WHERE status = ? ORDER BY id"))
            .bind(TaskStatus::Active.as_str());
        self.rows::<TaskRow>(q)
            .await?
            .into_iter()
            .map(TaskRow::into_task)
            .collect()
    }

    pub(super) async fn tasks_changed_since_q(&self, since: DateTime<Utc>) -> StoreResult<Vec<Task>> {
        let q = Sql::new(format!(
            "SELECT {TASK_COLS} FROM tasks WHERE updated_at >= ? ORDER BY updated_at, id"
        ))
        .bind(db_bound(since));
        self.rows::<TaskRow>(q)
            .await?
            .into_iter()
            .map(TaskRow::into_task)
            .collect()
    }

    pub(super) async fn set_next_run_time_q(&self, id: &TaskId, next: Option<DateTime<Utc>>) -> StoreResult<()> {
        let q = Sql::new("UPDATE tasks SET next_run_time = ? WHERE id = ? AND status = ?")
            .bind(db_time_opt(next))
            .bind(id.as_str())
            .bind(TaskStatus::Active.as_str());
        self.exec(q).await.map(drop).map_err(Fail::into_store)
    }

    pub(super) async fn task_executors_q(&self, task_id: &TaskId) -> StoreResult<Vec<TaskExecutor>> {
        let exists = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM tasks WHERE id = ?").bind(task_id.as_str());
        if self.count(exists).await? == 0 {
            return Err(StoreError::task_not_found(task_id));
        }
        let q =
            Sql::new("SELECT executor_id, weight, priority FROM task_executors WHERE task_id = ? ORDER BY executor_id")
                .bind(task_id.as_str());
        Ok(self
            .rows::<AssignmentRow>(q)
            .await?
            .into_iter()
            .map(AssignmentRow::into_assignment)
            .collect())
    }

    pub(super) async fn replace_task_executors_tx(
        &self,
        task_id: &TaskId,
        executors: &[TaskExecutor],
    ) -> StoreResult<Vec<TaskExecutor>> {
        self.tx(|c, _| {
            Box::pin(async move {
                let q = Sql::new("SELECT status, created_at FROM tasks WHERE id = ? FOR UPDATE").bind(task_id.as_str());
                let stored = row::<TaskStatusRow>(c, q)
                    .await?
                    .ok_or_else(|| StoreError::task_not_found(task_id))?;
                if stored.status == TaskStatus::Deleted.as_str() {
                    return Err(Fail::Store(StoreError::Conflict(format!("task {task_id} is deleted"))));
                }
                exec(
                    c,
                    Sql::new("DELETE FROM task_executors WHERE task_id = ?").bind(task_id.as_str()),
                )
                .await?;
                insert_assignments(c, task_id, executors).await
            })
        })
        .await
        .map_err(Fail::into_store)?;
        let mut list = executors.to_vec();
        list.sort_by(|a, b| a.executor_id.cmp(&b.executor_id));
        Ok(list)
    }
}
