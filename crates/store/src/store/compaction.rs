//! Compaction of the value log after a purge: a closed segment whose live
//! bytes (`Z`) fell below the threshold ([`vlog::needs_compaction`]) has its
//! live bodies copied to the head, their `R` entries moved in one batch with
//! the segments' live bytes and the new head, flushed, and only then is the
//! old file deleted. A kill before the batch leaves the old pointers valid
//! (the copies lie past the recorded head and are cut at open); a kill after
//! it leaves the new ones valid and the old file is deleted at the next open
//! (a closed segment without a `Z` entry holds nothing).
//!
//! Runs in the committer (after every retention purge, also one that removed
//! nothing: a compaction a kill interrupted is taken up again at the next
//! purge, not only after the next record expires), so no write moves a
//! pointer meanwhile. Must never delete a segment before the
//! batch moving its last pointer away is durable.

use std::collections::{HashMap, HashSet};

use super::bodies::{LiveDelta, RecordRef};
use super::db::Store;
use super::error::StoreError;
use super::keys;
use super::vlog;

#[cfg(test)]
thread_local! {
    /// Test hook: the next compaction stops (as a kill would) after copying
    /// and syncing, before its pointer move.
    pub(super) static STOP_BEFORE_MOVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Store {
    /// Compacts every closed segment below the live threshold; returns how
    /// many segments were retired.
    pub(super) fn compact_bodies(&self) -> Result<usize, StoreError> {
        let active = self.vlog().active_segment()?;
        let mut candidates = HashSet::new();
        for (segment, size) in self.vlog().segment_sizes()? {
            let live = keys::read_u64(self.tree(), &keys::segment_live(segment))?;
            if segment != active && vlog::needs_compaction(live, size) {
                candidates.insert(segment);
            }
        }
        if candidates.is_empty() {
            return Ok(0);
        }
        let mut moving = Vec::new();
        for entry in self.tree().scan_prefix([keys::RECORD]) {
            let (key, value) = entry?;
            if let Some(found) = RecordRef::decode(&value) {
                if candidates.contains(&found.pointer.segment) {
                    moving.push((key, found));
                }
            }
        }
        tracing::info!(
            segments = candidates.len(),
            moving = moving.len(),
            "compacting the value log"
        );
        let pointers: Vec<vlog::Pointer> = moving.iter().map(|(_, r)| r.pointer).collect();
        let moves: HashMap<vlog::Pointer, vlog::Pointer> =
            self.vlog().compact(&pointers)?.into_iter().collect();
        self.vlog().sync()?;
        #[cfg(test)]
        if STOP_BEFORE_MOVE.with(|s| s.replace(false)) {
            return Err(StoreError::Io(
                "stopped before the pointer move (test)".into(),
            ));
        }
        let mut batch = sled::Batch::default();
        let mut live = LiveDelta::default();
        for (key, old) in &moving {
            let pointer = *moves
                .get(&old.pointer)
                .ok_or_else(|| StoreError::Io("compaction lost a body".into()))?;
            live.add(&pointer, 1);
            batch.insert(key.clone(), RecordRef { pointer, ..*old }.encode());
        }
        self.stage_live(&live, &mut batch)?;
        for segment in &candidates {
            batch.remove(keys::segment_live(*segment));
        }
        self.stage_head(&mut batch);
        self.apply_gated(batch)?;
        self.flush_blocking()?;
        for segment in &candidates {
            self.vlog().retire(*segment)?;
        }
        tracing::info!(
            segments = candidates.len(),
            moved = moving.len(),
            "compacted the value log"
        );
        Ok(candidates.len())
    }
}
