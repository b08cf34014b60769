//! The batched fire path of [`MysqlStore`]: many claims in one multi-row
//! `INSERT`, many compare-and-set changes in one `UPDATE`, and the reads the
//! engine makes once per block of fires instead of once per fire.
//!
//! - **Claims** are one `INSERT IGNORE … VALUES (…), (…) RETURNING id` per
//!   chunk: the unique key `(fire_key, task_id)` still decides each fire, a
//!   duplicate (or a task that does not exist) is skipped instead of failing
//!   the statement, and `RETURNING` (MariaDB ≥ 10.5) names the rows that went
//!   in. Each row is atomic; the statement is one autocommit transaction.
//! - **Compare-and-set** is one `UPDATE … SET col = CASE id WHEN … END …
//!   WHERE id IN (…) AND (guard of row 1 OR guard of row 2 …)` per chunk,
//!   which stamps the rows it changes with a fresh random `row_version`; a
//!   `SELECT` in the same transaction reads back which rows carry the stamp.
//!   A final status is never in any guard's status list, so it is never
//!   overwritten.

use super::executions::{bind_execution, push_guard};
use super::*;
use crate::sql::Bind;
use std::collections::HashSet;

/// Rows per claim statement: 19 binds a row stays far below a prepared
/// statement's 65 535 placeholders and MariaDB's default 16 MiB packet.
const CLAIM_CHUNK: usize = 1_000;
/// Rows per compare-and-set statement (each row adds a guard and its share
/// of every `CASE`).
const UPDATE_CHUNK: usize = 500;
/// Ids per `IN (…)` list of the reads.
const READ_CHUNK: usize = 1_000;

impl MysqlStore {
    pub(super) async fn claim_batch(&self, executions: &[Execution]) -> StoreResult<Vec<ClaimOutcome>> {
        let rows: Vec<Execution> = executions.iter().map(|e| self.as_stored(e)).collect();
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(CLAIM_CHUNK) {
            let mut q = Sql::new(format!(
                "INSERT IGNORE INTO task_executions ({EXECUTION_COLS}, fire_key) VALUES "
            ));
            // In the order of the fire key, so that claimers racing over the
            // same fires take their locks in one order (fewer deadlocks).
            let mut sorted: Vec<&Execution> = chunk.iter().collect();
            sorted.sort_by(|a, b| (&a.task_id, a.scheduled_time).cmp(&(&b.task_id, b.scheduled_time)));
            for (i, e) in sorted.into_iter().enumerate() {
                q.push_mut(if i == 0 { "" } else { ", " });
                q.push_mut("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)");
                q = bind_execution(q, e)?.bind(db_time(e.scheduled_time));
            }
            q.push_mut(" RETURNING id");
            q.uncacheable();
            let inserted: HashSet<String> = self
                .rows_retrying::<IdRow>(q)
                .await?
                .into_iter()
                .map(|r| r.id)
                .collect();
            // Not inserted: a duplicate fire, or (rarely) a task that is gone.
            let refused: Vec<&str> = chunk
                .iter()
                .filter(|e| !inserted.contains(e.id.as_str()))
                .map(|e| e.task_id.as_str())
                .collect();
            let existing = if refused.is_empty() {
                HashSet::new()
            } else {
                self.existing_ids("tasks", &refused).await?
            };
            let mut cache = self.cache();
            for e in chunk {
                out.push(if inserted.contains(e.id.as_str()) {
                    cache.put(e, 0);
                    ClaimOutcome::Claimed
                } else if existing.contains(e.task_id.as_str()) {
                    ClaimOutcome::AlreadyFired
                } else {
                    ClaimOutcome::TaskNotFound
                });
            }
        }
        Ok(out)
    }

