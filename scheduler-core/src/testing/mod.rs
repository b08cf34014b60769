//! Store conformance suite (feature `test-util`).
//!
//! A [`Store`] backend is correct when it passes every case in [`cases`]. Each
//! case takes a fresh, empty store, drives it through one behaviour of the
//! trait and panics (with `assert!`) when the backend gets it wrong. Cases use
//! fixed instants with whole milliseconds, so a SQL `DATETIME(3)` column
//! round-trips them exactly, and never sleep on the wall clock.
//!
//! A backend runs the whole suite with one line, given an async function that
//! builds a [`Fixture`]:
//!
//! ```no_run
//! use scheduler_core::testing::Fixture;
//! use scheduler_core::{MemoryStore, Store};
//! use std::sync::Arc;
//!
//! struct Memory(Arc<MemoryStore>);
//!
//! impl Fixture for Memory {
//!     fn store(&self) -> Arc<dyn Store> {
//!         self.0.clone()
//!     }
//!
//!     async fn cleanup(self) {}
//! }
//!
//! async fn memory() -> Memory {
//!     Memory(Arc::new(MemoryStore::new()))
//! }
//!
//! // One `#[tokio::test]` per case; the calling crate needs `tokio` (with the
//! // `macros` and `rt-multi-thread` features) among its dev-dependencies.
//! scheduler_core::store_conformance_tests!(memory);
//! # fn main() {}
//! ```

use crate::Store;
use std::future::Future;
use std::sync::Arc;

pub mod cases;
mod slow;

pub use slow::SlowStore;

/// A fresh, empty store for one conformance case, and how to dispose of it.
///
/// A SQL fixture typically creates a uniquely named database, migrates it, and
/// drops it in [`cleanup`](Fixture::cleanup).
pub trait Fixture: Send + 'static {
    /// The store under test. Called once per case.
    fn store(&self) -> Arc<dyn Store>;

    /// Releases what the fixture holds (drop the database, ...). Runs after the
    /// case, also when the case panicked.
    fn cleanup(self) -> impl Future<Output = ()> + Send;
}

/// Runs one case against `fixture`'s store, then cleans the fixture up, then
/// re-raises the case's panic if it had one.
///
/// The case runs as its own tokio task so that a failing assertion still lets
/// the fixture clean up (a SQL fixture would otherwise leak its database).
/// This is what [`store_conformance_tests!`](crate::store_conformance_tests)
/// expands to; call it directly to run a single case.
pub async fn run<F, C, Fut>(fixture: F, case: C)
where
    F: Fixture,
    C: FnOnce(Arc<dyn Store>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(case(fixture.store())).await;
    fixture.cleanup().await;
    if let Err(e) = outcome {
        match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("conformance case did not finish: {e}"),
        }
    }
}

/// Expands to one `#[tokio::test]` per conformance case in [`cases`].
///
/// `$make` is the path of an `async fn() -> impl Fixture`; each test calls it
/// for a fresh store, runs the case with [`run`], and cleans up. The tests run
/// on a multi-threaded runtime with two workers so races between concurrent
/// calls are real. See the [module docs](self) for an example.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:path) => {
        // The one list of cases: adding a case is adding its name here.
        $crate::__store_conformance_tests!($make;
            ping_answers,
            create_and_get_task,
            create_task_with_unknown_executor_writes_nothing,
            list_tasks_filters_by_status,
            list_tasks_filters_by_name_substring,
            list_tasks_pages_newest_first,
            task_names_are_unique_among_live_tasks,
            update_task_replaces_mutable_fields,
            update_task_refuses_a_taken_name,
            update_task_on_deleted_task_conflicts,
            update_task_replaces_assignments_atomically,
            delete_task_soft_deletes,
            active_tasks_are_the_active_ones,
            tasks_changed_since_includes_deleted_tasks,
            set_next_run_time_only_for_active_tasks,
            task_executors_round_trip,
            replace_task_executors_checks_every_executor,
            register_executor_creates_then_updates_by_instance_id,
            register_executor_keeps_maintenance_and_resets_health,
            register_executor_refuses_a_taken_id,
            get_and_all_executors,
            list_executors_filters_and_pages,
            update_executor_replaces_descriptive_fields,
            set_executor_status_changes_only_the_status,
            record_health_applies_thresholds,
            delete_executor_keeps_execution_history,
            dispatch_candidates_use_assignments_when_present,
            dispatch_candidates_default_to_every_available_executor,
            running_counts_per_executor,
            claim_fire_refuses_a_second_fire_of_the_same_instant,
            claim_fire_ignores_manual_executions,
            claim_fire_sets_next_run_time_only_for_active_tasks,
            claim_fire_is_exclusive_under_concurrency,
            claim_fires_answers_per_fire,
            claim_fires_large_batches_and_last_fire_times,
            claim_fires_is_exclusive_under_concurrency,
            update_executions_mixed_outcomes,
            update_executions_is_exclusive_under_concurrency,
            dispatch_candidates_of_matches_one_by_one,
            insert_and_get_execution_round_trip,
            list_executions_filters,
            list_executions_pages_newest_first,
            update_execution_applies_the_change,
            update_execution_guard_checks_status_attempt_and_dispatch,
            update_execution_never_overwrites_a_final_state,
            update_execution_appends_logs_with_newlines,
            update_execution_not_found_vs_conflict,
            update_execution_is_exclusive_under_concurrency,
            task_activity_counts_pending_and_running,
            due_executions_are_pending_undispatched_and_ripe,
            unanswered_executions_are_pending_and_dispatched,
            overdue_executions_are_unfinished_past_their_deadline,
            lb_state_is_a_versioned_compare_and_set,
            lb_state_first_write_is_exclusive_under_concurrency,
            hourly_counts_follow_final_writes,
            purge_executions_deletes_old_final_rows_only,
            purge_excess_keeps_the_newest,
            purge_hourly_counts_drops_old_hours,
            logs_are_bounded,
            list_executions_by_cursor,
            list_executions_caps_the_total,
            system_counts_reflect_the_store,
            scheduler_instances_upsert_list_remove,
            enqueue_alert_round_trips,
            enqueue_alert_suppresses_per_target_and_key,
            enqueue_alert_is_exclusive_under_concurrency,
            alert_attempts_move_through_the_outbox,
            list_and_purge_alerts,
        );
    };
}

/// Implementation detail of [`store_conformance_tests!`]: one test per case name.
#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_tests {
    ($make:path; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                $crate::testing::run($make().await, $crate::testing::cases::$case).await;
            }
        )+
    };
}
