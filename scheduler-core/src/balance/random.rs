//! `random`: uniform over the candidates.

use super::{BalanceContext, LoadBalancer};
use crate::store::{Candidate, StoreResult};
use async_trait::async_trait;

/// Uniform random choice; keeps no state.
#[derive(Clone, Copy, Debug, Default)]
pub struct Random;

#[async_trait]
impl LoadBalancer for Random {
    async fn pick(&self, _ctx: &BalanceContext<'_>, candidates: &[Candidate]) -> StoreResult<usize> {
        Ok(rand::random_range(0..candidates.len()))
    }
}