    pub(super) async fn update_batch(&self, updates: &[ExecutionUpdate]) -> StoreResult<Vec<UpdateOutcome>> {
        let mut out = vec![UpdateOutcome::Conflict; updates.len()];
        // One statement changes a row once: an id listed again waits for the
        // next round, so updates of one id apply in order.
        let mut todo: Vec<usize> = (0..updates.len()).collect();
        while !todo.is_empty() {
            let mut seen = HashSet::new();
            let (round, rest): (Vec<usize>, Vec<usize>) = todo.into_iter().partition(|&i| seen.insert(&updates[i].id));
            // One statement per guard: its condition is then a plain
            // `WHERE id IN (…) AND <guard>`, which the optimizer serves from
            // the primary key (a long OR of per-row guards it analyses slowly).
            let mut by_guard: Vec<(&ExecutionGuard, Vec<usize>)> = Vec::new();
            for i in round {
                let g = &updates[i].guard;
                match by_guard.iter_mut().find(|(k, _)| *k == g) {
                    Some((_, list)) => list.push(i),
                    None => by_guard.push((g, vec![i])),
                }
            }
            for chunk in by_guard.iter().flat_map(|(_, list)| list.chunks(UPDATE_CHUNK)) {
                let batch: Vec<(&ExecutionId, &ExecutionGuard, ExecutionChange)> = chunk
                    .iter()
                    .map(|&i| (&updates[i].id, &updates[i].guard, normalize_change(&updates[i].change)))
                    .collect();
                let applied = self.update_chunk(&batch).await?;
                let missing = {
                    let not_applied: Vec<&str> = batch
                        .iter()
                        .filter(|(id, ..)| !applied.contains(id.as_str()))
                        .map(|(id, ..)| id.as_str())
                        .collect();
                    if not_applied.is_empty() {
                        HashSet::new()
                    } else {
                        let found = self.existing_ids("task_executions", &not_applied).await?;
                        not_applied
                            .into_iter()
                            .filter(|id| !found.contains(*id))
                            .map(str::to_owned)
                            .collect()
                    }
                };
                let mut cache = self.cache();
                for (&i, (id, _, change)) in chunk.iter().zip(&batch) {
                    out[i] = if applied.contains(id.as_str()) {
                        // The cache knows the row only if this instance wrote it
                        // last; the stamp is its new version.
                        match cache.get(id) {
                            Some((mut e, _)) => {
                                change.apply_bounded(&mut e, self.max_log_bytes());
                                cache.put(&e, applied.stamp);
                            }
                            None => cache.remove(id),
                        }
                        UpdateOutcome::Applied
                    } else if missing.contains(id.as_str()) {
                        UpdateOutcome::NotFound
                    } else {
                        cache.remove(id);
                        UpdateOutcome::Conflict
                    };
                }
            }
            todo = rest;
        }
        Ok(out)
    }

