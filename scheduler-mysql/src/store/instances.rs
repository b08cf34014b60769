//! Scheduler instances in [`MysqlStore`]: the heartbeat rows each running
//! scheduler keeps up to date, listed by the cluster view.

use super::*;

impl MysqlStore {
    pub(super) async fn upsert_instance_q(&self, instance: &SchedulerInstance) -> StoreResult<()> {
        let q = Sql::new(
            "INSERT INTO scheduler_instances (instance_id, hostname, is_leader, started_at, last_heartbeat) \
             VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE hostname = VALUES(hostname), \
             is_leader = VALUES(is_leader), started_at = VALUES(started_at), last_heartbeat = VALUES(last_heartbeat)",
        )
        .bind(&instance.instance_id)
        .bind(&instance.hostname)
        .bind(instance.is_leader)
        .bind(db_time(instance.started_at))
        .bind(db_time(instance.last_heartbeat));
        self.exec(q).await.map(drop).map_err(Fail::into_store)
    }

    pub(super) async fn list_instances_q(&self) -> StoreResult<Vec<SchedulerInstance>> {
        let q = Sql::new(
            "SELECT instance_id, hostname, is_leader, started_at, last_heartbeat FROM scheduler_instances \
             ORDER BY instance_id",
        );
        Ok(self
            .rows::<InstanceRow>(q)
            .await?
            .into_iter()
            .map(InstanceRow::into_instance)
            .collect())
    }

    pub(super) async fn remove_instance_q(&self, instance_id: &str) -> StoreResult<()> {
        let q = Sql::new("DELETE FROM scheduler_instances WHERE instance_id = ?").bind(instance_id);
        self.exec(q).await.map(drop).map_err(Fail::into_store)
    }
}
