//! What storing a record does to other records: a revocation or a superseding
//! version tombstones its target (the target leaves the value index and is kept
//! only as a tombstone), and a sighting is indexed under the record it sighted.
//! (Retention, which purges records past their expiry, is in `expiry.rs`.)
//!
//! A tombstone may arrive before its target (relays reorder); it is kept, the
//! target is never indexed when it comes, and the revocation is announced again
//! in the change log right after the target so partners receive it too.
//! Tombstones are keyed by (target, origin of the revocation): only one signed
//! by the target's own origin counts, and nobody else's can mask it.

use std::collections::HashMap;

use super::db::Store;
use super::error::StoreError;
use super::keys;
use liaison_core::record::{Body, NodeId, RecordId, VerifiedRecord};

/// Effects staged within one batch, so later records in the batch see them.
/// Keyed maps keep a batch's work linear in its size.
#[derive(Default)]
pub(super) struct Staged {
    /// (target, origin of the revocation) -> revoking record.
    tombstones: HashMap<(RecordId, NodeId), RecordId>,
    /// (record, origin) -> its value-index key.
    indexed: HashMap<(RecordId, NodeId), Vec<u8>>,
}

impl Store {
    /// Index entries and effects of a newly stored record. Returns the id of an
    /// earlier revocation to announce again, when the record it revokes arrives late.
    pub(super) fn stage_effects(
        &self,
        record: &VerifiedRecord,
        batch: &mut sled::Batch,
        staged: &mut Staged,
    ) -> Result<Option<RecordId>, StoreError> {
        let mut announce = None;
        match &record.payload.body {
            Body::Indicator(indicator) => {
                let revoked_by = self.revoked_by(&record.id, &record.origin(), staged)?;
                if revoked_by.is_some() {
                    announce = revoked_by;
                } else {
                    let index = keys::index(indicator.kind, &indicator.value, &record.id);
                    batch.insert(index.clone(), &[][..]);
                    staged.indexed.insert((record.id, record.origin()), index);
                }
                if let Some(earlier) = indicator.supersedes {
                    self.stage_tombstone(earlier, record, batch, staged)?;
                }
            }
            Body::Revocation(revocation) => {
                self.stage_tombstone(revocation.record_id, record, batch, staged)?
            }
            Body::Sighting(sighting) => {
                batch.insert(keys::sighting(&sighting.record_id, &record.id), &[][..])
            }
            Body::Bulletin(_) => {
                // Its expiry is staged with the indicators' (records.rs).
                self.stage_bulletin(&record.id, batch);
            }
        }
        Ok(announce)
    }

    fn stage_tombstone(
        &self,
        target: RecordId,
        by: &VerifiedRecord,
        batch: &mut sled::Batch,
        staged: &mut Staged,
    ) -> Result<(), StoreError> {
        let origin = by.origin();
        batch.insert(keys::tombstone(&target, &origin), &by.id.0[..]);
        staged.tombstones.insert((target, origin), by.id);
        if let Some(index) = staged.indexed.get(&(target, origin)) {
            batch.remove(index.clone());
            return Ok(());
        }
        if let Some(stored) = self.get(&target)? {
            if stored.record.origin() == origin {
                if let Some(indicator) = stored.record.payload.indicator() {
                    batch.remove(keys::index(indicator.kind, &indicator.value, &target));
                }
            }
        }
        Ok(())
    }

    /// The record by which `origin` revoked or superseded `id`, if it did.
    fn revoked_by(
        &self,
        id: &RecordId,
        origin: &NodeId,
        staged: &Staged,
    ) -> Result<Option<RecordId>, StoreError> {
        if let Some(by) = staged.tombstones.get(&(*id, *origin)) {
            return Ok(Some(*by));
        }
        let key = keys::tombstone(id, origin);
        match self.tree().get(&key)? {
            Some(by) => RecordId::from_slice(&by)
                .map(Some)
                .map_err(|_| keys::corrupt(&key, "tombstone is not a record id")),
            None => Ok(None),
        }
    }

    /// The record by which `origin` revoked or superseded its record `id`, if
    /// it did: the change that makes a new version of it for TAXII and MISP.
    pub fn tombstoned_by(
        &self,
        id: &RecordId,
        origin: &NodeId,
    ) -> Result<Option<RecordId>, StoreError> {
        self.revoked_by(id, origin, &Staged::default())
    }

    /// Whether `origin` has revoked or superseded its record `id` (no decoding).
    pub fn is_tombstoned_by(&self, id: &RecordId, origin: &NodeId) -> Result<bool, StoreError> {
        Ok(self.tree().contains_key(keys::tombstone(id, origin))?)
    }

    /// Whether a stored record has been revoked or superseded by its origin.
    pub fn is_tombstoned(&self, id: &RecordId) -> Result<bool, StoreError> {
        match self.get(id)? {
            Some(stored) => Ok(self
                .tree()
                .contains_key(keys::tombstone(id, &stored.record.origin()))?),
            None => Ok(false),
        }
    }

    /// Ids of the sightings recorded against a record.
    pub fn sightings_of(&self, target: &RecordId) -> Result<Vec<RecordId>, StoreError> {
        let prefix = keys::sighting_prefix(target);
        let mut ids = Vec::new();
        for entry in self.tree().scan_prefix(&prefix) {
            let (key, _) = entry?;
            ids.push(keys::trailing_id(&key)?);
        }
        Ok(ids)
    }
}
