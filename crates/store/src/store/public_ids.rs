//! The public-id index: a record's public UUID (the UUIDv5 its STIX and MISP
//! exports carry, [`liaison_core::formats::record_uuid`]) → its record id, so a TAXII
//! `objects/{id}` or a MISP attribute uuid is found in O(log N). A UUIDv5 cannot
//! be inverted, hence the index. Written with the record in the same batch,
//! removed with it by the purge; databases from before the index get it built
//! once at open. Must never be the only place a record is known: it is derived.

use super::db::Store;
use super::error::StoreError;
use super::keys;
use liaison_core::record::RecordId;

/// The public UUID of a record, as the file formats write it.
pub(super) fn public_uuid(id: &RecordId) -> [u8; 16] {
    *liaison_core::formats::record_uuid(id).as_bytes()
}

impl Store {
    /// The record whose public UUID this is, if it is stored.
    pub fn record_for_public_id(&self, uuid: &[u8; 16]) -> Result<Option<RecordId>, StoreError> {
        let key = keys::public_id(uuid);
        match self.tree().get(&key)? {
            Some(id) => RecordId::from_slice(&id)
                .map(Some)
                .map_err(|_| keys::corrupt(&key, "public id entry is not a record id")),
            None => Ok(None),
        }
    }

    /// Builds the index for records stored before it existed (once; keys only,
    /// no record is decoded).
    pub(super) fn backfill_public_ids(&self) -> Result<(), StoreError> {
        let done = keys::meta(keys::META_PUBLIC_IDS);
        if self.tree().contains_key(&done)? {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        for entry in self.tree().scan_prefix([keys::RECORD]) {
            let (key, _) = entry?;
            let id = keys::trailing_id(&key)?;
            batch.insert(keys::public_id(&public_uuid(&id)), &id.0[..]);
        }
        batch.insert(done, &[1u8][..]);
        self.tree().apply_batch(batch)?;
        Ok(())
    }
}
