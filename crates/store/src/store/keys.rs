//! The key layout of the single sled tree. Every key starts with a keyspace byte;
//! integers are big-endian so that sled's byte order is numeric order.

use super::error::StoreError;
use liaison_core::indicator::Kind;
use liaison_core::record::{NodeId, RecordId};

/// record id -> where its body lies in the value log and its local facts
/// (store/bodies.rs; layout 2.1 and older kept the whole StoredRecord here, still read)
pub const RECORD: u8 = b'R';
/// kind, len(value) u16, value, record id -> ()
pub const INDEX: u8 = b'I';
/// first local change sequence of a run -> record ids, 32 bytes each (store/changelog.rs)
pub const CHANGE: u8 = b'C';
/// origin -> highest sequence stored from it
pub const ORIGIN: u8 = b'O';
/// earliest expiry ms, group id -> (expiry ms, record id)...   (retention, store/expiry.rs;
/// `liaison-store-v1` wrote expiry ms, record id -> () per record, still read)
pub const EXPIRY: u8 = b'E';
/// name -> value
pub const META: u8 = b'M';
/// partner node id -> PartnerEntry (JSON)
pub const PARTNER: u8 = b'P';
/// partner node id -> SyncState (JSON)
pub const SYNC: u8 = b'S';
/// third-party origin node id -> PartnerEntry (JSON), learned via a relay
pub const KNOWN_ORIGIN: u8 = b'N';
/// revoked partner node id -> RevokedPartner (JSON): the name its records keep
pub const REVOKED_PARTNER: u8 = b'V';
/// partner node id -> i64 ms of the first time it accepted our certificate since it
/// was enrolled here (store/partners.rs): a later refusal means it revoked us
pub const ACCEPTED_US: u8 = b'A';

/// revoked or superseded record id, origin that revoked it -> id of the revoking record
pub const TOMBSTONE: u8 = b'T';
/// sighted record id, sighting record id -> ()
pub const SIGHTING: u8 = b'G';

/// SHA-256 of a revoked local client certificate -> ()
pub const REVOKED_CLIENT: u8 = b'X';

/// partner node id, entry number -> Envelope waiting to be retried (store/pending.rs)
pub const PENDING: u8 = b'W';

/// public UUID of a record (formats::record_uuid, as in STIX and MISP ids) -> record id
pub const PUBLIC_ID: u8 = b'U';

pub const META_SCHEMA: &str = "schema";
/// A migration step's durable progress while it runs (store/migrate.rs).
pub const META_MIGRATION: &str = "migration";
pub const META_RECORDS: &str = "records";
/// Set once every stored record has its public-id entry (store/public_ids.rs).
pub const META_PUBLIC_IDS: &str = "public-ids";

pub fn meta(name: &str) -> Vec<u8> {
    [&[META], name.as_bytes()].concat()
}

pub fn record(id: &RecordId) -> Vec<u8> {
    [&[RECORD][..], &id.0].concat()
}

/// The prefix under which all records of one (kind, value) sit.
pub fn index_prefix(kind: Kind, value: &str) -> Vec<u8> {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes();
    [&[INDEX, kind.code()][..], &len, value.as_bytes()].concat()
}

pub fn index(kind: Kind, value: &str, id: &RecordId) -> Vec<u8> {
    [index_prefix(kind, value).as_slice(), &id.0].concat()
}

pub fn change(seq: u64) -> Vec<u8> {
    [&[CHANGE][..], &seq.to_be_bytes()].concat()
}

pub fn origin(node: &NodeId) -> Vec<u8> {
    [&[ORIGIN][..], &node.0].concat()
}

/// A per-record expiry key, as `liaison-store-v1` wrote them (tests of the old layout).
#[cfg(test)]
pub fn expiry(valid_until_ms: i64, id: &RecordId) -> Vec<u8> {
    let ms = u64::try_from(valid_until_ms.max(0)).unwrap_or(0);
    [&[EXPIRY][..], &ms.to_be_bytes(), &id.0].concat()
}

pub fn tombstone(id: &RecordId, origin: &NodeId) -> Vec<u8> {
    [&[TOMBSTONE][..], &id.0, &origin.0].concat()
}

pub fn sighting_prefix(target: &RecordId) -> Vec<u8> {
    [&[SIGHTING][..], &target.0].concat()
}

pub fn sighting(target: &RecordId, sighting: &RecordId) -> Vec<u8> {
    [sighting_prefix(target).as_slice(), &sighting.0].concat()
}

pub fn expiry_until(valid_until_ms: i64) -> Vec<u8> {
    let ms = u64::try_from(valid_until_ms.max(0)).unwrap_or(0);
    [&[EXPIRY][..], &ms.to_be_bytes()].concat()
}

