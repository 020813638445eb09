//! Bulletins' local side tables (issue 15): which stored records are bulletins,
//! the member openings this node holds for each (unsigned: the signed body only
//! carries commitments), and an index member record id -> bulletin ids.
//!
//! Openings are written in the same sled batch as the records they arrive
//! with, so a bulletin and what this node knows of its members land together.
//! This module must never check an opening against its commitment: callers
//! (liaison_core::bulletin, the sync verifier) hand over only verified ones.

use super::db::Store;
use super::error::StoreError;
use super::keys::{self, corrupt};
use liaison_core::bulletin::Opening;
use liaison_core::record::RecordId;

const OPENING_BYTES: usize = 32 + 16;

impl Store {
    /// Stages the marker of a newly stored bulletin.
    pub(super) fn stage_bulletin(&self, id: &RecordId, batch: &mut sled::Batch) {
        batch.insert(keys::bulletin(id), &[][..]);
    }

    /// Stages verified openings of one bulletin and their member index entries.
    pub(super) fn stage_openings(
        &self,
        bulletin_id: &RecordId,
        openings: &[Opening],
        batch: &mut sled::Batch,
    ) {
        for opening in openings {
            let value = [&opening.record_id.0[..], &opening.salt[..]].concat();
            batch.insert(keys::opening(bulletin_id, opening.position), value);
            batch.insert(keys::member_of(&opening.record_id, bulletin_id), &[][..]);
        }
    }

    /// Stages the removal of a purged record's bulletin entries: its own (when
    /// it is a bulletin) and its membership entries (when it is a member).
    pub(super) fn stage_bulletin_purge(
        &self,
        id: &RecordId,
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        for opening in self.openings(id)? {
            batch.remove(keys::member_of(&opening.record_id, id));
            batch.remove(keys::opening(id, opening.position));
        }
        batch.remove(keys::bulletin(id));
        for entry in self.tree().scan_prefix(keys::member_of_prefix(id)) {
            let (key, _) = entry?;
            batch.remove(key);
        }
        Ok(())
    }

    /// The ids of every stored bulletin.
    pub fn bulletin_ids(&self) -> Result<Vec<RecordId>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.tree().scan_prefix([keys::BULLETIN]) {
            let (key, _) = entry?;
            if key.len() == 33 {
                ids.push(keys::trailing_id(&key)?);
            }
        }
        Ok(ids)
    }

    /// The openings this node holds for a bulletin, by position.
    pub fn openings(&self, bulletin_id: &RecordId) -> Result<Vec<Opening>, StoreError> {
        let prefix = keys::bulletin(bulletin_id);
        let mut openings = Vec::new();
        for entry in self.tree().scan_prefix(&prefix) {
            let (key, value) = entry?;
            if key.len() != prefix.len() + 4 {
                continue;
            }
            openings.push(decode_opening(&key, &key[prefix.len()..], &value)?);
        }
        Ok(openings)
    }

    /// The bulletins (as far as this node knows) that group a record.
    pub fn bulletins_of(&self, member: &RecordId) -> Result<Vec<RecordId>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.tree().scan_prefix(keys::member_of_prefix(member)) {
            let (key, _) = entry?;
            ids.push(keys::trailing_id(&key)?);
        }
        Ok(ids)
    }
}

fn decode_opening(key: &[u8], position: &[u8], value: &[u8]) -> Result<Opening, StoreError> {
    let position: [u8; 4] = position
        .try_into()
        .map_err(|_| corrupt(key, "bad opening position"))?;
    if value.len() != OPENING_BYTES {
        return Err(corrupt(key, "an opening is a record id and a 16-byte salt"));
    }
    let record_id =
        RecordId::from_slice(&value[..32]).map_err(|_| corrupt(key, "bad record id"))?;
    let salt: [u8; 16] = value[32..]
        .try_into()
        .map_err(|_| corrupt(key, "bad salt"))?;
    Ok(Opening {
        position: u32::from_be_bytes(position),
        record_id,
        salt,
    })
}

impl Store {
    /// Up to `limit` stored record ids whose hex form starts with `hex_prefix`
    /// (lower-case hex digits, checked by the caller).
    pub fn records_with_prefix(
        &self,
        hex_prefix: &str,
        limit: usize,
    ) -> Result<Vec<RecordId>, StoreError> {
        // Whole bytes narrow the scan; an odd last digit is compared as text.
        let whole = &hex_prefix[..hex_prefix.len() & !1];
        let bytes = hex::decode(whole).map_err(|e| StoreError::Io(e.to_string()))?;
        let prefix = [&[keys::RECORD][..], &bytes].concat();
        let mut ids = Vec::new();
        for entry in self.tree().scan_prefix(&prefix) {
            let (key, _) = entry?;
            let id = keys::trailing_id(&key)?;
            if key.len() == 33 && id.to_hex().starts_with(hex_prefix) {
                ids.push(id);
                if ids.len() >= limit {
                    break;
                }
            }
        }
        Ok(ids)
    }
}
