//! Retention: when each indicator leaves the store, and the purge that removes it.
//!
//! Expiries are kept in groups, one key per batch (in chunks):
//! `E + earliest expiry + group id → (expiry, record id)…`, so storing a
//! thousand records writes a few expiry keys, not a thousand. Because a group's
//! key carries its earliest expiry, a range scan up to "now" finds every group
//! holding an expired record; the purge removes those records and writes the
//! rest of the group back under its new earliest expiry. Databases written
//! before groups (`liaison-store-v1`) hold one `E + expiry + record id` key with
//! an empty value per record; the purge reads both, so nothing is rewritten at
//! open. The group id is the change-log sequence of the group's first record,
//! unique for the life of the database.
//!
//! This module must never remove a record before its effective expiry, nor
//! leave a purged record's index, public-id or sighting entries behind.

use super::db::Store;
use super::error::StoreError;
use super::keys;
use liaison_core::record::RecordId;

/// Most records in one expiry group.
const MAX_GROUP: usize = 128;
/// Bytes of one group entry: expiry (i64 big-endian) and record id.
const ENTRY: usize = 8 + 32;

/// An expiry group key: earliest expiry, group id.
fn group_key(earliest_ms: i64, group: u64) -> Vec<u8> {
    let ms = u64::try_from(earliest_ms.max(0)).unwrap_or(0);
    [&[keys::EXPIRY][..], &ms.to_be_bytes(), &group.to_be_bytes()].concat()
}

/// Expiries of the records a batch stores, staged together.
#[derive(Default)]
pub(super) struct Expiries {
    /// (change sequence of the record, effective expiry, record id).
    entries: Vec<(u64, i64, RecordId)>,
}

impl Expiries {
    pub(super) fn add(&mut self, seq: u64, expires_ms: i64, id: RecordId) {
        self.entries.push((seq, expires_ms, id));
    }

    /// Stages one group key per chunk, named after its first record's sequence.
    pub(super) fn stage(&self, batch: &mut sled::Batch) {
        for chunk in self.entries.chunks(MAX_GROUP) {
            let entries: Vec<(i64, RecordId)> = chunk.iter().map(|&(_, t, id)| (t, id)).collect();
            if let Some((earliest, value)) = encode(&entries) {
                batch.insert(group_key(earliest, chunk[0].0), value);
            }
        }
    }
}

/// The earliest expiry of a group and its stored value (None when empty).
fn encode(entries: &[(i64, RecordId)]) -> Option<(i64, Vec<u8>)> {
    let earliest = entries.iter().map(|(t, _)| *t).min()?;
    let mut value = Vec::with_capacity(entries.len() * ENTRY);
    for (t, id) in entries {
        value.extend_from_slice(&t.to_be_bytes());
        value.extend_from_slice(&id.0);
    }
    Some((earliest, value))
}

fn decode(key: &[u8], value: &[u8]) -> Result<Vec<(i64, RecordId)>, StoreError> {
    if value.is_empty() || !value.len().is_multiple_of(ENTRY) {
        return Err(keys::corrupt(key, "expiry group is not a list of entries"));
    }
    value
        .chunks(ENTRY)
        .map(|entry| {
            let (ms, id) = entry.split_at(8);
            let ms = i64::from_be_bytes(ms.try_into().unwrap_or_default());
            let id = RecordId::from_slice(id).map_err(|_| keys::corrupt(key, "bad record id"))?;
            Ok((ms, id))
        })
        .collect()
}

/// The group id in a group key (after the keyspace byte and the expiry).
fn group_id(key: &[u8]) -> Result<u64, StoreError> {
    keys::decode_u64(key, &key[9..])
}

impl Store {
    /// Removes, in one batch, records whose effective expiry is before `now_ms`:
    /// the record, its index, expiry and public-id entries, and the sightings
    /// indexed under it. Only the committer calls this. Returns the purged ids.
    pub(crate) fn purge_expired(&self, now_ms: i64) -> Result<Vec<RecordId>, StoreError> {
        let mut batch = sled::Batch::default();
        let mut purged = Vec::new();
        let mut held = super::held::HeldDelta::default();
        let start = [keys::EXPIRY];
        for entry in self
            .tree()
            .range(start.to_vec()..keys::expiry_until(now_ms))
        {
            let (key, value) = entry?;
            batch.remove(key.clone());
            if key.len() == 1 + 8 + 32 {
                // One record (the layout before groups).
                purged.push(keys::trailing_id(&key)?);
                continue;
            }
            let entries = decode(&key, &value)?;
            // The same test as the key range: expiries clamp at 0.
            let (gone, kept): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|(t, _)| (*t).max(0) < now_ms.max(0));
            purged.extend(gone.into_iter().map(|(_, id)| id));
            if let Some((earliest, value)) = encode(&kept) {
                batch.insert(group_key(earliest, group_id(&key)?), value);
            }
        }
        if purged.is_empty() {
            // A compaction a kill interrupted (its purge durable, its pointer
            // move not) is redone here; with no candidate this reads a
            // directory listing and a few `Z` keys.
            self.compact_bodies()?;
            return Ok(purged);
        }
        let mut live = super::bodies::LiveDelta::default();
        for id in &purged {
            self.unlink_body(id, &mut live)?;
            self.stage_removal(id, &mut batch, &mut held)?;
        }
        self.stage_live(&live, &mut batch)?;
        let count = self.record_count().saturating_sub(purged.len() as u64);
        batch.insert(keys::meta(keys::META_RECORDS), &count.to_be_bytes()[..]);
        self.stage_held(&held, &mut batch)?;
        self.apply_gated(batch)?;
        self.set_record_count(count);
        // The purge is durable before any segment it emptied is deleted.
        self.compact_bodies()?;
        Ok(purged)
    }

    /// Stages the removal of a purged record and everything derived from it:
    /// its indexes, sightings, bulletin side tables and its origin's held count.
    fn stage_removal(
        &self,
        id: &RecordId,
        batch: &mut sled::Batch,
        held: &mut super::held::HeldDelta,
    ) -> Result<(), StoreError> {
        if let Some(stored) = self.get(id)? {
            if let Some(indicator) = stored.record.payload.indicator() {
                batch.remove(keys::index(indicator.kind, &indicator.value, id));
            }
            held.add(stored.record.origin(), -1);
        }
        batch.remove(keys::record(id));
        batch.remove(keys::public_id(&super::public_ids::public_uuid(id)));
        batch.remove(keys::relogged(id));
        for sighting in self.sightings_of(id)? {
            batch.remove(keys::sighting(id, &sighting));
        }
        self.stage_bulletin_purge(id, batch)?;
        Ok(())
    }
}
