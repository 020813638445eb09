//! The local change log, stored as runs: one key per run of consecutive
//! sequences, `C + first sequence → ids` (32 bytes each), written by one batch.
//! A sync batch of a thousand records thus writes a handful of change-log keys,
//! not a thousand. A run of one is exactly the layout of databases written
//! before runs (`liaison-store-v1`: one key per sequence), so those read as they
//! are, without rewriting anything.
//!
//! A record can stand at more than one position: a partner's record is logged
//! again just before our own "seen" sighting of it, a revocation again after
//! the record it arrived before (store/records.rs). Partners' sync wants every
//! position (a receiver skips what it holds); a reader that serves each record
//! once (TAXII, the MISP feed) serves it at its latest position only, found
//! through the `RELOGGED` entry written with the later position.
//!
//! How a position is read is decided here, once: [`Store::log_after`] and
//! [`Store::log_before`] yield each position exactly once, in order, and every
//! path (sync, search pages, TAXII, the MISP feed) reads the log through them;
//! [`Store::current_at`] says whether a position is its record's latest.
//!
//! This module only reads and stages the log: it must never renumber, remove or
//! rewrite an entry once written (partners' cursors point into it).

use super::db::Store;
use super::error::StoreError;
use super::keys::{self, corrupt};
use super::records::StoredRecord;
use liaison_core::record::RecordId;

/// Most entries in one run key: keeps values small for sled's pages.
pub(super) const MAX_RUN: usize = 128;

/// Stages the log entries `first, first + 1, …` for `ids`, in runs.
pub(super) fn stage(batch: &mut sled::Batch, first: u64, ids: &[RecordId]) {
    for (n, run) in ids.chunks(MAX_RUN).enumerate() {
        let start = first + (n * MAX_RUN) as u64;
        let value: Vec<u8> = run.iter().flat_map(|id| id.0).collect();
        batch.insert(keys::change(start), value);
    }
}

/// The entries of one stored run, in sequence order.
fn decode_run(
    entry: Result<(sled::IVec, sled::IVec), sled::Error>,
) -> Result<Vec<(u64, RecordId)>, StoreError> {
    let (key, value) = entry?;
    let first = keys::decode_u64(&key, &key[1..])?;
    if value.is_empty() || !value.len().is_multiple_of(32) {
        return Err(corrupt(&key, "change-log run is not a list of record ids"));
    }
    value
        .chunks(32)
        .enumerate()
        .map(|(i, id)| {
            let id = RecordId::from_slice(id).map_err(|_| corrupt(&key, "bad record id"))?;
            Ok((first + i as u64, id))
        })
        .collect()
}

/// Stages "`id` was logged again at `seq`, at `logged_ms`": its latest position
/// from now on (a later write of the same key in the batch wins).
pub(super) fn stage_relogged(batch: &mut sled::Batch, id: &RecordId, seq: u64, logged_ms: i64) {
    batch.insert(keys::relogged(id), relogged_value(seq, logged_ms));
}

fn relogged_value(seq: u64, logged_ms: i64) -> Vec<u8> {
    [seq.to_be_bytes(), logged_ms.to_be_bytes()].concat()
}

fn decode_relogged(key: &[u8], value: &[u8]) -> Result<(u64, i64), StoreError> {
    if value.len() != 16 {
        return Err(corrupt(key, "re-log entry is not a position and a time"));
    }
    let seq = keys::decode_u64(key, &value[..8])?;
    let ms: [u8; 8] = value[8..]
        .try_into()
        .map_err(|_| corrupt(key, "re-log time is not 8 bytes"))?;
    Ok((seq, i64::from_be_bytes(ms)))
}

/// Change-log positions within `low ..= high`, each exactly once, ascending or
/// descending: the one way the log is read. Stops after the first error.
pub struct LogIter {
    runs: sled::Iter,
    pending: std::vec::IntoIter<(u64, RecordId)>,
    low: u64,
    high: u64,
    forward: bool,
    done: bool,
}

