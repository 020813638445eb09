//! Records, their value index, the per-origin sequence and the local change log.

use std::collections::{HashMap, HashSet};

use prost::Message;

use super::db::Store;
use super::error::StoreError;
use super::keys::{self, corrupt};
use super::partners::SyncState;
use liaison_core::indicator::Kind;
use liaison_core::proto;
use liaison_core::record::{Body, Envelope, NodeId, RecordId, VerifiedRecord};

/// How a record is kept: the envelope exactly as received, plus local facts.
#[derive(Clone, PartialEq, prost::Message)]
struct StoredWire {
    #[prost(message, optional, tag = "1")]
    envelope: Option<proto::Envelope>,
    /// Peer we received it from; empty for our own records.
    #[prost(bytes = "vec", tag = "2")]
    received_from: Vec<u8>,
    #[prost(uint64, tag = "3")]
    local_seq: u64,
    #[prost(int64, tag = "4")]
    received_ms: i64,
}

/// A record read back from the store.
#[derive(Clone, Debug)]
pub struct StoredRecord {
    pub record: VerifiedRecord,
    pub received_from: Option<NodeId>,
    pub local_seq: u64,
    pub received_ms: i64,
}

/// Records to store atomically, with an optional peer sync state (cursor and
/// counters) that moves in the same write. The state's `received` is increased
/// by the number of records newly stored.
#[derive(Default)]
pub struct WriteBatch {
    pub records: Vec<VerifiedRecord>,
    pub received_from: Option<NodeId>,
    pub received_ms: i64,
    pub sync_state: Option<(NodeId, SyncState)>,
    /// Changes to the peer's pending set, made with its sync state (needs one).
    pub pending: super::pending::PendingUpdate,
    /// Verified bulletin member openings (issue 15), by bulletin id: each
    /// bulletin is in `records` or already stored.
    pub openings: Vec<(RecordId, Vec<liaison_core::bulletin::Opening>)>,
}

#[derive(Debug, Default, Clone)]
pub struct BatchOutcome {
    /// Ids newly stored, in change-log order.
    pub stored: Vec<RecordId>,
    /// Records already present (same id), skipped.
    pub duplicates: usize,
    /// The highest local change sequence after this batch.
    pub last_change: u64,
    /// The peer sync state as written, when the batch carried one.
    pub sync_state: Option<SyncState>,
}

impl Store {
    /// Stages a batch atomically (not yet durable: the committer flushes).
    /// `next_change` is the first free change-log sequence; only the committer
    /// (or a bench that owns the store alone) calls this, so reads here cannot
    /// race another writer.
    pub fn apply(&self, batch: &WriteBatch, next_change: u64) -> Result<BatchOutcome, StoreError> {
        self.apply_prepared(batch, next_change, &super::bodies::Prepared::default())
    }

