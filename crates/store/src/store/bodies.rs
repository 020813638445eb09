//! Record bodies in the value log (store layout 3): the `R` entry of a record
//! holds a [`RecordRef`] (where its body lies, its first change-log position
//! and its receipt time) and the body itself (the envelope exactly as received
//! plus the peer it came from) lies compressed in [`super::vlog`]. A layout 2.1
//! `R` entry (the whole body inline) is still read, so a restored 2.1 snapshot
//! serves before its migration runs.
//!
//! The ordering that makes this as crash-safe as bodies inside sled, decided
//! here once: bodies are appended and the log synced BEFORE the sled batch
//! that points at them is applied (the committer prepares a whole group's
//! bodies with one sync, [`Store::prepare_bodies`]), and every such batch
//! records the log's durable head (`M vlog-head`), which the next open cuts
//! the log back to: whatever lies beyond was never visible. Per-segment live
//! bytes (`Z`) move in the same batches and decide compaction after a purge.
//!
//! This module must never re-encode an envelope (it stores the bytes the
//! record arrived with), never let a pointer into bytes that are not yet
//! durable into sled, and never delete a segment before the batch that moved
//! its last pointer away is flushed.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::db::Store;
use super::error::StoreError;
use super::keys;
use super::records::{encode_body, WriteBatch};
use super::vlog::{self, Head, Pointer, Vlog, VlogError};
use liaison_core::record::{NodeId, RecordId, VerifiedRecord};

/// First byte of a [`RecordRef`]: never the first byte of a protobuf message,
/// so a 2.1 inline body can never be taken for one.
const REF_TAG: u8 = 0xFF;
const REF_LEN: usize = 1 + Pointer::LEN + 8 + 8;
/// Bodies a new store's first dictionary is trained from (at most).
pub(super) const TRAIN_SAMPLES: usize = 2048;

/// What the `R` entry of a layout-3 record holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RecordRef {
    pub pointer: Pointer,
    pub local_seq: u64,
    pub received_ms: i64,
}

impl RecordRef {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(REF_LEN);
        out.push(REF_TAG);
        out.extend_from_slice(&self.pointer.encode());
        out.extend_from_slice(&self.local_seq.to_be_bytes());
        out.extend_from_slice(&self.received_ms.to_be_bytes());
        out
    }

    /// `None` for anything else (a 2.1 inline body).
    pub fn decode(bytes: &[u8]) -> Option<RecordRef> {
        if bytes.len() != REF_LEN || bytes[0] != REF_TAG {
            return None;
        }
        let pointer = Pointer::decode(&bytes[1..1 + Pointer::LEN])?;
        let rest = &bytes[1 + Pointer::LEN..];
        Some(RecordRef {
            pointer,
            local_seq: u64::from_be_bytes(rest[..8].try_into().ok()?),
            received_ms: i64::from_be_bytes(rest[8..].try_into().ok()?),
        })
    }
}

impl From<VlogError> for StoreError {
    fn from(e: VlogError) -> Self {
        match e {
            VlogError::Io { .. } => StoreError::Io(e.to_string()),
            VlogError::Corrupt {
                segment, offset, ..
            } => StoreError::Corrupt {
                key: format!("value-log segment {segment} offset {offset}"),
                reason: e.to_string(),
            },
            VlogError::Dictionary { id, .. } => StoreError::Corrupt {
                key: format!("value-log dictionary {id}"),
                reason: e.to_string(),
            },
        }
    }
}

/// Bodies a committer group appended (and synced) before staging its batches.
#[derive(Default)]
pub(crate) struct Prepared {
    pointers: HashMap<RecordId, Pointer>,
}

/// Changes to segments' live bytes staged by one write.
#[derive(Default)]
pub(super) struct LiveDelta(HashMap<u32, i64>);

impl LiveDelta {
    pub fn add(&mut self, pointer: &Pointer, sign: i64) {
        *self.0.entry(pointer.segment).or_default() += sign * i64::from(pointer.len);
    }
}

#[cfg(test)]
thread_local! {
    /// Small segments for tests of compaction (this thread's opens only).
    pub(super) static SEGMENT_BYTES_FOR_TESTS: std::cell::Cell<Option<u32>> =
        const { std::cell::Cell::new(None) };
}