pub fn partner(node: &NodeId) -> Vec<u8> {
    [&[PARTNER][..], &node.0].concat()
}

pub fn revoked_partner(node: &NodeId) -> Vec<u8> {
    [&[REVOKED_PARTNER][..], &node.0].concat()
}

pub fn accepted_us(node: &NodeId) -> Vec<u8> {
    [&[ACCEPTED_US][..], &node.0].concat()
}

pub fn known_origin(node: &NodeId) -> Vec<u8> {
    [&[KNOWN_ORIGIN][..], &node.0].concat()
}

pub fn sync_state(node: &NodeId) -> Vec<u8> {
    [&[SYNC][..], &node.0].concat()
}

pub fn pending_prefix(peer: &NodeId) -> Vec<u8> {
    [&[PENDING][..], &peer.0].concat()
}

pub fn pending(peer: &NodeId, seq: u64) -> Vec<u8> {
    [pending_prefix(peer).as_slice(), &seq.to_be_bytes()].concat()
}

pub fn public_id(uuid: &[u8; 16]) -> Vec<u8> {
    [&[PUBLIC_ID][..], uuid].concat()
}

/// The last 32 bytes of a key, as a record id.
pub fn trailing_id(key: &[u8]) -> Result<RecordId, StoreError> {
    key.len()
        .checked_sub(32)
        .and_then(|start| RecordId::from_slice(&key[start..]).ok())
        .ok_or_else(|| corrupt(key, "key too short for a record id"))
}

pub fn decode_u64(key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| corrupt(key, "expected an 8-byte integer"))?;
    Ok(u64::from_be_bytes(array))
}

/// Reads an integer, 0 when absent.
pub fn read_u64(tree: &sled::Tree, key: &[u8]) -> Result<u64, StoreError> {
    match tree.get(key)? {
        Some(bytes) => decode_u64(key, &bytes),
        None => Ok(0),
    }
}

pub fn corrupt(key: &[u8], reason: &str) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(key),
        reason: reason.to_string(),
    }
}

/// kind, len(value) u16, value, warninglist name -> WarninglistEntry (JSON) (store/warninglists.rs)
pub const WARNINGLIST: u8 = b'L';

/// The prefix under which every warninglist entry for one (kind, value) sits.
pub fn warninglist_prefix(kind: Kind, value: &str) -> Vec<u8> {
    let len = u16::try_from(value.len()).unwrap_or(u16::MAX).to_be_bytes();
    [&[WARNINGLIST, kind.code()][..], &len, value.as_bytes()].concat()
}

/// bulletin id -> () (marks a stored bulletin), and
/// bulletin id, position u32 -> member record id ‖ 16-byte salt (an opening; store/bulletins.rs)
pub const BULLETIN: u8 = b'B';
/// member record id, bulletin id -> () (which bulletins group a record; store/bulletins.rs)
pub const MEMBER_OF: u8 = b'J';

pub fn bulletin(id: &RecordId) -> Vec<u8> {
    [&[BULLETIN][..], &id.0].concat()
}

pub fn opening(bulletin_id: &RecordId, position: u32) -> Vec<u8> {
    [bulletin(bulletin_id).as_slice(), &position.to_be_bytes()].concat()
}

pub fn member_of_prefix(member: &RecordId) -> Vec<u8> {
    [&[MEMBER_OF][..], &member.0].concat()
}

pub fn member_of(member: &RecordId, bulletin_id: &RecordId) -> Vec<u8> {
    [member_of_prefix(member).as_slice(), &bulletin_id.0].concat()
}

/// origin node id -> records of that origin held (u64; store/held.rs)
pub const HELD: u8 = b'H';
/// Set once the per-origin held counters are built (store/held.rs).
pub const META_HELD: &str = "held-by-origin";

pub fn held(origin: &NodeId) -> Vec<u8> {
    [&[HELD][..], &origin.0].concat()
}

/// record id -> change-log position it was logged at again last, u64, and when, i64 ms
/// (only for records logged more than once; store/changelog.rs)
pub const RELOGGED: u8 = b'Q';

pub fn relogged(id: &RecordId) -> Vec<u8> {
    [&[RELOGGED][..], &id.0].concat()
}

/// value-log segment id (u32) -> bytes of its entries still pointed to (u64;
/// store/bodies.rs): decides compaction; a closed segment without one is garbage
pub const SEGMENT_LIVE: u8 = b'Z';
/// Where the value log's durable, visible part ends (store/bodies.rs).
pub const META_VLOG_HEAD: &str = "vlog-head";

pub fn segment_live(segment: u32) -> Vec<u8> {
    [&[SEGMENT_LIVE][..], &segment.to_be_bytes()].concat()
}
