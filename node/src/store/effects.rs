//! What storing a record does to other records: a revocation or a superseding
//! version tombstones its target (the target leaves the value index and is kept
//! only as a tombstone), a sighting is indexed under the record it sighted, and
//! retention purges records past their valid-until.
//!
//! A tombstone may arrive before its target (relays reorder); it is kept, and the
//! target is never indexed when it comes. Only the target's own origin can
//! tombstone it: a tombstone naming another origin is ignored.

use super::keys;
use super::{Store, StoreError};
use crate::record::{Body, NodeId, RecordId, VerifiedRecord};

/// Effects staged within one batch, so later records in the batch see them.
#[derive(Default)]
pub(super) struct Staged {
    tombstones: Vec<(RecordId, NodeId)>,
    indexed: Vec<(RecordId, NodeId, Vec<u8>, Vec<u8>)>,
}

impl Store {
    /// Index entries and effects of a newly stored record.
    pub(super) fn stage_effects(
        &self,
        record: &VerifiedRecord,
        batch: &mut sled::Batch,
        staged: &mut Staged,
    ) -> Result<(), StoreError> {
        match &record.payload.body {
            Body::Indicator(indicator) => {
                if !self.is_tombstoned_for(&record.id, &record.origin(), staged)? {
                    let index = keys::index(indicator.kind, &indicator.value, &record.id);
                    let expiry = keys::expiry(indicator.valid_until_ms, &record.id);
                    batch.insert(index.clone(), &[][..]);
                    batch.insert(expiry.clone(), &[][..]);
                    staged
                        .indexed
                        .push((record.id, record.origin(), index, expiry));
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
        }
        Ok(())
    }

    fn stage_tombstone(
        &self,
        target: RecordId,
        by: &VerifiedRecord,
        batch: &mut sled::Batch,
        staged: &mut Staged,
    ) -> Result<(), StoreError> {
        let origin = by.origin();
        batch.insert(
            keys::tombstone(&target),
            [origin.0.as_slice(), &by.id.0].concat(),
        );
        staged.tombstones.push((target, origin));
        if let Some((_, _, index, expiry)) = staged
            .indexed
            .iter()
            .find(|(id, o, _, _)| *id == target && *o == origin)
        {
            batch.remove(index.clone());
            batch.remove(expiry.clone());
            return Ok(());
        }
        if let Some(stored) = self.get(&target)? {
            if stored.record.origin() == origin {
                if let Some(indicator) = stored.record.payload.indicator() {
                    batch.remove(keys::index(indicator.kind, &indicator.value, &target));
                    batch.remove(keys::expiry(indicator.valid_until_ms, &target));
                }
            }
        }
        Ok(())
    }

    fn is_tombstoned_for(
        &self,
        id: &RecordId,
        origin: &NodeId,
        staged: &Staged,
    ) -> Result<bool, StoreError> {
        if staged
            .tombstones
            .iter()
            .any(|(t, o)| t == id && o == origin)
        {
            return Ok(true);
        }
        Ok(self.tombstone_origin(id)? == Some(*origin))
    }

    fn tombstone_origin(&self, id: &RecordId) -> Result<Option<NodeId>, StoreError> {
        let key = keys::tombstone(id);
        match self.tree().get(&key)? {
            Some(value) if value.len() == 64 => Ok(NodeId::from_slice(&value[..32]).ok()),
            Some(_) => Err(keys::corrupt(&key, "tombstone is not 64 bytes")),
            None => Ok(None),
        }
    }

    /// Whether a record has been revoked or superseded by its origin.
    pub fn is_tombstoned(&self, id: &RecordId) -> Result<bool, StoreError> {
        match self.tombstone_origin(id)? {
            Some(origin) => Ok(self
                .get(id)?
                .is_none_or(|stored| stored.record.origin() == origin)),
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

    /// Removes, in one batch, records whose valid-until is before `now_ms`: the
    /// record, its index and expiry entries, and the sightings indexed under it.
    /// Only the committer calls this. Returns the purged ids.
    pub(crate) fn purge_expired(&self, now_ms: i64) -> Result<Vec<RecordId>, StoreError> {
        let mut batch = sled::Batch::default();
        let mut purged = Vec::new();
        let start = [keys::EXPIRY];
        for entry in self
            .tree()
            .range(start.to_vec()..keys::expiry_until(now_ms))
        {
            let (key, _) = entry?;
            let id = keys::trailing_id(&key)?;
            batch.remove(key);
            if let Some(stored) = self.get(&id)? {
                if let Some(indicator) = stored.record.payload.indicator() {
                    batch.remove(keys::index(indicator.kind, &indicator.value, &id));
                }
            }
            batch.remove(keys::record(&id));
            for sighting in self.sightings_of(&id)? {
                batch.remove(keys::sighting(&id, &sighting));
            }
            purged.push(id);
        }
        if purged.is_empty() {
            return Ok(purged);
        }
        let count = self.record_count().saturating_sub(purged.len() as u64);
        batch.insert(keys::meta(keys::META_RECORDS), &count.to_be_bytes()[..]);
        self.tree().apply_batch(batch)?;
        self.set_record_count(count);
        Ok(purged)
    }
}
