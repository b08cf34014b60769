//! The shared Store conformance suite (`scheduler_core::testing`) against
//! `MysqlStore`, each case on a database of its own.

mod common;

use common::TestDb;
use scheduler_core::testing::Fixture;
use scheduler_core::{MemoryStore, Store};
use scheduler_mysql::MysqlStore;
use std::sync::Arc;

struct MysqlFixture {
    store: Arc<dyn Store>,
    db: Option<TestDb>,
}

impl Fixture for MysqlFixture {
    fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    async fn cleanup(self) {
        drop(self.store);
        if let Some(db) = self.db {
            db.drop_db().await;
        }
    }
}

async fn mysql() -> MysqlFixture {
    let Some(db) = TestDb::create().await else {
        // Outside CI with no server (already reported loudly): there is no
        // way to skip a generated test at run time, so the case runs against
        // the memory store and says nothing about MySQL.
        return MysqlFixture {
            store: Arc::new(MemoryStore::new()),
            db: None,
        };
    };
    let store = match MysqlStore::connect(&db.url, 4).await {
        Ok(s) => s,
        Err(e) => {
            db.drop_db().await;
            panic!("cannot connect MysqlStore to {}: {e}", db.url);
        }
    };
    MysqlFixture {
        store: Arc::new(store),
        db: Some(db),
    }
}

scheduler_core::store_conformance_tests!(mysql);
