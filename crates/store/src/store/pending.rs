//! Records a partner sent that could not be accepted yet (a sighting or a
//! relayed revocation whose target has not arrived, a storage read that failed),
//! kept per partner so the puller can try them again.
//!
//! Entries change in the same atomic batch as the partner's cursor, so a crash
//! loses none and keeps none twice. The set is bounded per partner: past
//! [`MAX_PENDING_PER_PARTNER`] the oldest entries are dropped and counted as
//! rejected. This module must never decide whether a record is acceptable.

use std::collections::HashSet;

use prost::Message;

use super::db::Store;
use super::error::StoreError;
use super::keys::{self, corrupt};
use super::partners::SyncState;
use liaison_core::proto;
use liaison_core::record::{Envelope, NodeId, VerifiedRecord};

/// Most records kept waiting per partner.
pub const MAX_PENDING_PER_PARTNER: u64 = 10_000;

/// Changes to a partner's pending set, applied with its sync state.
#[derive(Default)]
pub struct PendingUpdate {
    /// Newly deferred records (already verified), oldest first.
    pub add: Vec<VerifiedRecord>,
    /// Sequence numbers of entries settled (accepted or refused for good).
    pub resolved: Vec<u64>,
}

impl Store {
    /// A partner's pending records, oldest first, with their entry numbers.
    /// They were verified when they arrived; they are read back like stored records.
    pub fn pending(&self, peer: &NodeId) -> Result<Vec<(u64, VerifiedRecord)>, StoreError> {
        let prefix = keys::pending_prefix(peer);
        let mut out = Vec::new();
        for entry in self.tree().scan_prefix(&prefix) {
            let (key, value) = entry?;
            let seq = keys::decode_u64(&key, &key[prefix.len()..])?;
            let wire = proto::Envelope::decode(value.as_ref())
                .map_err(|e| corrupt(&key, &e.to_string()))?;
            let record = Envelope::from_wire(wire)
                .and_then(Envelope::decode_trusted)
                .map_err(|e| corrupt(&key, &e.to_string()))?;
            out.push((seq, record));
        }
        Ok(out)
    }

    /// Stages `update` into `batch` and keeps `state`'s pending counters in step;
    /// evicts the oldest entries beyond `cap`, counting them as rejected.
    pub(super) fn stage_pending(
        &self,
        peer: &NodeId,
        state: &mut SyncState,
        update: &super::pending::PendingUpdate,
        cap: u64,
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        let resolved: HashSet<u64> = update.resolved.iter().copied().collect();
        for seq in &resolved {
            batch.remove(keys::pending(peer, *seq));
        }
        let kept = state.pending.saturating_sub(resolved.len() as u64);
        let total = kept + update.add.len() as u64;
        let mut evict = total.saturating_sub(cap);
        let evicted = evict;
        if evict > 0 {
            let prefix = keys::pending_prefix(peer);
            for entry in self.tree().scan_prefix(&prefix) {
                if evict == 0 {
                    break;
                }
                let (key, _) = entry?;
                let seq = keys::decode_u64(&key, &key[prefix.len()..])?;
                if !resolved.contains(&seq) {
                    batch.remove(key);
                    evict -= 1;
                }
            }
        }
        // Whatever remains to evict comes from the front of the new entries.
        let skip = usize::try_from(evict).unwrap_or(usize::MAX);
        for record in update.add.iter().skip(skip) {
            let seq = state.pending_next;
            state.pending_next += 1;
            batch.insert(
                keys::pending(peer, seq),
                record.envelope.to_wire().encode_to_vec(),
            );
        }
        state.pending = total.min(cap);
        if evicted > 0 {
            state.rejected += evicted;
            liaison_core::telemetry::emit().rejected(peer, "pending", evicted);
            state.last_rejection = format!(
                "pending: dropped the {evicted} oldest records waiting for their target (at most {cap} kept per partner)"
            );
        }
        Ok(())
    }
}
