//! The local change log, stored as runs: one key per run of consecutive
//! sequences, `C + first sequence → ids` (32 bytes each), written by one batch.
//! A sync batch of a thousand records thus writes a handful of change-log keys,
//! not a thousand. A run of one is exactly the layout of databases written
//! before runs (`liaison-store-v1`: one key per sequence), so those read as they
//! are, without rewriting anything.
//!
//! This module only reads and stages the log: it must never renumber, remove or
//! rewrite an entry once written (partners' cursors point into it).

use super::keys::{self, corrupt};
use super::{Store, StoreError};
use crate::record::RecordId;

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

impl Store {
    /// Change-log entries strictly after `cursor`, at most `limit`.
    pub fn changes_after(
        &self,
        cursor: u64,
        limit: usize,
    ) -> Result<Vec<(u64, RecordId)>, StoreError> {
        let start = cursor.saturating_add(1);
        let mut out = Vec::new();
        // The run holding `start` may begin before it.
        if let Some(run) = self
            .tree()
            .range(keys::change(0)..=keys::change(start))
            .next_back()
        {
            out.extend(
                decode_run(run)?
                    .into_iter()
                    .filter(|(seq, _)| *seq >= start),
            );
        }
        let later = self.tree().range((
            std::ops::Bound::Excluded(keys::change(start)),
            std::ops::Bound::Included(keys::change(u64::MAX)),
        ));
        for run in later {
            if out.len() >= limit {
                break;
            }
            out.extend(decode_run(run)?);
        }
        out.truncate(limit);
        Ok(out)
    }

    /// Change-log entries strictly before `before`, newest first, at most `limit`.
    pub fn changes_before(
        &self,
        before: u64,
        limit: usize,
    ) -> Result<Vec<(u64, RecordId)>, StoreError> {
        let mut out = Vec::new();
        for run in self
            .tree()
            .range(keys::change(0)..keys::change(before))
            .rev()
        {
            if out.len() >= limit {
                break;
            }
            let entries = decode_run(run)?;
            out.extend(entries.into_iter().rev().filter(|(seq, _)| *seq < before));
        }
        out.truncate(limit);
        Ok(out)
    }

    /// The highest change-log sequence written, 0 for an empty log.
    pub fn last_change(&self) -> Result<u64, StoreError> {
        let first = keys::change(0);
        let last = keys::change(u64::MAX);
        match self.tree().range(first..=last).next_back() {
            Some(run) => Ok(decode_run(run)?.last().map_or(0, |(seq, _)| *seq)),
            None => Ok(0),
        }
    }
}
