//! Time as a dependency: every "now" of the engine comes from a [`Clock`].

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};

/// A source of UTC time that can also wait for an instant.
///
/// Timestamps are kept at millisecond precision, the precision of the API and
/// of SQL stores.
#[async_trait]
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;

    /// Completes at (or soon after) `deadline`; at once if it has passed.
    async fn sleep_until(&self, deadline: DateTime<Utc>);
}

/// The wall clock, with tokio's timer for sleeping.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(3)
    }

    async fn sleep_until(&self, deadline: DateTime<Utc>) {
        // Re-check after waking: the wall clock may have been adjusted meanwhile.
        loop {
            let left = deadline - Utc::now();
            let Ok(left) = left.to_std() else { return };
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left).await;
        }
    }
}

#[cfg(any(test, feature = "test-util"))]
pub use manual::ManualClock;

#[cfg(any(test, feature = "test-util"))]
mod manual {
    use super::*;
    use std::time::Duration;
    use tokio::time::Instant;

    /// A clock for tests, anchored at a chosen instant and driven by tokio's
    /// (paused) time.
    ///
    /// Use it in `#[tokio::test(start_paused = true)]`: time moves only when
    /// the test calls [`ManualClock::advance`], or when every task is idle and
    /// tokio auto-advances to the next timer. Either way sleepers wake in
    /// deadline order and each woken task runs before time moves again, so
    /// engine tests assert exact instants without real sleeps.
    #[derive(Clone, Debug)]
    pub struct ManualClock {
        start: DateTime<Utc>,
        anchor: Instant,
    }

    impl ManualClock {
        /// A clock that reads `start` now.
        pub fn new(start: DateTime<Utc>) -> Self {
            Self {
                start,
                anchor: Instant::now(),
            }
        }

        /// Moves time forward by `by`, waking every sleeper whose deadline passes.
        pub async fn advance(&self, by: Duration) {
            tokio::time::advance(by).await;
        }

        /// Moves time forward to `t` (no-op if `t` has passed).
        pub async fn advance_to(&self, t: DateTime<Utc>) {
            if let Ok(d) = (t - self.now()).to_std() {
                self.advance(d).await;
            }
        }

        fn instant_of(&self, t: DateTime<Utc>) -> Instant {
            match (t - self.start).to_std() {
                Ok(d) => self.anchor + d,
                Err(_) => self.anchor,
            }
        }
    }

    #[async_trait]
    impl Clock for ManualClock {
        fn now(&self) -> DateTime<Utc> {
            let elapsed = Instant::now() - self.anchor;
            (self.start + chrono::Duration::from_std(elapsed).unwrap_or_default()).trunc_subsecs(3)
        }

        async fn sleep_until(&self, deadline: DateTime<Utc>) {
            tokio::time::sleep_until(self.instant_of(deadline)).await;
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use chrono::TimeZone;
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};

        #[tokio::test(start_paused = true)]
        async fn advance_moves_now_and_wakes_sleepers_in_order() {
            let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
            let clock = ManualClock::new(start);
            let order = Arc::new(std::sync::Mutex::new(Vec::new()));
            let woke = Arc::new(AtomicU32::new(0));
            for secs in [3, 1, 2] {
                let (c, o, w) = (clock.clone(), order.clone(), woke.clone());
                tokio::spawn(async move {
                    c.sleep_until(start + chrono::Duration::seconds(secs)).await;
                    o.lock().unwrap().push((secs, c.now()));
                    w.fetch_add(1, Ordering::SeqCst);
                });
            }
            tokio::task::yield_now().await;
            clock.advance(Duration::from_millis(1500)).await;
            tokio::task::yield_now().await;
            assert_eq!(woke.load(Ordering::SeqCst), 1);
            assert_eq!(clock.now(), start + chrono::Duration::milliseconds(1500));
            clock.advance_to(start + chrono::Duration::seconds(5)).await;
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            let got: Vec<i64> = order.lock().unwrap().iter().map(|(s, _)| *s).collect();
            assert_eq!(got, vec![1, 2, 3]);
        }
    }
}
