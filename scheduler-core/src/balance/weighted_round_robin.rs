//! `weighted_round_robin`: smooth weighted round robin, the nginx algorithm.

use super::{BalanceContext, LoadBalancer};
use crate::store::{Candidate, StoreResult};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Smooth weighted round robin.
///
/// Each pick adds every candidate's weight to its current weight, takes the
/// candidate with the largest current weight (the first in id order on a tie)
/// and subtracts the total weight from it. Over `k·Σw` dispatches each
/// executor gets exactly `k·w`, interleaved: weights 1/2/3 give
/// `c b a c b c | c b a c b c`, never more than two in a row.
#[derive(Clone, Copy, Debug, Default)]
pub struct WeightedRoundRobin;

#[derive(Default, Serialize, Deserialize)]
struct WrrState {
    current: BTreeMap<String, i64>,
}

#[async_trait]
impl LoadBalancer for WeightedRoundRobin {
    async fn pick(&self, ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize> {
        if candidates.len() == 1 {
            return Ok(0);
        }
        ctx.update_state(|s: &mut WrrState| {
            // Executors that are no longer candidates lose their running weight.
            s.current
                .retain(|id, _| candidates.iter().any(|c| c.executor.id.as_str() == id));
            let total: i64 = candidates.iter().map(|c| i64::from(c.weight)).sum();
            let mut best = 0;
            let mut best_weight = i64::MIN;
            for (i, c) in candidates.iter().enumerate() {
                let w = s.current.entry(c.executor.id.to_string()).or_insert(0);
                *w += i64::from(c.weight);
                if *w > best_weight {
                    best_weight = *w;
                    best = i;
                }
            }
            if let Some(w) = s.current.get_mut(candidates[best].executor.id.as_str()) {
                *w -= total;
            }
            best
        })
        .await
    }
}
