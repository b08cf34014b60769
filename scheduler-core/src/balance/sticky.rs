//! `sticky`: a task keeps its executor while that executor is a candidate.

use super::{BalanceContext, LoadBalancer, next_after};
use crate::store::{Candidate, StoreResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Keeps the bound executor while it is a candidate; otherwise binds to the
/// next one by round robin and keeps that one from then on.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sticky;

#[derive(Default, Serialize, Deserialize)]
struct StickyState {
    bound: Option<String>,
}

#[async_trait]
impl LoadBalancer for Sticky {
    async fn pick(&self, ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize> {
        let bound = ctx
            .store
            .lb_state(&ctx.task.id, ctx.strategy)
            .await?
            .and_then(|s| serde_json::from_value::<StickyState>(s.value).ok())
            .and_then(|s| s.bound);
        if let Some(i) = bound
            .as_deref()
            .and_then(|b| candidates.iter().position(|c| c.executor.id.as_str() == b))
        {
            return Ok(i);
        }
        ctx.update_state(|s: &mut StickyState| {
            if let Some(i) = s
                .bound
                .as_deref()
                .and_then(|b| candidates.iter().position(|c| c.executor.id.as_str() == b))
            {
                return i;
            }
            let i = next_after(candidates, s.bound.as_deref());
            s.bound = Some(candidates[i].executor.id.to_string());
            i
        })
        .await
    }
}
