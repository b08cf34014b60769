//! Executions in [`MysqlStore`], one at a time: claiming a fire (the
//! `claim_fire` procedure), inserts, reads and lists, and the compare-and-set
//! update guarded by status, attempt and `row_version` (see the module docs of
//! `store.rs`). The batched forms are in `batch.rs`.

use super::*;

#[derive(QueryableByName)]
struct ActivityRow {
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
    pending: u64,
    #[diesel(sql_type = diesel::sql_types::Unsigned<diesel::sql_types::BigInt>)]
    running: u64,
}

fn already_fired(e: &Execution) -> StoreError {
    StoreError::AlreadyFired {
        task_id: e.task_id.clone(),
        scheduled_time: e.scheduled_time,
    }
}

fn guard_conflict(e: &Execution) -> StoreError {
    StoreError::Conflict(format!(
        "execution {} is {} (attempt {})",
        e.id,
        e.status.as_str(),
        e.retry_count
    ))
}

/// `INSERT` of an execution (not a claimed fire: `fire_key` stays NULL).
fn insert_execution_sql(e: &Execution) -> StoreResult<Sql> {
    bind_execution(
        Sql::new(format!(
            "INSERT INTO task_executions ({EXECUTION_COLS}) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
        )),
        e,
    )
}

/// `CALL claim_fire(...)` (migration `..._claim_fire_procedure`).
fn claim_fire_sql(e: &Execution, next_run_time: Option<DateTime<Utc>>) -> StoreResult<Sql> {
    let q = Sql::new("CALL claim_fire(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    Ok(bind_execution(q, e)?.bind(db_time_opt(next_run_time)))
}

/// Binds an execution's columns in `EXECUTION_COLS` order, without `row_version`.
pub(super) fn bind_execution(q: Sql, e: &Execution) -> StoreResult<Sql> {
    Ok(q.bind(e.id.as_str())
        .bind(e.task_id.as_str())
        .bind(e.executor_id.as_ref().map(|x| x.as_str().to_owned()))
        .bind(e.trigger_type.as_str())
        .bind(db_time(e.scheduled_time))
        .bind(db_time_opt(e.start_time))
        .bind(db_time_opt(e.end_time))
        .bind(e.status.as_str())
        .bind(json_text(e.parameters.as_ref())?)
        .bind(json_text(e.result.as_ref())?)
        .bind(e.logs.clone())
        .bind(e.retry_count)
        .bind(db_time(e.created_at))
        .bind(db_time_opt(e.dispatched_at))
        .bind(db_time_opt(e.next_attempt_at))
        .bind(db_time_opt(e.timeout_at))
        .bind(e.callback_token.clone()))
}

/// The compare-and-set `UPDATE` of an execution at `version` under `guard`.
fn update_execution_sql(
    id: &ExecutionId,
    version: u64,
    guard: &ExecutionGuard,
    change: &ExecutionChange,
    max_log_bytes: usize,
) -> StoreResult<Sql> {
    let mut q = Sql::new("UPDATE task_executions SET row_version = row_version + 1");
    if let Some(v) = change.status {
        q.push_mut(", status = ?");
        q.bind_mut(v.as_str());
    }
    if let Some(v) = &change.executor_id {
        q.push_mut(", executor_id = ?");
        q.bind_mut(v.as_ref().map(|x| x.as_str().to_owned()));
    }
    if let Some(v) = change.start_time {
        q.push_mut(", start_time = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = change.end_time {
        q.push_mut(", end_time = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = &change.result {
        q.push_mut(", result = ?");
        q.bind_mut(json_text(v.as_ref())?);
    }
    if let Some(line) = &change.append_log {
        // Appended and bounded by the database (see the history migration).
        q.push_mut(", logs = scheduler_log_append(logs, ?, ?)");
        q.bind_mut(line);
        q.bind_mut(max_log_bytes as u64);
    }
    if let Some(v) = change.retry_count {
        q.push_mut(", retry_count = ?");
        q.bind_mut(v);
    }
    if let Some(v) = change.dispatched_at {
        q.push_mut(", dispatched_at = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = change.next_attempt_at {
        q.push_mut(", next_attempt_at = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = change.timeout_at {
        q.push_mut(", timeout_at = ?");
        q.bind_mut(db_time_opt(v));
    }
    if let Some(v) = &change.callback_token {
        q.push_mut(", callback_token = ?");
        q.bind_mut(v.clone());
    }
    q.push_mut(" WHERE id = ? AND row_version = ?");
    q.bind_mut(id.as_str());
    q.bind_mut(version);
    push_guard(&mut q, guard);
    Ok(q)
}

/// Appends ` AND <guard>` on the row's status, attempt and dispatched-ness.
pub(super) fn push_guard(q: &mut Sql, guard: &ExecutionGuard) {
    q.push_mut(" AND status IN ");
    // A final status never matches, whatever the guard lists.
    let mut statuses: Vec<&str> = guard
        .status_in
        .iter()
        .filter(|s| !s.is_final())
        .map(|s| s.as_str())
        .collect();
    statuses.sort_unstable();
    statuses.dedup();
    if statuses.is_empty() {
        q.push_mut("(NULL)");
    } else {
        q.push_in_list(statuses, true);
    }
    if let Some(n) = guard.retry_count {
        q.push_mut(" AND retry_count = ?");
        q.bind_mut(n);
    }
    match guard.dispatched {
        Some(true) => q.push_mut(" AND dispatched_at IS NOT NULL"),
        Some(false) => q.push_mut(" AND dispatched_at IS NULL"),
        None => {}
    }
}

impl MysqlStore {
    async fn load_executions(&self, q: Sql) -> StoreResult<Vec<Execution>> {
        let rows = self.rows::<ExecutionRow>(q).await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut cached = Vec::with_capacity(rows.len());
        for r in rows {
            let (e, v) = r.into_execution()?;
            cached.push((e.clone(), v));
            out.push(e);
        }
        let mut cache = self.cache();
        for (e, v) in &cached {
            cache.put(e, *v);
        }
        Ok(out)
    }

    /// Slow path of `update_execution`: read the row, check the guard, write
    /// against the version read; again if another writer got in between.
    async fn update_execution_slow(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution> {
        for _ in 0..16 {
            let q = Sql::new(format!("SELECT {EXECUTION_COLS} FROM task_executions WHERE id = ?")).bind(id.as_str());
            let (current, version) = self
                .row::<ExecutionRow>(q)
                .await?
                .ok_or_else(|| StoreError::execution_not_found(id))?
                .into_execution()?;
            if !guard.matches(&current) {
                self.cache().put(&current, version);
                return Err(guard_conflict(&current));
            }
            if let Some(next) = self.try_update_execution(&current, version, guard, change).await? {
                return Ok(next);
            }
        }
        Err(StoreError::Conflict(format!(
            "execution {id} keeps changing under concurrent updates"
        )))
    }

    /// One conditional `UPDATE` against `(current, version)`; `Ok(None)` when
    /// the row is no longer at that version.
    async fn try_update_execution(
        &self,
        current: &Execution,
        version: u64,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Option<Execution>> {
        let max_log = self.inner.max_log_bytes;
        let q = update_execution_sql(&current.id, version, guard, change, max_log)?;
        match self.exec(q).await {
            Ok(1) => {
                let mut next = current.clone();
                change.apply_bounded(&mut next, max_log);
                self.cache().put(&next, version + 1);
                Ok(Some(next))
            }
            Ok(_) => {
                self.cache().remove(&current.id);
                Ok(None)
            }
            Err(e) => {
                self.cache().remove(&current.id);
                Err(e.into_store())
            }
        }
    }

    pub(super) async fn claim_fire_q(
        &self,
        execution: &Execution,
        next_run_time: Option<DateTime<Utc>>,
    ) -> StoreResult<Execution> {
        let e = self.as_stored(execution);
        // One round trip: the `claim_fire` procedure (see its migration) sets
        // the task's next_run_time and inserts the execution in one transaction.
        let call = claim_fire_sql(&e, next_run_time)?;
        let mut attempt = 0;
        let r = loop {
            match self.exec(call.clone()).await {
                Err(Fail::Db(err)) if is_retryable(&err) && attempt < 3 => attempt += 1,
                r => break r,
            }
        };
        match r {
            Ok(_) => {
                self.cache().put(&e, 0);
                Ok(e)
            }
            Err(Fail::Db(err)) => Err(match duplicate_key(&err) {
                Some("uq_task_executions_fire") => already_fired(&e),
                Some("PRIMARY") => {
                    // The same execution claimed again: the server reports the
                    // primary key, but the fire is what was refused.
                    let q = Sql::new(
                        "SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM task_executions WHERE task_id = ? AND fire_key = ?",
                    )
                    .bind(e.task_id.as_str())
                    .bind(db_time(e.scheduled_time));
                    if self.count(q).await? > 0 {
                        already_fired(&e)
                    } else {
                        StoreError::Conflict(format!("execution {} already exists", e.id))
                    }
                }
                _ if is_foreign_key(&err) => StoreError::task_not_found(&e.task_id),
                _ => unavailable(err),
            }),
            Err(Fail::Store(err)) => Err(err),
        }
    }

    pub(super) async fn insert_execution_q(&self, execution: &Execution) -> StoreResult<Execution> {
        let e = self.as_stored(execution);
        match self.exec(insert_execution_sql(&e)?).await {
            Ok(_) => {
                self.cache().put(&e, 0);
                Ok(e)
            }
            Err(Fail::Db(err)) => Err(match duplicate_key(&err) {
                Some("PRIMARY") => StoreError::Conflict(format!("execution {} already exists", e.id)),
                _ if is_foreign_key(&err) => StoreError::task_not_found(&e.task_id),
                _ => unavailable(err),
            }),
            Err(Fail::Store(err)) => Err(err),
        }
    }

    pub(super) async fn get_execution_q(&self, id: &ExecutionId) -> StoreResult<Execution> {
        let q = Sql::new(format!("SELECT {EXECUTION_COLS} FROM task_executions WHERE id = ?")).bind(id.as_str());
        self.load_executions(q)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::execution_not_found(id))
    }

    pub(super) async fn list_executions_q(
        &self,
        filter: &ExecutionFilter,
        from: &ListFrom,
        page_size: u32,
    ) -> StoreResult<ExecutionPage> {
        let mut cond = Sql::new(" WHERE 1 = 1");
        if let Some(t) = &filter.task_id {
            cond.push_mut(" AND task_id = ?");
            cond.bind_mut(t.as_str());
        }
        if let Some(x) = &filter.executor_id {
            cond.push_mut(" AND executor_id = ?");
            cond.bind_mut(x.as_str());
        }
        if let Some(s) = filter.status {
            cond.push_mut(" AND status = ?");
            cond.bind_mut(s.as_str());
        }
        if let Some(f) = filter.from {
            cond.push_mut(" AND scheduled_time >= ?");
            cond.bind_mut(db_bound(f));
        }
        if let Some(t) = filter.to {
            cond.push_mut(" AND scheduled_time <= ?");
            cond.bind_mut(db_bound(t));
        }
        // The total reads at most TOTAL_CAP + 1 index entries.
        let count = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM (SELECT 1 FROM task_executions")
            .append(&cond)
            .push(" LIMIT ?) capped")
            .bind(TOTAL_CAP + 1);
        let mut select = Sql::new(format!("SELECT {EXECUTION_LIST_COLS} FROM task_executions")).append(&cond);
        let offset = match from {
            ListFrom::Page(p) => u64::from(p.saturating_sub(1)) * u64::from(page_size),
            ListFrom::After(c) => {
                // Keyset: the rows after the cursor in (scheduled_time, id)
                // descending order, read straight from the index.
                let t = db_time(c.scheduled_time);
                select.push_mut(" AND (scheduled_time < ? OR (scheduled_time = ? AND id < ?))");
                select.bind_mut(t);
                select.bind_mut(t);
                select.bind_mut(c.id.as_str());
                0
            }
        };
        let select = select
            .push(" ORDER BY scheduled_time DESC, id DESC LIMIT ? OFFSET ?")
            .bind(u64::from(page_size) + 1)
            .bind(offset);
        let total = self.count(count).await?;
        let mut items = self
            .rows::<ExecutionRow>(select)
            .await?
            .into_iter()
            .map(|r| r.into_execution().map(|(e, _)| e))
            .collect::<StoreResult<Vec<_>>>()?;
        let more = items.len() > page_size as usize;
        items.truncate(page_size as usize);
        let next = if more {
            items.last().map(|e| ExecutionCursor {
                scheduled_time: e.scheduled_time,
                id: e.id.clone(),
            })
        } else {
            None
        };
        Ok(ExecutionPage {
            items,
            total: total.min(TOTAL_CAP),
            total_is_lower_bound: total > TOTAL_CAP,
            next,
        })
    }

    pub(super) async fn update_execution_q(
        &self,
        id: &ExecutionId,
        guard: &ExecutionGuard,
        change: &ExecutionChange,
    ) -> StoreResult<Execution> {
        let change = normalize_change(change);
        // Fast path: this instance wrote the row last and knows its version.
        let cached = self.cache().get(id);
        if let Some((current, version)) = cached
            && guard.matches(&current)
            && let Some(next) = self.try_update_execution(&current, version, guard, &change).await?
        {
            return Ok(next);
        }
        self.update_execution_slow(id, guard, &change).await
    }

    pub(super) async fn task_activity_q(&self, task_id: &TaskId) -> StoreResult<TaskActivity> {
        // `open_task_id` is the task id while the row is pending or running
        // and NULL once final: its index holds only the open rows per task.
        let q = Sql::new(
            "SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS UNSIGNED) AS pending, \
             CAST(COALESCE(SUM(status = 'running'), 0) AS UNSIGNED) AS running \
             FROM task_executions WHERE open_task_id = ?",
        )
        .bind(task_id.as_str());
        Ok(self
            .row::<ActivityRow>(q)
            .await?
            .map(|r| TaskActivity {
                pending: r.pending,
                running: r.running,
            })
            .unwrap_or_default())
    }

    pub(super) async fn due_executions_q(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        let q = Sql::new(format!(
            "SELECT {EXECUTION_COLS} FROM task_executions \
             WHERE status = 'pending' AND dispatched_at IS NULL AND COALESCE(next_attempt_at, created_at) <= ? \
             ORDER BY COALESCE(next_attempt_at, created_at), id LIMIT ?"
        ))
        .bind(db_bound(now))
        .bind(limit);
        self.load_executions(q).await
    }

    pub(super) async fn unanswered_executions_q(&self, limit: u32) -> StoreResult<Vec<Execution>> {
        let q = Sql::new(format!(
            "SELECT {EXECUTION_COLS} FROM task_executions \
             WHERE status = 'pending' AND dispatched_at IS NOT NULL ORDER BY id LIMIT ?"
        ))
        .bind(limit);
        self.load_executions(q).await
    }

    pub(super) async fn overdue_executions_q(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Execution>> {
        let q = Sql::new(format!(
            "SELECT {EXECUTION_COLS} FROM task_executions \
             WHERE status IN ('pending', 'running') AND timeout_at <= ? ORDER BY timeout_at, id LIMIT ?"
        ))
        .bind(db_bound(now))
        .bind(limit);
        self.load_executions(q).await
    }
}
