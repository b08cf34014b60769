//! Load-balancer state in [`MysqlStore`]: one versioned row per task and
//! strategy, written by a conditional `UPDATE` (or an `INSERT` that must not
//! find a row).

use super::*;

impl MysqlStore {
    pub(super) async fn lb_state_q(&self, task_id: &TaskId, strategy: &str) -> StoreResult<Option<LbState>> {
        let q = Sql::new("SELECT state, version FROM load_balance_state WHERE task_id = ? AND strategy = ?")
            .bind(task_id.as_str())
            .bind(strategy);
        self.row::<LbRow>(q).await?.map(LbRow::into_state).transpose()
    }

    pub(super) async fn put_lb_state_q(
        &self,
        task_id: &TaskId,
        strategy: &str,
        expected_version: Option<u64>,
        value: &serde_json::Value,
    ) -> StoreResult<()> {
        let state = json_text(Some(value))?.unwrap_or_default();
        let lost = || StoreError::Conflict(format!("load-balancer state of {task_id}/{strategy} changed"));
        let q = match expected_version {
            None => Sql::new("INSERT INTO load_balance_state (task_id, strategy, state, version) VALUES (?, ?, ?, 1)")
                .bind(task_id.as_str())
                .bind(strategy)
                .bind(state),
            Some(v) => Sql::new(
                "UPDATE load_balance_state SET state = ?, version = version + 1 \
                 WHERE task_id = ? AND strategy = ? AND version = ?",
            )
            .bind(state)
            .bind(task_id.as_str())
            .bind(strategy)
            .bind(v),
        };
        match self.exec(q).await {
            Ok(1) => Ok(()),
            Ok(_) => Err(lost()),
            Err(Fail::Db(e)) if duplicate_key(&e).is_some() => Err(lost()),
            Err(e) => Err(e.into_store()),
        }
    }
}
