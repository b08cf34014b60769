//! The alert outbox of [`MysqlStore`]: tables `alerts` and `alert_keys`
//! (migration `2026-12-02-000002_alerts`).
//!
//! Suppression per `(target, key)` is a read-modify-write of one
//! `alert_keys` row under `SELECT … FOR UPDATE`, in the transaction that
//! inserts the alert, so instances that see events of one key at once queue
//! exactly one. The row is created beforehand by an `INSERT IGNORE` of its
//! own (with a "never queued" instant), so concurrent first alerts of a key
//! queue on its row lock instead of deadlocking on a gap lock.

use super::*;
use chrono::NaiveDateTime;
use diesel::sql_types::{Bool, Nullable, Text, Unsigned};

const ALERT_COLS: &str = "id, target, event, at, subject, message, suppressed, delivered, attempts, \
     next_attempt_at, last_error";

/// The digest that names a `(target, key)` row.
const SLOT: &str = "SHA2(CONCAT(?, '\\n', ?), 256)";

/// "Never queued": older than any event.
fn never() -> NaiveDateTime {
    DateTime::<Utc>::UNIX_EPOCH.naive_utc()
}

#[derive(QueryableByName, Debug)]
struct AlertRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    target: String,
    #[diesel(sql_type = Text)]
    event: String,
    #[diesel(sql_type = diesel::sql_types::Datetime)]
    at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    subject: String,
    #[diesel(sql_type = Text)]
    message: String,
    #[diesel(sql_type = Unsigned<diesel::sql_types::BigInt>)]
    suppressed: u64,
    #[diesel(sql_type = Bool)]
    delivered: bool,
    #[diesel(sql_type = Unsigned<diesel::sql_types::Integer>)]
    attempts: u32,
    #[diesel(sql_type = Nullable<diesel::sql_types::Datetime>)]
    next_attempt_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Text>)]
    last_error: Option<String>,
}

impl AlertRow {
    fn into_alert(self) -> StoreResult<Alert> {
        let corrupt =
            |what: &str, v: &str| StoreError::Internal(format!("unreadable alert {what} {v:?} in the database"));
        Ok(Alert {
            event: EventKind::parse(&self.event).ok_or_else(|| corrupt("event", &self.event))?,
            subject: serde_json::from_str(&self.subject).map_err(|_| corrupt("subject", &self.subject))?,
            id: self.id,
            target: self.target,
            at: self.at.and_utc(),
            message: self.message,
            suppressed: self.suppressed,
            delivered: self.delivered,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at.map(|t| t.and_utc()),
            last_error: self.last_error,
        })
    }
}

#[derive(QueryableByName, Debug)]
struct KeyRow {
    #[diesel(sql_type = diesel::sql_types::Datetime)]
    last_queued: NaiveDateTime,
    #[diesel(sql_type = Unsigned<diesel::sql_types::BigInt>)]
    held_back: u64,
}

fn select_alert(id: &str, for_update: bool) -> Sql {
    let lock = if for_update { " FOR UPDATE" } else { "" };
    Sql::new(format!("SELECT {ALERT_COLS} FROM alerts WHERE id = ?{lock}")).bind(id)
}

impl MysqlStore {
    pub(super) async fn enqueue_alert_tx(
        &self,
        new: &NewAlert,
        min_interval: Option<chrono::Duration>,
    ) -> StoreResult<AlertEnqueued> {
        if new.key.len() > MAX_ALERT_KEY_LEN {
            return Err(StoreError::Invalid(format!(
                "alert key longer than {MAX_ALERT_KEY_LEN} bytes"
            )));
        }
        let subject = serde_json::to_string(&new.subject)
            .map_err(|e| StoreError::Internal(format!("cannot serialize an alert subject: {e}")))?;
        let create = Sql::new(format!(
            "INSERT IGNORE INTO alert_keys (slot, last_queued, held_back) VALUES ({SLOT}, ?, 0)"
        ))
        .bind(new.target.as_str())
        .bind(new.key.as_str())
        .bind(never());
        self.exec(create).await.map_err(Fail::into_store)?;
        let subject = &subject;
        self.tx(|c, _| {
            Box::pin(async move {
                let q = Sql::new(format!(
                    "SELECT last_queued, held_back FROM alert_keys WHERE slot = {SLOT} FOR UPDATE"
                ))
                .bind(new.target.as_str())
                .bind(new.key.as_str());
                let at = db_time(new.at);
                let held_back = match row::<KeyRow>(c, q).await? {
                    Some(k) => {
                        let within = min_interval.is_some_and(|d| k.last_queued != never() && at < k.last_queued + d);
                        if within {
                            let q = Sql::new(format!(
                                "UPDATE alert_keys SET held_back = held_back + 1 WHERE slot = {SLOT}"
                            ))
                            .bind(new.target.as_str())
                            .bind(new.key.as_str());
                            exec(c, q).await?;
                            return Ok(AlertEnqueued::Suppressed { count: k.held_back + 1 });
                        }
                        let q = Sql::new(format!(
                            "UPDATE alert_keys SET held_back = 0, last_queued = ? WHERE slot = {SLOT}"
                        ))
                        .bind(at)
                        .bind(new.target.as_str())
                        .bind(new.key.as_str());
                        exec(c, q).await?;
                        k.held_back
                    }
                    None => {
                        // Purged between the two statements: start it again.
                        let q = Sql::new(format!(
                            "INSERT INTO alert_keys (slot, last_queued, held_back) VALUES ({SLOT}, ?, 0)"
                        ))
                        .bind(new.target.as_str())
                        .bind(new.key.as_str())
                        .bind(at);
                        exec(c, q).await?;
                        0
                    }
                };
                let q = Sql::new(
                    "INSERT INTO alerts (id, target, event, at, subject, message, suppressed, delivered, attempts, \
                     next_attempt_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, FALSE, 0, ?, NULL)",
                )
                .bind(new.id.as_str())
                .bind(new.target.as_str())
                .bind(new.event.as_str())
                .bind(at)
                .bind(subject.as_str())
                .bind(new.message.as_str())
                .bind(held_back)
                .bind(db_time(new.next_attempt_at));
                match exec(c, q).await {
                    Err(Fail::Db(e)) if duplicate_key(&e).is_some() => {
                        return Err(StoreError::Conflict(format!("alert {} already exists", new.id)).into());
                    }
                    r => r?,
                };
                let q = select_alert(&new.id, false);
                let a = row::<AlertRow>(c, q)
                    .await?
                    .ok_or_else(|| StoreError::Internal("an alert just written is not there".into()))?;
                Ok(AlertEnqueued::Queued(Box::new(a.into_alert()?)))
            })
        })
        .await
        .map_err(Fail::into_store)
    }