/// Opens the value log beside sled (`DIR/db/vlog`) at the head the index
/// recorded, and retires closed segments no pointer refers to (a compaction
/// killed before it deleted them).
pub(super) fn open_vlog(
    path: &Path,
    main: &sled::Tree,
    segment_bytes: u32,
) -> Result<Vlog, StoreError> {
    let head_key = keys::meta(keys::META_VLOG_HEAD);
    let head = match main.get(&head_key)? {
        Some(bytes) => {
            Some(Head::decode(&bytes).ok_or_else(|| keys::corrupt(&head_key, "not a log head"))?)
        }
        // No head: nothing was ever made visible, and opening cuts every
        // segment. Pointers without a head would be lost that way: refused.
        None if main.scan_prefix([keys::SEGMENT_LIVE]).next().is_some() => {
            return Err(keys::corrupt(
                &head_key,
                "the value log's head is missing while records point into it",
            ))
        }
        None => None,
    };
    #[cfg(test)]
    let segment_bytes = SEGMENT_BYTES_FOR_TESTS
        .with(|b| b.get())
        .unwrap_or(segment_bytes);
    let options = vlog::Options {
        max_segment_bytes: segment_bytes,
        ..Default::default()
    };
    let (log, cut) = Vlog::open(&path.join("vlog"), head, options)?;
    if cut > 0 {
        tracing::warn!(bytes = cut, "cut the value log back to its last visible entry (a write was interrupted before it was acknowledged)");
    }
    let durable = log.durable_head();
    for (segment, _) in log.segment_sizes()? {
        if segment < durable.segment && !main.contains_key(keys::segment_live(segment))? {
            log.retire(segment)?;
        }
    }
    Ok(log)
}

impl Store {
    pub(super) fn vlog(&self) -> &Vlog {
        &self.inner.vlog
    }

    /// Appends the bodies of every record a group of writes may store (not yet
    /// held, first of its id in the group) with one sync, before any of the
    /// group's batches is applied.
    pub(crate) fn prepare_bodies(&self, batches: &[&WriteBatch]) -> Result<Prepared, StoreError> {
        let mut ids = Vec::new();
        let mut bodies = Vec::new();
        let mut seen = HashSet::new();
        for batch in batches {
            for record in &batch.records {
                if seen.insert(record.id) && !self.holds(&record.id)? {
                    ids.push(record.id);
                    bodies.push(encode_body(record, batch.received_from, batch.received_ms));
                }
            }
        }
        let pointers = self.append_bodies(&bodies)?;
        Ok(Prepared {
            pointers: ids.into_iter().zip(pointers).collect(),
        })
    }

    /// Appends and syncs bodies; a store without a dictionary trains one
    /// first from them when there are enough.
    pub(super) fn append_bodies(&self, bodies: &[Vec<u8>]) -> Result<Vec<Pointer>, StoreError> {
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let refs: Vec<&[u8]> = bodies.iter().map(Vec::as_slice).collect();
        if !self.vlog().has_dictionary() {
            let samples = &refs[..refs.len().min(TRAIN_SAMPLES)];
            let mut trained = self.vlog().train_dictionary(samples)?;
            // A store written a record at a time (publishing) never sees a
            // batch large enough: once it holds enough, it learns from them.
            if trained.is_none()
                && self.record_count() >= TRAIN_SAMPLES as u64
                && self.vlog().claim_training_from_store()
            {
                let stored = self.stored_bodies(TRAIN_SAMPLES)?;
                let samples: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
                trained = self.vlog().train_dictionary(&samples)?;
            }
            if let Some(id) = trained {
                tracing::info!(
                    dictionary = id,
                    "trained the value log's compression dictionary"
                );
            }
        }
        let pointers = self.vlog().append(&refs)?;
        self.vlog().sync()?;
        Ok(pointers)
    }

