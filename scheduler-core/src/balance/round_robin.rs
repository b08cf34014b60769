//! `round_robin`: each dispatch takes the next candidate in executor-id order.

use super::{BalanceContext, LoadBalancer, next_after};
use crate::store::{Candidate, StoreResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Round robin over candidates ordered by id.
///
/// The state is the id of the last executor chosen, not a position, so
/// executors joining or leaving do not make it skip or repeat the others:
/// over `k·n` dispatches to `n` stable candidates each gets exactly `k`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RoundRobin;

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct RrState {
    pub(crate) last: Option<String>,
}

#[async_trait]
impl LoadBalancer for RoundRobin {
    async fn pick(&self, ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize> {
        if candidates.len() == 1 {
            return Ok(0);
        }
        ctx.update_state(|s: &mut RrState| {
            let i = next_after(candidates, s.last.as_deref());
            s.last = Some(candidates[i].executor.id.to_string());
            i
        })
        .await
    }
}