    /// [`Store::apply`] with bodies the committer's group already appended
    /// and synced (store/bodies.rs); others are appended and synced here.
    pub(crate) fn apply_prepared(
        &self,
        batch: &WriteBatch,
        next_change: u64,
        prepared: &super::bodies::Prepared,
    ) -> Result<BatchOutcome, StoreError> {
        let tree = self.tree();
        let mut placed: Vec<(&VerifiedRecord, u64)> = Vec::with_capacity(batch.records.len());
        let mut sled_batch = sled::Batch::default();
        let mut outcome = BatchOutcome {
            last_change: next_change.saturating_sub(1),
            ..Default::default()
        };
        // Sets and maps keyed by id keep a batch's work linear in its size.
        let mut origin_max: HashMap<NodeId, u64> = HashMap::new();
        let mut seen: HashSet<RecordId> = HashSet::with_capacity(batch.records.len());
        let mut staged = super::effects::Staged::default();
        let mut held = super::held::HeldDelta::default();
        // Change-log entries from `next_change` on, and expiries: written as a
        // few run and group keys after the loop, not one key per record.
        let mut log: Vec<RecordId> = Vec::with_capacity(batch.records.len());
        let mut expiries = super::expiry::Expiries::default();
        for record in &batch.records {
            let key = keys::record(&record.id);
            if seen.contains(&record.id) || tree.contains_key(&key)? {
                outcome.duplicates += 1;
                continue;
            }
            if let Some(target) = self.endorsed_foreign(record, batch)? {
                // Our own "seen" sighting of a partner's record: serve that record
                // again just before it, so that one held from relay until endorsed
                // (a platform's, crate::platform) reaches partners whose cursor
                // passed it; receivers that hold it skip it as a duplicate.
                outcome.last_change += 1;
                log.push(target);
                let at = outcome.last_change;
                super::changelog::stage_relogged(&mut sled_batch, &target, at, batch.received_ms);
            }
            let seq = outcome.last_change + 1;
            placed.push((record, seq));
            log.push(record.id);
            sled_batch.insert(
                keys::public_id(&super::public_ids::public_uuid(&record.id)),
                &record.id.0[..],
            );
            outcome.last_change = seq;
            if let Some(valid_until_ms) = expiring_valid_until(record) {
                // Revoked or not, the record leaves at its valid-until, or
                // earlier at the local maximum retention (the bytes stay as signed).
                let expires = self.effective_expiry(valid_until_ms, batch.received_ms);
                expiries.add(seq, expires, record.id);
            }
            if let Some(revocation) = self.stage_effects(record, &mut sled_batch, &mut staged)? {
                // The revocation came first; serve it again after its record.
                outcome.last_change += 1;
                log.push(revocation);
                let at = outcome.last_change;
                super::changelog::stage_relogged(
                    &mut sled_batch,
                    &revocation,
                    at,
                    batch.received_ms,
                );
            }
            let max = origin_max.entry(record.origin()).or_default();
            *max = (*max).max(record.payload.sequence);
            seen.insert(record.id);
            held.add(record.origin(), 1);
            outcome.stored.push(record.id);
        }
        for (bulletin_id, openings) in &batch.openings {
            self.stage_openings(bulletin_id, openings, &mut sled_batch);
        }
        self.stage_held(&held, &mut sled_batch)?;
        self.stage_bodies(
            &placed,
            batch.received_from,
            batch.received_ms,
            prepared,
            &mut sled_batch,
        )?;
        debug_assert_eq!(next_change + log.len() as u64, outcome.last_change + 1);
        super::changelog::stage(&mut sled_batch, next_change, &log);
        expiries.stage(&mut sled_batch);
        for (origin, seq) in origin_max {
            let key = keys::origin(&origin);
            if seq > keys::read_u64(tree, &key)? {
                sled_batch.insert(key, &seq.to_be_bytes()[..]);
            }
        }
        let count = self.record_count() + outcome.stored.len() as u64;
        sled_batch.insert(keys::meta(keys::META_RECORDS), &count.to_be_bytes()[..]);
        if let Some((peer, state)) = &batch.sync_state {
            // Counted here, where duplicates are known, so a re-sent record is not counted twice.
            let mut state = state.clone();
            state.received += outcome.stored.len() as u64;
            let cap = super::pending::MAX_PENDING_PER_PARTNER;
            self.stage_pending(peer, &mut state, &batch.pending, cap, &mut sled_batch)?;
            sled_batch.insert(keys::sync_state(peer), state.to_bytes());
            outcome.sync_state = Some(state);
        }
        self.apply_gated(sled_batch)?;
        self.add_records(outcome.stored.len() as u64);
        Ok(outcome)
    }

    /// A stored record. One that no longer reads back (corrupt bytes, or rules
    /// tightened since it was stored) is reported as absent, logged once and
    /// counted (see [`Store::unreadable`]): it must never stop the node from
    /// serving every other record, nor a partner's sync at its cursor.
    pub fn get(&self, id: &RecordId) -> Result<Option<StoredRecord>, StoreError> {
        let key = keys::record(id);
        match self.tree().get(&key)? {
            Some(bytes) => match self
                .body_of(id, bytes)
                .and_then(|(body, entry)| decode_stored(&key, &body, entry))
            {
                Ok(stored) => Ok(Some(stored)),
                Err(StoreError::Corrupt { reason, .. }) => {
                    self.note_unreadable(id, reason);
                    Ok(None)
                }
                Err(e) => Err(e),
            },
            None => Ok(None),
        }
    }

