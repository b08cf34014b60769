//! # scheduler-mysql
//!
//! MySQL/MariaDB backend for `scheduler-core`:
//!
//! - [`MysqlStore`], a [`Store`](scheduler_core::Store) on a pooled
//!   `diesel-async` connection, with the schema in `migrations/` applied on
//!   connect. Uniqueness (live task names, executor instance ids, one
//!   execution per scheduled fire) and every compare-and-set are decided by
//!   the database; see [`store`] for how.
//! - [`MysqlLeadership`], leader election with `GET_LOCK` held on a dedicated
//!   connection.
//!
//! Pure Rust: no `libmysqlclient`. Needs a multi-thread tokio runtime to
//! migrate. All instants are stored as UTC `DATETIME(3)`. The database must
//! exist; the schema is created (or brought up to date) on connect.
//!
//! With feature `test-util`, `test_util::TestDb` gives each test of a crate
//! built on this one an empty database of its own.
//!
//! # Example
//!
//! A store and a leader lock on one database (it needs a server, so it is
//! compiled but not run as a test):
//!
//! ```no_run
//! use scheduler_core::{Leadership, Store};
//! use scheduler_mysql::{MysqlLeadership, MysqlLeadershipConfig, MysqlStore};
//! use std::sync::Arc;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let url = "mysql://root:@127.0.0.1:3306/jobs";
//! // Connects a pool of 10 and applies pending migrations.
//! let store: Arc<dyn Store> = Arc::new(MysqlStore::connect(url, 10).await?);
//! store.ping().await?;
//!
//! // Campaign for leadership; the flag flips when this instance leads.
//! let leadership = MysqlLeadership::new(url, MysqlLeadershipConfig::default());
//! leadership.start("instance-a").await;
//! let mut leading = leadership.subscribe();
//! leading.changed().await?;
//! println!("leader: {}", *leading.borrow());
//! leadership.release().await;
//! # Ok(())
//! # }
//! ```

#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's `README.md`: its examples are compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod leader;
mod models;
mod pool;
mod schema;
mod sql;
pub mod store;
#[cfg(feature = "test-util")]
pub mod test_util;

pub use leader::{MysqlLeadership, MysqlLeadershipConfig};
pub use store::{MysqlStore, MysqlStoreOptions};

use diesel_migrations::{EmbeddedMigrations, embed_migrations};

/// The schema migrations in `migrations/`, embedded in the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Why connecting to or migrating the database failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MysqlError {
    /// The database URL cannot be parsed.
    #[error("invalid database URL: {0}")]
    InvalidUrl(String),
    /// The server could not be reached or refused the connection.
    #[error("database unreachable: {0}")]
    Unreachable(String),
    /// Applying the migrations failed.
    #[error("database migration failed: {0}")]
    Migration(String),
}

impl From<MysqlError> for scheduler_core::StoreError {
    fn from(e: MysqlError) -> Self {
        scheduler_core::StoreError::Unavailable(e.to_string())
    }
}