impl Iterator for LogIter {
    type Item = Result<(u64, RecordId), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            if let Some((seq, id)) = self.pending.next() {
                // A run may straddle a bound: skip up to it, stop past it.
                let (before, past) = match self.forward {
                    true => (seq < self.low, seq > self.high),
                    false => (seq > self.high, seq < self.low),
                };
                if past {
                    self.done = true;
                } else if !before {
                    return Some(Ok((seq, id)));
                }
                continue;
            }
            let run = match self.forward {
                true => self.runs.next(),
                false => self.runs.next_back(),
            };
            let Some(run) = run else {
                self.done = true;
                break;
            };
            match decode_run(run) {
                Ok(mut entries) => {
                    if !self.forward {
                        entries.reverse();
                    }
                    self.pending = entries.into_iter();
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}

/// A record read at the position that stands for it now: its latest in the log.
#[derive(Clone, Debug)]
pub struct Current {
    pub stored: StoredRecord,
    /// Its latest change-log position.
    pub position: u64,
    /// When it was logged there (its receipt time unless logged again since).
    pub added_ms: i64,
}

impl Store {
    /// Positions strictly after `after` and at most `through`, ascending.
    pub fn log_after(&self, after: u64, through: u64) -> LogIter {
        let low = after.saturating_add(1);
        // The run holding `low` may begin before it.
        let start = self
            .tree()
            .range(keys::change(0)..=keys::change(low))
            .next_back()
            .and_then(Result::ok)
            .map_or_else(|| keys::change(low), |(key, _)| key.to_vec());
        let empty = low > through;
        let end = keys::change(through.max(low));
        LogIter {
            runs: self.tree().range(start..=end),
            pending: Vec::new().into_iter(),
            low,
            high: through,
            forward: true,
            done: empty,
        }
    }

    /// Positions strictly before `before`, descending.
    pub fn log_before(&self, before: u64) -> LogIter {
        LogIter {
            runs: self
                .tree()
                .range(keys::change(0)..=keys::change(before.saturating_sub(1))),
            pending: Vec::new().into_iter(),
            low: 0,
            high: before.saturating_sub(1),
            forward: false,
            done: before == 0,
        }
    }

    /// Change-log entries strictly after `cursor`, at most `limit`.
    pub fn changes_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(u64, RecordId)>, StoreError> {
        self.log_after(cursor, u64::MAX).take(limit).collect()
    }

    /// Change-log entries strictly before `before`, newest first, at most `limit`.
    pub fn changes_before(
        &self,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, RecordId)>, StoreError> {
        self.log_before(before).take(limit).collect()
    }

    /// The highest change-log sequence written, 0 for an empty log.
    pub fn last_change(&self) -> Result<u64, StoreError> {
        match self.log_before(u64::MAX).next() {
            Some(entry) => Ok(entry?.0),
            None => Ok(0),
        }
    }

    /// The record logged at `seq` as `id`, when `seq` is its latest position;
    /// `None` at a stale earlier position, or when it is purged or unreadable.
    pub fn current_at(&self, seq: u64, id: &RecordId) -> Result<Option<Current>, StoreError> {
        let relogged = self.relogged(id)?;
        if relogged.is_some_and(|(latest, _)| latest != seq) {
            return Ok(None); // decided without decoding the record
        }
        Ok(self.current_of(id, relogged)?.filter(|c| c.position == seq))
    }

    /// A stored record with its latest position.
    pub fn current(&self, id: &RecordId) -> Result<Option<Current>, StoreError> {
        let relogged = self.relogged(id)?;
        self.current_of(id, relogged)
    }

    fn current_of(
        &self,
        id: &RecordId,
        relogged: Option<(u64, i64)>,
    ) -> Result<Option<Current>, StoreError> {
        let Some(stored) = self.get(id)? else {
            return Ok(None);
        };
        let (position, added_ms) = relogged.unwrap_or((stored.local_seq, stored.received_ms));
        Ok(Some(Current {
            stored,
            position,
            added_ms,
        }))
    }

    fn relogged(&self, id: &RecordId) -> Result<Option<(u64, i64)>, StoreError> {
        let key = keys::relogged(id);
        match self.tree().get(&key)? {
            Some(value) => decode_relogged(&key, &value).map(Some),
            None => Ok(None),
        }
    }
}