    /// The signer of a stored record, which is its origin (a record whose
    /// payload names another origin never decodes, [`Store::get`]), read from
    /// the envelope alone: no payload decode or field checks, for a scan that
    /// only sorts records by origin (the log heads' scan of every change).
    /// `None` when absent or unreadable, as for [`Store::get`].
    pub fn signer_of(&self, id: &RecordId) -> Result<Option<NodeId>, StoreError> {
        let Some(bytes) = self.tree().get(keys::record(id))? else {
            return Ok(None);
        };
        let signer = match self.body_of(id, bytes) {
            Ok((body, _)) => StoredWire::decode(&body[..])
                .ok()
                .and_then(|wire| wire.envelope)
                .and_then(|envelope| NodeId::from_slice(&envelope.signer).ok()),
            Err(StoreError::Corrupt { .. }) => None,
            Err(e) => return Err(e),
        };
        match signer {
            Some(signer) => Ok(Some(signer)),
            // Unreadable: `get` logs and counts it, and answers absent.
            None => Ok(self.get(id)?.map(|stored| stored.record.origin())),
        }
    }

    /// Ids of the records indexed under exactly this (kind, normalised value).
    pub fn lookup(&self, kind: Kind, value: &str) -> Result<Vec<RecordId>, StoreError> {
        let prefix = keys::index_prefix(kind, value);
        let mut ids = Vec::new();
        for entry in self.tree().scan_prefix(&prefix) {
            let (key, _) = entry?;
            if key.len() == prefix.len() + 32 {
                ids.push(keys::trailing_id(&key)?);
            }
        }
        Ok(ids)
    }

    /// The records of kind `network` whose range contains the address `ip` (a
    /// canonical `ip` value): one point lookup in the value index per prefix
    /// length (`indicator::networks_containing`, at most 25 for IPv4 and 113
    /// for IPv6), never a scan of the ranges.
    pub fn lookup_ranges_containing(&self, ip: &str) -> Result<Vec<RecordId>, StoreError> {
        let mut ids = Vec::new();
        for network in liaison_core::indicator::networks_containing(ip) {
            ids.extend(self.lookup(Kind::Network, &network)?);
        }
        Ok(ids)
    }

    /// Whether a record is stored (no decoding: cheap enough to ask before
    /// verifying a received record's signature).
    pub fn holds(&self, id: &RecordId) -> Result<bool, StoreError> {
        Ok(self.tree().contains_key(keys::record(id))?)
    }

    /// A stored record's first change-log position and receipt time, decoding
    /// only the local facts (`None`: absent or unreadable, as for [`Store::get`]).
    pub(super) fn first_logged(&self, id: &RecordId) -> Result<Option<(u64, i64)>, StoreError> {
        let Some(bytes) = self.tree().get(keys::record(id))? else {
            return Ok(None);
        };
        if let Some(entry) = super::bodies::RecordRef::decode(&bytes) {
            return Ok(Some((entry.local_seq, entry.received_ms)));
        }
        Ok(StoredWire::decode(&bytes[..])
            .ok()
            .map(|wire| (wire.local_seq, wire.received_ms)))
    }

    /// The highest sequence stored from an origin (0 if none).
    pub fn origin_sequence(&self, origin: &NodeId) -> Result<u64, StoreError> {
        keys::read_u64(self.tree(), &keys::origin(origin))
    }
}

