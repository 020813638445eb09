//! When to build which lookup filters: the one scheduling decision of the
//! background builder ([`super::ahead`]), pure so it can be tested without a
//! clock or a store. Given the time, the epoch length, what is built and how far
//! the change log moved, it says what to build next: the current epoch's
//! filters (none yet, or stale after a change), the next epoch's (ahead of the
//! turn, so the first lookup of an epoch finds them ready), or nothing.
//!
//! This module must never do I/O or read the clock itself.

use super::epoch::Epoch;

/// A complete build: its epoch, the change-log position it covers, its age and
/// how long it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    pub epoch: u64,
    pub change: u64,
    pub age_ms: u64,
    pub build_ms: u64,
}

/// A refresh waits at least this many times the last build's duration, so
/// refreshing filters that keep going stale (a large sync) takes at most about
/// a fifth of one core: a build re-reads the whole change log, so refreshing
/// every `rebuild_min_seconds` would cost time quadratic in the records held.
pub const REBUILD_COST_FACTOR: u64 = 4;

/// What the scheduler sees.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    pub now_ms: i64,
    pub epoch_hours: u32,
    /// The filters being served.
    pub current: Option<Snapshot>,
    /// The filters prepared for a later epoch.
    pub next: Option<Snapshot>,
    /// The change log's head now.
    pub last_change: u64,
    /// `lookup.rebuild_min_seconds`, in ms.
    pub rebuild_min_ms: u64,
    /// A bulk import is running: stale filters wait for its end (each refresh
    /// would re-read every record while the import adds more, for filters that
    /// are stale again a moment later), unless there are none for the epoch.
    pub importing: bool,
}

/// What to build next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Everything is ready.
    Idle,
    /// The prepared filters are for the epoch that has begun: serve them (then
    /// look again: they may need a refresh).
    Promote,
    /// The current epoch's filters: none yet, or the change log moved.
    Current,
    /// The next epoch's filters, ahead of the turn (`epoch` is its number).
    Next(Epoch),
}

/// How long before the turn the next epoch's filters are prepared: a quarter
/// of the epoch, at most an hour (a build at 1M values takes minutes on one
/// core; an hour leaves room for a loaded machine, and keeps the next key on
/// disk no longer than needed).
pub fn lead_ms(epoch_hours: u32) -> i64 {
    let length = i64::from(epoch_hours.max(1)) * 3_600_000;
    (length / 4).min(3_600_000)
}

fn stale(built: &Snapshot, inputs: &Inputs) -> bool {
    let interval = inputs
        .rebuild_min_ms
        .max(built.build_ms.saturating_mul(REBUILD_COST_FACTOR));
    built.change != inputs.last_change && built.age_ms >= interval && !inputs.importing
}

