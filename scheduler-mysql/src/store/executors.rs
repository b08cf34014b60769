//! Executors in [`MysqlStore`]: registration (re-registration by
//! `instance_id`), reads, status and health changes (read-modify-write under
//! `SELECT ... FOR UPDATE`), deletion, and the dispatch candidates and running
//! counts the engine asks for.

use super::*;

fn insert_executor_sql(e: &Executor) -> StoreResult<Sql> {
    Ok(Sql::new(format!(
        "INSERT INTO executors ({EXECUTOR_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
    .bind(e.id.as_str())
    .bind(&e.name)
    .bind(&e.instance_id)
    .bind(&e.base_url)
    .bind(e.health_check_url.clone())
    .bind(e.status.as_str())
    .bind(e.is_healthy)
    .bind(db_time_opt(e.last_health_check))
    .bind(e.health_check_failures)
    .bind(e.health_check_successes)
    .bind(json_text(e.metadata.as_ref())?)
    .bind(db_time(e.created_at))
    .bind(db_time(e.updated_at)))
}

fn update_executor_sql(e: &Executor) -> StoreResult<Sql> {
    Ok(Sql::new(
        "UPDATE executors SET name = ?, base_url = ?, health_check_url = ?, status = ?, is_healthy = ?, \
         last_health_check = ?, health_check_failures = ?, health_check_successes = ?, metadata = ?, \
         updated_at = ? WHERE id = ?",
    )
    .bind(&e.name)
    .bind(&e.base_url)
    .bind(e.health_check_url.clone())
    .bind(e.status.as_str())
    .bind(e.is_healthy)
    .bind(db_time_opt(e.last_health_check))
    .bind(e.health_check_failures)
    .bind(e.health_check_successes)
    .bind(json_text(e.metadata.as_ref())?)
    .bind(db_time(e.updated_at))
    .bind(e.id.as_str()))
}

impl MysqlStore {
    /// Reads an executor for update, lets `f` change it, writes it back.
    pub(super) async fn modify_executor<F>(&self, id: &ExecutorId, f: F) -> StoreResult<Executor>
    where
        F: Fn(&mut Executor) + Send + Sync,
    {
        let f = &f;
        self.tx(|c, _| {
            Box::pin(async move {
                let q = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors WHERE id = ? FOR UPDATE"))
                    .bind(id.as_str());
                let mut e = row::<ExecutorRow>(c, q)
                    .await?
                    .ok_or_else(|| StoreError::executor_not_found(id))?
                    .into_executor()?;
                f(&mut e);
                let e = normalize_executor(&e);
                exec(c, update_executor_sql(&e)?).await?;
                Ok(e)
            })
        })
        .await
        .map_err(Fail::into_store)
    }

    pub(super) async fn register_executor_tx(&self, executor: &Executor) -> StoreResult<(Executor, Registered)> {
        let new = normalize_executor(executor);
        let insert = insert_executor_sql(&new)?;
        let (new_ref, insert) = (&new, &insert);
        // A concurrent registration of the same new instance_id makes one
        // insert fail on the unique key; the next round updates its row.
        for _ in 0..3 {
            let r = self
                .tx(|c, _| {
                    Box::pin(async move {
                        let q = Sql::new(format!(
                            "SELECT {EXECUTOR_COLS} FROM executors WHERE instance_id = ? FOR UPDATE"
                        ))
                        .bind(&new_ref.instance_id);
                        match row::<ExecutorRow>(c, q).await? {
                            Some(existing) => {
                                let e = existing.into_executor()?.reregistered(new_ref);
                                exec(c, update_executor_sql(&e)?).await?;
                                Ok((e, Registered::Updated))
                            }
                            None => {
                                exec(c, insert.clone()).await?;
                                Ok((new_ref.clone(), Registered::Created))
                            }
                        }
                    })
                })
                .await;
            match r {
                Ok(v) => return Ok(v),
                Err(Fail::Db(e)) => match duplicate_key(&e) {
                    Some("uq_executors_instance_id") => continue,
                    Some("PRIMARY") => {
                        return Err(StoreError::Conflict(format!("executor {} already exists", new.id)));
                    }
                    _ => return Err(unavailable(e)),
                },
                Err(Fail::Store(e)) => return Err(e),
            }
        }
        Err(StoreError::InstanceTaken(new.instance_id))
    }

    pub(super) async fn get_executor_q(&self, id: &ExecutorId) -> StoreResult<Executor> {
        let q = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors WHERE id = ?")).bind(id.as_str());
        self.row::<ExecutorRow>(q)
            .await?
            .ok_or_else(|| StoreError::executor_not_found(id))?
            .into_executor()
    }

    pub(super) async fn list_executors_q(&self, filter: &ExecutorFilter, page: Page) -> StoreResult<Paged<Executor>> {
        let mut cond = Sql::new(" WHERE 1 = 1");
        if let Some(s) = filter.status {
            cond.push_mut(" AND status = ?");
            cond.bind_mut(s.as_str());
        }
        if let Some(h) = filter.healthy {
            cond.push_mut(" AND is_healthy = ?");
            cond.bind_mut(h);
        }
        if let Some(n) = &filter.name {
            cond.push_mut(" AND name LIKE ? ESCAPE '!'");
            cond.bind_mut(like_pattern(n));
        }
        let select = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors"))
            .append(&cond)
            .push(" ORDER BY created_at DESC, id DESC");
        let count = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM executors").append(&cond);
        self.paged(select, count, page, ExecutorRow::into_executor).await
    }

    pub(super) async fn all_executors_q(&self) -> StoreResult<Vec<Executor>> {
        let q = Sql::new(format!("SELECT {EXECUTOR_COLS} FROM executors ORDER BY id"));
        self.rows::<ExecutorRow>(q)
            .await?
            .into_iter()
            .map(ExecutorRow::into_executor)
            .collect()
    }

    pub(super) async fn update_executor_tx(&self, executor: &Executor) -> StoreResult<Executor> {
        self.modify_executor(&executor.id, |e| *e = e.edited(executor)).await
    }

    pub(super) async fn set_executor_status_tx(
        &self,
        id: &ExecutorId,
        status: ExecutorStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<Executor> {
        self.modify_executor(id, |e| {
            e.status = status;
            e.updated_at = at;
        })
        .await
    }

    pub(super) async fn delete_executor_tx(&self, id: &ExecutorId) -> StoreResult<()> {
        self.tx(|c, _| {
            Box::pin(async move {
                let n = exec(c, Sql::new("DELETE FROM executors WHERE id = ?").bind(id.as_str())).await?;
                if n == 0 {
                    return Err(Fail::Store(StoreError::executor_not_found(id)));
                }
                // The foreign key cascades too; this keeps the rule visible here.
                exec(c, Sql::new("DELETE FROM task_executors WHERE executor_id = ?").bind(id.as_str())).await?;
                let q = Sql::new(
                    "UPDATE task_executions SET executor_id = NULL, row_version = row_version + 1 WHERE executor_id = ?",
                )
                .bind(id.as_str());
                exec(c, q).await?;
                Ok(())
            })
        })
        .await
        .map_err(Fail::into_store)
    }

    pub(super) async fn dispatch_candidates_q(&self, task_id: &TaskId) -> StoreResult<Vec<Candidate>> {
        // Assigned executors when the task has any assignment, else every
        // executor; then only the available ones.
        let q = Sql::new(format!(
            "SELECT {}, te.weight AS weight, te.priority AS priority FROM executors e \
             LEFT JOIN task_executors te ON te.executor_id = e.id AND te.task_id = ? \
             WHERE e.status = ? AND e.is_healthy = TRUE \
             AND (te.task_id IS NOT NULL OR NOT EXISTS (SELECT 1 FROM task_executors x WHERE x.task_id = ?)) \
             ORDER BY e.id",
            cols("e", EXECUTOR_COLS)
        ))
        .bind(task_id.as_str())
        .bind(ExecutorStatus::Online.as_str())
        .bind(task_id.as_str());
        self.rows::<CandidateRow>(q)
            .await?
            .into_iter()
            .map(CandidateRow::into_candidate)
            .collect()
    }

    pub(super) async fn running_counts_q(&self, executors: &[ExecutorId]) -> StoreResult<HashMap<ExecutorId, u64>> {
        let mut out: HashMap<ExecutorId, u64> = executors.iter().map(|id| (id.clone(), 0)).collect();
        if executors.is_empty() {
            return Ok(out);
        }
        let mut q = Sql::new(
            "SELECT executor_id, CAST(COUNT(*) AS UNSIGNED) AS n FROM task_executions \
             WHERE status = ? AND executor_id IN ",
        )
        .bind(ExecutionStatus::Running.as_str());
        q.push_in_list(executors.iter().map(ExecutorId::as_str), executors.len() <= 32);
        q.push_mut(" GROUP BY executor_id");
        for r in self.rows::<RunningRow>(q).await? {
            out.insert(ExecutorId::new(r.executor_id), r.n);
        }
        Ok(out)
    }
}