    /// One compare-and-set statement over rows with distinct ids; answers the
    /// ids it changed (with the stamp they now carry).
    async fn update_chunk(&self, batch: &[(&ExecutionId, &ExecutionGuard, ExecutionChange)]) -> StoreResult<Stamped> {
        // A fresh stamp per statement, in a range the single-row path's
        // `row_version + 1` never reaches from its small counters.
        let stamp = (rand::random::<u64>() >> 2) | (1 << 62);
        let mut q = Sql::new("UPDATE task_executions SET row_version = ?").bind(stamp);
        let text = |v: Option<&str>| Bind::OptText(v.map(str::to_owned));
        push_case(&mut q, "status", "?", batch, |c| {
            c.status.map(|s| text(Some(s.as_str())))
        });
        push_case(&mut q, "executor_id", "?", batch, |c| {
            c.executor_id.as_ref().map(|x| text(x.as_ref().map(ExecutorId::as_str)))
        });
        push_case(&mut q, "start_time", "?", batch, |c| {
            c.start_time.map(|t| Bind::OptTime(db_time_opt(t)))
        });
        push_case(&mut q, "end_time", "?", batch, |c| {
            c.end_time.map(|t| Bind::OptTime(db_time_opt(t)))
        });
        let mut bad_json = None;
        push_case(&mut q, "result", "?", batch, |c| {
            c.result.as_ref().map(|r| match json_text(r.as_ref()) {
                Ok(v) => Bind::OptText(v),
                Err(e) => {
                    bad_json = Some(e);
                    Bind::OptText(None)
                }
            })
        });
        if let Some(e) = bad_json {
            return Err(e);
        }
        // Appended and bounded by the database (see the history migration).
        let append = format!("scheduler_log_append(logs, ?, {})", self.max_log_bytes());
        push_case(&mut q, "logs", &append, batch, |c| {
            c.append_log.as_ref().map(|l| Bind::Text(l.clone()))
        });
        push_case(&mut q, "retry_count", "?", batch, |c| c.retry_count.map(Bind::U32));
        push_case(&mut q, "dispatched_at", "?", batch, |c| {
            c.dispatched_at.map(|t| Bind::OptTime(db_time_opt(t)))
        });
        push_case(&mut q, "next_attempt_at", "?", batch, |c| {
            c.next_attempt_at.map(|t| Bind::OptTime(db_time_opt(t)))
        });
        push_case(&mut q, "timeout_at", "?", batch, |c| {
            c.timeout_at.map(|t| Bind::OptTime(db_time_opt(t)))
        });
        push_case(&mut q, "callback_token", "?", batch, |c| {
            c.callback_token.as_ref().map(|t| Bind::OptText(t.clone()))
        });
        q.push_mut(" WHERE id IN ");
        q.push_in_list(batch.iter().map(|(id, ..)| id.as_str()), false);
        // Every row of a chunk has the same guard (see `update_batch`).
        if let Some((_, guard, _)) = <[_]>::first(batch) {
            push_guard(&mut q, guard);
        }
        let mut read = Sql::new("SELECT id FROM task_executions WHERE row_version = ? AND id IN ").bind(stamp);
        read.push_in_list(batch.iter().map(|(id, ..)| id.as_str()), false);
        let (q, read) = (&q, &read);
        let ids = self
            .tx(|c, _| {
                Box::pin(async move {
                    exec(c, q.clone()).await?;
                    rows::<IdRow>(c, read.clone()).await
                })
            })
            .await
            .map_err(Fail::into_store)?;
        Ok(Stamped {
            ids: ids.into_iter().map(|r| r.id).collect(),
            stamp,
        })
    }

    /// [`rows`](MysqlStore::rows), run again (up to five times) when the server
    /// rolled the statement back for a deadlock or a lock-wait timeout.
    async fn rows_retrying<R>(&self, q: Sql) -> StoreResult<Vec<R>>
    where
        R: QueryableByName<Mysql> + Send + 'static,
    {
        let mut attempt = 0;
        loop {
            let mut c = self.conn().await?;
            let r = q.clone().load::<R>(c.begin()).await;
            match c.settle(r) {
                Err(e) if is_retryable(&e) && attempt < 5 => {
                    attempt += 1;
                    tracing::debug!(attempt, error = %e, "retrying a statement the server rolled back");
                }
                r => return r.map_err(unavailable),
            }
        }
    }

    /// Which of `ids` are primary keys of `table` (a fixed name, never input).
    async fn existing_ids(&self, table: &'static str, ids: &[&str]) -> StoreResult<HashSet<String>> {
        let mut found = HashSet::new();
        for chunk in ids.chunks(READ_CHUNK) {
            let mut q = Sql::new(format!("SELECT id FROM {table} WHERE id IN "));
            q.push_in_list(chunk.iter().copied(), false);
            found.extend(self.rows::<IdRow>(q).await?.into_iter().map(|r| r.id));
        }
        Ok(found)
    }

