//! Searches first (issue 26): analysts' searches in flight are counted, and
//! background work that competes with them for the two cores (a sync's next
//! batch, a lookup filter build's next page) waits, briefly, while any is
//! running. The wait is bounded per step, so a steady stream of searches slows
//! background work but never stops it.
//!
//! This module only counts and waits; it must never refuse or reorder work,
//! and nothing may wait on it while holding a lock a search needs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The longest one background step waits for searches to finish.
pub const MAX_PAUSE: Duration = Duration::from_millis(20);
const POLL: Duration = Duration::from_millis(1);

#[derive(Default)]
pub struct Foreground {
    searches: AtomicUsize,
}

/// Held for the duration of one search.
pub struct InFlight<'a>(&'a Foreground);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.searches.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Foreground {
    /// Counts a search until the guard is dropped.
    pub fn enter(&self) -> InFlight<'_> {
        self.searches.fetch_add(1, Ordering::SeqCst);
        InFlight(self)
    }

    pub fn busy(&self) -> bool {
        self.searches.load(Ordering::SeqCst) > 0
    }

    /// From async background work: waits until no search runs, at most `max`.
    pub async fn wait_idle(&self, max: Duration) {
        let until = Instant::now() + max;
        while self.busy() && Instant::now() < until {
            tokio::time::sleep(POLL).await;
        }
    }

    /// The same from a blocking-pool thread.
    pub fn wait_idle_blocking(&self, max: Duration) {
        let until = Instant::now() + max;
        while self.busy() && Instant::now() < until {
            std::thread::sleep(POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_counts_until_its_guard_drops_and_waits_are_bounded() {
        let fg = Foreground::default();
        assert!(!fg.busy());
        let guard = fg.enter();
        assert!(fg.busy());
        // Busy throughout: the wait still returns, after at most its bound.
        fg.wait_idle_blocking(Duration::from_millis(2));
        drop(guard);
        assert!(!fg.busy());
    }
}