/// The one decision: what the background builder does now.
pub fn plan(inputs: &Inputs) -> Plan {
    let epoch = Epoch::at(inputs.now_ms, inputs.epoch_hours);
    let current = inputs.current.filter(|c| c.epoch == epoch.number);
    let Some(current) = current else {
        if inputs.next.is_some_and(|n| n.epoch == epoch.number) {
            return Plan::Promote;
        }
        return Plan::Current;
    };
    if stale(&current, inputs) {
        return Plan::Current;
    }
    if inputs.now_ms < epoch.not_after_ms - lead_ms(inputs.epoch_hours) {
        return Plan::Idle;
    }
    let next = Epoch::at(epoch.not_after_ms, inputs.epoch_hours);
    match inputs.next.filter(|n| n.epoch == next.number) {
        // Kept up with the change log too, so at the turn only what changed in
        // the last `rebuild_min_seconds` is new (its F memoised for that epoch).
        Some(prepared) if !stale(&prepared, inputs) => Plan::Idle,
        _ => Plan::Next(next),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;

    fn inputs(now_ms: i64, current: Option<Snapshot>, next: Option<Snapshot>) -> Inputs {
        Inputs {
            now_ms,
            epoch_hours: 24,
            current,
            next,
            last_change: 100,
            rebuild_min_ms: 10_000,
            importing: false,
        }
    }

    fn built(epoch: u64, change: u64, age_ms: u64) -> Option<Snapshot> {
        Some(Snapshot {
            epoch,
            change,
            age_ms,
            build_ms: 1_000,
        })
    }

    // Epoch 1 of 24 h runs from 24 h to 48 h; its next epoch is prepared from 47 h.
    const EARLY: i64 = 25 * HOUR;
    const LATE: i64 = 47 * HOUR + HOUR / 2;

    #[test]
    fn nothing_built_builds_the_current_epoch() {
        assert_eq!(plan(&inputs(EARLY, None, None)), Plan::Current);
        // A build of an ended epoch counts as none.
        assert_eq!(plan(&inputs(EARLY, built(0, 100, 0), None)), Plan::Current);
    }

    #[test]
    fn a_change_rebuilds_the_current_epoch_once_the_minimum_interval_passed() {
        assert_eq!(
            plan(&inputs(EARLY, built(1, 100, 60_000), None)),
            Plan::Idle
        );
        assert_eq!(
            plan(&inputs(EARLY, built(1, 40, 60_000), None)),
            Plan::Current
        );
        // Too soon after the last build: wait (the stale filter is served).
        assert_eq!(plan(&inputs(EARLY, built(1, 40, 2_000), None)), Plan::Idle);
    }

    #[test]
    fn a_costly_build_is_refreshed_less_often() {
        let slow = |age_ms| {
            Some(Snapshot {
                build_ms: 30_000,
                ..built(1, 40, age_ms).unwrap()
            })
        };
        assert_eq!(plan(&inputs(EARLY, slow(60_000), None)), Plan::Idle);
        assert_eq!(plan(&inputs(EARLY, slow(120_000), None)), Plan::Current);
    }

    #[test]
    fn a_bulk_import_defers_refreshes_but_not_a_first_build() {
        let importing = |current, next| Inputs {
            importing: true,
            ..inputs(LATE, current, next)
        };
        assert_eq!(
            plan(&importing(built(1, 40, 60_000), None)),
            Plan::Next(Epoch::at(48 * HOUR, 24))
        );
        assert_eq!(
            plan(&importing(built(1, 40, 60_000), built(2, 40, 60_000))),
            Plan::Idle
        );
        assert_eq!(plan(&importing(None, None)), Plan::Current);
    }

    #[test]
    fn the_next_epoch_is_built_in_the_lead_time_and_kept_current() {
        let next = Epoch::at(48 * HOUR, 24);
        assert_eq!(next.number, 2);
        assert_eq!(
            plan(&inputs(LATE, built(1, 100, 0), None)),
            Plan::Next(next)
        );
        assert_eq!(
            plan(&inputs(LATE, built(1, 100, 0), built(2, 100, 0))),
            Plan::Idle
        );
        // The change log moved: the prepared filters follow it (so the turn
        // has little left to evaluate), the current ones first.
        assert_eq!(
            plan(&inputs(LATE, built(1, 40, 60_000), built(2, 40, 60_000))),
            Plan::Current
        );
        assert_eq!(
            plan(&inputs(LATE, built(1, 100, 0), built(2, 40, 60_000))),
            Plan::Next(next)
        );
        // Not before the lead time.
        assert_eq!(
            plan(&inputs(47 * HOUR - 1, built(1, 100, 0), None)),
            Plan::Idle
        );
    }

    #[test]
    fn at_the_turn_the_prepared_filters_are_promoted() {
        let turned = 48 * HOUR + 5;
        assert_eq!(
            plan(&inputs(turned, built(1, 100, 0), built(2, 90, 0))),
            Plan::Promote
        );
        assert_eq!(plan(&inputs(turned, built(1, 100, 0), None)), Plan::Current);
    }

    #[test]
    fn short_epochs_prepare_a_quarter_ahead_and_long_ones_an_hour() {
        assert_eq!(lead_ms(1), HOUR / 4);
        assert_eq!(lead_ms(24), HOUR);
        assert_eq!(lead_ms(168), HOUR);
    }
}
