//! The Store conformance suite on [`MemoryStore`].

use scheduler_core::testing::Fixture;
use scheduler_core::{MemoryStore, Store};
use std::sync::Arc;

/// A fresh in-memory store; nothing to clean up.
struct Memory(Arc<MemoryStore>);

impl Fixture for Memory {
    fn store(&self) -> Arc<dyn Store> {
        self.0.clone()
    }

    async fn cleanup(self) {}
}

async fn memory() -> Memory {
    Memory(Arc::new(MemoryStore::new()))
}

scheduler_core::store_conformance_tests!(memory);