    pub(super) async fn last_fires(&self, tasks: &[TaskId]) -> StoreResult<HashMap<TaskId, DateTime<Utc>>> {
        let mut out = HashMap::with_capacity(tasks.len());
        for chunk in tasks.chunks(READ_CHUNK) {
            // Per task, its newest rows by (task_id, scheduled_time, id) until
            // one was a claimed fire (a claim's fire_key is its scheduled
            // time): usually the first row. The fire uniqueness key is led by
            // the instant, so it does not serve a per-task maximum.
            let mut q = Sql::new(
                "SELECT t.id AS task_id, \
                 (SELECT e.fire_key FROM task_executions e WHERE e.task_id = t.id AND e.fire_key IS NOT NULL \
                 ORDER BY e.scheduled_time DESC, e.id DESC LIMIT 1) AS at \
                 FROM tasks t WHERE t.id IN ",
            );
            q.push_in_list(chunk.iter().map(TaskId::as_str), false);
            q.push_mut(" HAVING at IS NOT NULL");
            out.extend(
                self.rows::<LastFireRow>(q)
                    .await?
                    .into_iter()
                    .map(LastFireRow::into_pair),
            );
        }
        Ok(out)
    }

    pub(super) async fn candidates_of(&self, tasks: &[TaskId]) -> StoreResult<Vec<Arc<[Candidate]>>> {
        // Two reads for any number of tasks: the available executors, and
        // the assignments of these tasks.
        let q = Sql::new(format!(
            "SELECT {EXECUTOR_COLS} FROM executors WHERE status = ? AND is_healthy = TRUE ORDER BY id"
        ))
        .bind(ExecutorStatus::Online.as_str());
        let available: Vec<Arc<Executor>> = self
            .rows::<ExecutorRow>(q)
            .await?
            .into_iter()
            .map(|r| r.into_executor().map(Arc::new))
            .collect::<StoreResult<_>>()?;
        let mut assigned: HashMap<TaskId, Vec<TaskExecutor>> = HashMap::new();
        for chunk in tasks.chunks(READ_CHUNK) {
            let mut q = Sql::new("SELECT task_id, executor_id, weight, priority FROM task_executors WHERE task_id IN ");
            q.push_in_list(chunk.iter().map(TaskId::as_str), false);
            for r in self.rows::<TaskAssignmentRow>(q).await? {
                let (task, a) = r.into_assignment();
                assigned.entry(task).or_default().push(a);
            }
        }
        // Every task without assignments shares one list.
        let everyone: Arc<[Candidate]> = Candidate::among(&available, &[]).into();
        Ok(tasks
            .iter()
            .map(|t| match assigned.get(t) {
                Some(list) => Candidate::among(&available, list).into(),
                None => everyone.clone(),
            })
            .collect())
    }
}

/// Ids a compare-and-set statement changed, and the stamp they carry.
struct Stamped {
    ids: HashSet<String>,
    stamp: u64,
}

impl Stamped {
    fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }
}

/// Appends the assignment of `col` for the rows whose change sets it:
/// `, col = <expr>` when every row sets the same value, else
/// `, col = CASE id WHEN ? THEN <expr> … ELSE col END` (nothing when no row
/// sets it). `<expr>` holds one `?` for the value.
fn push_case(
    q: &mut Sql,
    col: &str,
    expr: &str,
    batch: &[(&ExecutionId, &ExecutionGuard, ExecutionChange)],
    mut value: impl FnMut(&ExecutionChange) -> Option<Bind>,
) {
    let values: Vec<Option<Bind>> = batch.iter().map(|(_, _, c)| value(c)).collect();
    let Some(first) = <[Option<Bind>]>::first(&values) else {
        return;
    };
    if first.is_some() && values.iter().all(|v| same(v, first)) {
        q.push_mut(&format!(", {col} = {expr}"));
        if let Some(v) = first {
            q.bind_mut(v.clone());
        }
        return;
    }
    let mut any = false;
    for ((id, _, _), v) in batch.iter().zip(values) {
        let Some(v) = v else { continue };
        if !any {
            q.push_mut(&format!(", {col} = CASE id"));
            any = true;
        }
        q.push_mut(" WHEN ? THEN ");
        q.push_mut(expr);
        q.bind_mut(id.as_str());
        q.bind_mut(v);
    }
    if any {
        q.push_mut(&format!(" ELSE {col} END"));
    }
}

/// Whether two bound values are the same value of the same type.
fn same(a: &Option<Bind>, b: &Option<Bind>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.same_as(b),
        (None, None) => true,
        _ => false,
    }
}