    /// Up to `n` stored bodies (those that read back), in id order.
    fn stored_bodies(&self, n: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut bodies = Vec::with_capacity(n);
        for entry in self.tree().scan_prefix([keys::RECORD]) {
            let (_, value) = entry?;
            if let Some(found) = RecordRef::decode(&value) {
                if let Ok(body) = self.vlog().read(found.pointer) {
                    bodies.push(body);
                }
            }
            if bodies.len() == n {
                break;
            }
        }
        Ok(bodies)
    }

    /// Stages the `R` entries of records a batch stores (each with its first
    /// change-log position), their live bytes and the log's durable head.
    /// Bodies the group did not prepare are appended and synced here.
    pub(super) fn stage_bodies(
        &self,
        placed: &[(&VerifiedRecord, u64)],
        received_from: Option<NodeId>,
        received_ms: i64,
        prepared: &Prepared,
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        if placed.is_empty() {
            return Ok(());
        }
        let missing: Vec<&VerifiedRecord> = placed
            .iter()
            .map(|(r, _)| *r)
            .filter(|r| !prepared.pointers.contains_key(&r.id))
            .collect();
        let bodies: Vec<Vec<u8>> = missing
            .iter()
            .map(|r| encode_body(r, received_from, received_ms))
            .collect();
        let appended: HashMap<RecordId, Pointer> = missing
            .iter()
            .map(|r| r.id)
            .zip(self.append_bodies(&bodies)?)
            .collect();
        let mut live = LiveDelta::default();
        for (record, local_seq) in placed {
            let pointer = prepared
                .pointers
                .get(&record.id)
                .or_else(|| appended.get(&record.id))
                .copied()
                .ok_or_else(|| StoreError::Io("a record's body was not written".into()))?;
            live.add(&pointer, 1);
            let entry = RecordRef {
                pointer,
                local_seq: *local_seq,
                received_ms,
            };
            batch.insert(keys::record(&record.id), entry.encode());
        }
        self.stage_live(&live, batch)?;
        self.stage_head(batch);
        Ok(())
    }

    /// Records the log's durable head in `batch` (every pointer any batch
    /// holds lies before it).
    pub(super) fn stage_head(&self, batch: &mut sled::Batch) {
        let head = self.vlog().durable_head();
        batch.insert(keys::meta(keys::META_VLOG_HEAD), &head.encode()[..]);
    }

    /// Adds the segments' new live bytes to `batch` (committer only).
    pub(super) fn stage_live(
        &self,
        delta: &LiveDelta,
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        for (segment, change) in &delta.0 {
            let key = keys::segment_live(*segment);
            let now = keys::read_u64(self.tree(), &key)?;
            match now.saturating_add_signed(*change) {
                0 => batch.remove(key),
                n => batch.insert(key, &n.to_be_bytes()[..]),
            }
        }
        Ok(())
    }

    /// A stored `R` value's body bytes and, for layout 3, its local facts.
    /// A pointer moved by a compaction while it was followed is followed again.
    pub(super) fn body_of(
        &self,
        id: &RecordId,
        value: sled::IVec,
    ) -> Result<(Vec<u8>, Option<RecordRef>), StoreError> {
        let Some(entry) = RecordRef::decode(&value) else {
            return Ok((value.to_vec(), None));
        };
        match self.vlog().read(entry.pointer) {
            Ok(body) => Ok((body, Some(entry))),
            Err(first) => {
                let again = self
                    .tree()
                    .get(keys::record(id))?
                    .and_then(|v| RecordRef::decode(&v));
                match again {
                    Some(moved) if moved != entry => {
                        Ok((self.vlog().read(moved.pointer)?, Some(moved)))
                    }
                    _ => Err(first.into()),
                }
            }
        }
    }

    /// Stages the live-byte change of removing a record's `R` entry.
    pub(super) fn unlink_body(
        &self,
        id: &RecordId,
        live: &mut LiveDelta,
    ) -> Result<(), StoreError> {
        if let Some(entry) = self
            .tree()
            .get(keys::record(id))?
            .and_then(|v| RecordRef::decode(&v))
        {
            live.add(&entry.pointer, -1);
        }
        Ok(())
    }

    /// Bytes of the value log on disk (segments and dictionaries).
    pub(super) fn vlog_bytes(&self) -> Result<u64, StoreError> {
        Ok(self.vlog().disk_bytes()?)
    }
}
