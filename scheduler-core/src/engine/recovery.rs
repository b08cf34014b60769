//! Recovery on becoming leader: attempts this instance never sent go back
//! to pending, attempts a previous leader sent with no answer are treated as
//! running, then the sweep dispatches what is due.

use super::Inner;
use crate::domain::*;
use chrono::{DateTime, Utc};

impl Inner {
    /// On becoming leader: attempts sent by a previous leader with no answer
    /// recorded are treated as running on their executor (never re-sent);
    /// pending executions are dispatched at once.
    pub(crate) async fn recover(&self, leading_since: DateTime<Utc>) {
        // Attempts this instance knows it never sent go back to pending first.
        self.hand_back_unsent().await;
        match self.store.unanswered_executions(10_000).await {
            Ok(list) => {
                // Attempts sent since this instance leads are its own, in flight.
                for e in list
                    .into_iter()
                    .filter(|e| e.dispatched_at.is_some_and(|d| d < leading_since))
                {
                    let (guard, change) = transition::presumed_running(&e);
                    let _ = self.store.update_execution(&e.id, &guard, &change).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "recovery: cannot list unanswered attempts"),
        }
        self.sweep().await;
    }

    /// Hands back the attempts this instance recorded but never sent (see
    /// `FireBook::note_unsent`); those the store refuses now stay for the next try.
    pub(crate) async fn hand_back_unsent(&self) {
        let unsent = self.book.take_unsent();
        if unsent.is_empty() {
            return;
        }
        let now = self.now();
        let mut left = Vec::new();
        for (id, retry_count) in unsent {
            if self.hand_back(&id, retry_count, now).await.is_err() {
                left.push((id, retry_count));
            }
        }
        self.book.note_unsent(left);
    }
}
