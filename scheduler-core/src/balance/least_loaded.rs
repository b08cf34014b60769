//! `least_loaded`: the candidate with the fewest running executions.

use super::round_robin::RrState;
use super::{BalanceContext, LoadBalancer, next_after};
use crate::store::{Candidate, StoreResult};
use async_trait::async_trait;

/// Fewest `running` executions of all tasks; ties broken by round robin.
#[derive(Clone, Copy, Debug, Default)]
pub struct LeastLoaded;

#[async_trait]
impl LoadBalancer for LeastLoaded {
    async fn pick(&self, ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize> {
        if candidates.len() == 1 {
            return Ok(0);
        }
        let ids: Vec<_> = candidates.iter().map(|c| c.executor.id.clone()).collect();
        let load = ctx.store.running_counts(&ids).await?;
        let load_of = |c: &Candidate| load.get(&c.executor.id).copied().unwrap_or(0);
        let min = candidates.iter().map(load_of).min().unwrap_or(0);
        let tied: Vec<Candidate> = candidates.iter().filter(|c| load_of(c) == min).cloned().collect();
        // The round-robin position moves on every pick, tie or not, so the
        // next tie starts after the executor chosen last.
        let chosen = ctx
            .update_state(|s: &mut RrState| {
                let i = next_after(&tied, s.last.as_deref());
                s.last = Some(tied[i].executor.id.to_string());
                tied[i].executor.id.clone()
            })
            .await?;
        Ok(candidates.iter().position(|c| c.executor.id == chosen).unwrap_or(0))
    }
}
