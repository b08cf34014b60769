//! Statistics and retention in [`MysqlStore`]: the hourly counters, purging
//! old or excess final executions and old counters, and the system counts.

use super::*;

impl MysqlStore {
    /// Deletes the final executions whose ids `select` answers (column
    /// `id`), by primary key and re-checking the status; answers how many went.
    async fn delete_final(&self, select: Sql) -> StoreResult<u64> {
        let ids = self.rows::<IdRow>(select).await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let mut q = Sql::new("DELETE FROM task_executions WHERE status NOT IN ('pending', 'running') AND id IN ");
        q.push_in_list(ids.iter().map(|r| r.id.as_str()), false);
        let n = self.exec(q).await.map_err(Fail::into_store)?;
        for r in &ids {
            self.cache().remove(&ExecutionId::new(&r.id));
        }
        Ok(n as u64)
    }

    pub(super) async fn hourly_counts_q(
        &self,
        task_id: &TaskId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> StoreResult<Vec<HourlyCounts>> {
        let q = Sql::new(
            "SELECT hour, total, success, failed, timeout, skipped, cancelled, duration_ms_sum, duration_count \
             FROM execution_hourly WHERE task_id = ? AND hour >= ? AND hour <= ? ORDER BY hour",
        )
        .bind(task_id.as_str())
        .bind(db_bound(from))
        .bind(db_bound(to));
        Ok(self
            .rows::<HourlyRow>(q)
            .await?
            .into_iter()
            .map(HourlyCounts::from)
            .collect())
    }

    pub(super) async fn purge_executions_q(&self, before: DateTime<Utc>, limit: u32) -> StoreResult<u64> {
        // Ids first, by the time index and without locks; then a short
        // delete by primary key that re-checks the status.
        let q = Sql::new(
            "SELECT id FROM task_executions WHERE scheduled_time < ? AND status NOT IN ('pending', 'running') \
             ORDER BY scheduled_time, id LIMIT ?",
        )
        .bind(db_bound(before))
        .bind(u64::from(limit));
        self.delete_final(q).await
    }

    pub(super) async fn purge_excess_executions_q(&self, keep: u64, limit: u32) -> StoreResult<u64> {
        let edge = Sql::new(
            "SELECT scheduled_time AS at, id FROM task_executions WHERE status NOT IN ('pending', 'running') \
             ORDER BY scheduled_time DESC, id DESC LIMIT 1 OFFSET ?",
        )
        .bind(keep);
        let Some(edge) = self.row::<EdgeRow>(edge).await? else {
            return Ok(0);
        };
        let q = Sql::new(
            "SELECT id FROM task_executions WHERE (scheduled_time < ? OR (scheduled_time = ? AND id <= ?)) \
             AND status NOT IN ('pending', 'running') ORDER BY scheduled_time, id LIMIT ?",
        )
        .bind(edge.at)
        .bind(edge.at)
        .bind(edge.id)
        .bind(u64::from(limit));
        self.delete_final(q).await
    }

    pub(super) async fn purge_hourly_counts_q(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        loop {
            let q = Sql::new("DELETE FROM execution_hourly WHERE hour < ? LIMIT 10000").bind(db_bound(before));
            let n = self.exec(q).await.map_err(Fail::into_store)? as u64;
            total += n;
            if n < 10_000 {
                return Ok(total);
            }
        }
    }

    pub(super) async fn system_counts_q(&self) -> StoreResult<SystemCounts> {
        let q = Sql::new(
            "SELECT e.total AS executors_total, e.online AS executors_online, e.offline AS executors_offline, \
               e.maintenance AS executors_maintenance, e.healthy AS executors_healthy, \
               e.unhealthy AS executors_unhealthy, t.active AS tasks_active, t.paused AS tasks_paused, \
               x.pending AS executions_pending, x.running AS executions_running \
             FROM (SELECT CAST(COUNT(*) AS UNSIGNED) AS total, \
                     CAST(COALESCE(SUM(status = 'online'), 0) AS UNSIGNED) AS online, \
                     CAST(COALESCE(SUM(status = 'offline'), 0) AS UNSIGNED) AS offline, \
                     CAST(COALESCE(SUM(status = 'maintenance'), 0) AS UNSIGNED) AS maintenance, \
                     CAST(COALESCE(SUM(is_healthy), 0) AS UNSIGNED) AS healthy, \
                     CAST(COALESCE(SUM(NOT is_healthy), 0) AS UNSIGNED) AS unhealthy FROM executors) e \
             CROSS JOIN (SELECT CAST(COALESCE(SUM(status = 'active'), 0) AS UNSIGNED) AS active, \
                     CAST(COALESCE(SUM(status = 'paused'), 0) AS UNSIGNED) AS paused \
                   FROM tasks WHERE status IN ('active', 'paused')) t \
             CROSS JOIN (SELECT CAST(COALESCE(SUM(status = 'pending'), 0) AS UNSIGNED) AS pending, \
                     CAST(COALESCE(SUM(status = 'running'), 0) AS UNSIGNED) AS running \
                   FROM task_executions WHERE status IN ('pending', 'running')) x",
        );
        Ok(self
            .row::<SystemRow>(q)
            .await?
            .map(SystemCounts::from)
            .unwrap_or_default())
    }
}