/// A record's body as the value log keeps it: the envelope exactly as
/// received and the peer it came from (its change-log position and receipt
/// time live in its `R` entry, store/bodies.rs).
pub(super) fn encode_body(
    record: &VerifiedRecord,
    received_from: Option<NodeId>,
    received_ms: i64,
) -> Vec<u8> {
    StoredWire {
        envelope: Some(record.envelope.to_wire()),
        received_from: received_from.map(|n| n.0.to_vec()).unwrap_or_default(),
        local_seq: 0,
        received_ms,
    }
    .encode_to_vec()
}

/// The local facts of a 2.1 inline body: first change-log position and
/// receipt time (`None`: it does not decode).
pub(super) fn inline_facts(bytes: &[u8]) -> Option<(u64, i64)> {
    let wire = StoredWire::decode(bytes).ok()?;
    Some((wire.local_seq, wire.received_ms))
}

/// A layout-3 body as a 2.1 inline one (its facts put back), for snapshots.
pub(super) fn inline_body(body: &[u8], local_seq: u64, received_ms: i64) -> Option<Vec<u8>> {
    let mut wire = StoredWire::decode(body).ok()?;
    wire.local_seq = local_seq;
    wire.received_ms = received_ms;
    Some(wire.encode_to_vec())
}

/// A 2.1 inline body (the facts inside it), or a layout-3 body with the
/// facts from its `R` entry.
fn decode_stored(
    key: &[u8],
    bytes: &[u8],
    entry: Option<super::bodies::RecordRef>,
) -> Result<StoredRecord, StoreError> {
    let mut wire = StoredWire::decode(bytes).map_err(|e| corrupt(key, &e.to_string()))?;
    if let Some(entry) = entry {
        wire.local_seq = entry.local_seq;
        wire.received_ms = entry.received_ms;
    }
    let envelope = wire
        .envelope
        .ok_or_else(|| corrupt(key, "missing envelope"))?;
    let envelope = Envelope::from_wire(envelope).map_err(|e| corrupt(key, &e.to_string()))?;
    let record = envelope
        .decode_trusted()
        .map_err(|e| corrupt(key, &e.to_string()))?;
    let received_from = match wire.received_from.is_empty() {
        true => None,
        false => Some(
            NodeId::from_slice(&wire.received_from).map_err(|e| corrupt(key, &e.to_string()))?,
        ),
    };
    Ok(StoredRecord {
        record,
        received_from,
        local_seq: wire.local_seq,
        received_ms: wire.received_ms,
    })
}

impl Store {
    /// The target of an own (not received) "seen" sighting, when that target is
    /// a record received from a partner.
    fn endorsed_foreign(
        &self,
        record: &VerifiedRecord,
        batch: &WriteBatch,
    ) -> Result<Option<RecordId>, StoreError> {
        let liaison_core::record::Body::Sighting(sighting) = &record.payload.body else {
            return Ok(None);
        };
        if batch.received_from.is_some()
            || sighting.kind != liaison_core::record::SightingType::Seen
        {
            return Ok(None);
        }
        Ok(self
            .get(&sighting.record_id)?
            .filter(|target| target.received_from.is_some())
            .map(|target| target.record.id))
    }
}

/// The valid-until of a record that expires: indicators and bulletins. Sightings
/// and revocations live as long as what they refer to.
fn expiring_valid_until(record: &VerifiedRecord) -> Option<i64> {
    match &record.payload.body {
        Body::Indicator(indicator) => Some(indicator.valid_until_ms),
        Body::Bulletin(bulletin) => Some(bulletin.valid_until_ms),
        Body::Revocation(_) | Body::Sighting(_) => None,
    }
}

impl Store {
    /// The effective expiry of a stored indicator or bulletin (None for other bodies).
    pub fn expires_ms(&self, stored: &StoredRecord) -> Option<i64> {
        let valid_until_ms = match &stored.record.payload.body {
            liaison_core::record::Body::Indicator(i) => i.valid_until_ms,
            liaison_core::record::Body::Bulletin(b) => b.valid_until_ms,
            _ => return None,
        };
        Some(self.effective_expiry(valid_until_ms, stored.received_ms))
    }
}