    pub(super) async fn due_alerts_q(&self, now: DateTime<Utc>, limit: u32) -> StoreResult<Vec<Alert>> {
        let q = Sql::new(format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE next_attempt_at IS NOT NULL AND next_attempt_at <= ? \
             ORDER BY next_attempt_at, id LIMIT ?"
        ))
        .bind(db_bound(now))
        .bind(limit);
        self.rows::<AlertRow>(q)
            .await?
            .into_iter()
            .map(AlertRow::into_alert)
            .collect()
    }

    pub(super) async fn record_alert_attempt_tx(&self, id: &str, attempt: &AlertAttempt) -> StoreResult<Alert> {
        self.tx(|c, _| {
            Box::pin(async move {
                let current =
                    row::<AlertRow>(c, select_alert(id, true))
                        .await?
                        .ok_or_else(|| StoreError::NotFound {
                            kind: "alert",
                            id: id.to_owned(),
                        })?;
                if current.delivered {
                    return Err(StoreError::Conflict(format!("alert {id} is already delivered")).into());
                }
                let q = match attempt {
                    AlertAttempt::Delivered => Sql::new(
                        "UPDATE alerts SET attempts = attempts + 1, delivered = TRUE, next_attempt_at = NULL, \
                         last_error = NULL WHERE id = ?",
                    )
                    .bind(id),
                    AlertAttempt::Failed { retry_at, error } => Sql::new(
                        "UPDATE alerts SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                    )
                    .bind(db_time_opt(*retry_at))
                    .bind(truncate(error, 1000))
                    .bind(id),
                };
                exec(c, q).await?;
                let a = row::<AlertRow>(c, select_alert(id, false))
                    .await?
                    .ok_or_else(|| StoreError::Internal("an alert just written is not there".into()))?;
                Ok(a.into_alert()?)
            })
        })
        .await
        .map_err(Fail::into_store)
    }

    pub(super) async fn list_alerts_q(&self, since: DateTime<Utc>, page: Page) -> StoreResult<Paged<Alert>> {
        let select = Sql::new(format!(
            "SELECT {ALERT_COLS} FROM alerts WHERE at >= ? ORDER BY at DESC, id DESC"
        ))
        .bind(db_bound(since));
        let count = Sql::new("SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM alerts WHERE at >= ?").bind(db_bound(since));
        self.paged(select, count, page, AlertRow::into_alert).await
    }

    pub(super) async fn alert_backlog_q(&self) -> StoreResult<u64> {
        self.count(Sql::new(
            "SELECT CAST(COUNT(*) AS UNSIGNED) AS n FROM alerts WHERE next_attempt_at IS NOT NULL",
        ))
        .await
    }

    pub(super) async fn purge_alerts_q(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        let before = db_bound(before);
        let mut gone = 0u64;
        // In batches, so a large purge never holds many locks at once.
        loop {
            let q = Sql::new("DELETE FROM alerts WHERE at < ? ORDER BY at, id LIMIT 1000").bind(before);
            let n = self.exec(q).await.map_err(Fail::into_store)? as u64;
            gone += n;
            if n < 1000 {
                break;
            }
        }
        let q = Sql::new("DELETE FROM alert_keys WHERE last_queued < ?").bind(before);
        self.exec(q).await.map_err(Fail::into_store)?;
        Ok(gone)
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}
