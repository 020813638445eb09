//! The change log's one reader: each position once across runs and bounds, and
//! which position is a record's latest when it is logged more than once.

use ed25519_dalek::SigningKey;

use super::tests::{batch, record, revocation};
use super::*;
use liaison_core::record::{sign_payload, Body, NodeId, Payload, RecordId, Sighting, SightingType};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("db"), 1 << 20).unwrap()
}

fn seen(key: &SigningKey, seq: u64, target: RecordId) -> liaison_core::record::VerifiedRecord {
    let payload = Payload {
        origin: NodeId(key.verifying_key().to_bytes()),
        sequence: seq,
        created_ms: 1,
        body: Body::Sighting(Sighting {
            record_id: target,
            note: String::new(),
            kind: SightingType::Seen,
        }),
    };
    sign_payload(key, &payload).unwrap()
}

fn seqs(log: LogIter) -> Vec<u64> {
    log.map(|e| e.unwrap().0).collect()
}

#[test]
fn every_position_once_forwards_and_backwards_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let key = SigningKey::from_bytes(&[3; 32]);
    // Runs of 128 and 72, then a run of 1.
    let many: Vec<_> = (1..=200)
        .map(|i| record(&key, i, &format!("r{i}.example.org")))
        .collect();
    store.apply(&batch(many), 1).unwrap();
    store
        .apply(&batch(vec![record(&key, 201, "last.example.org")]), 201)
        .unwrap();
    assert_eq!(
        seqs(store.log_after(0, u64::MAX)),
        (1..=201).collect::<Vec<_>>()
    );
    assert_eq!(seqs(store.log_after(126, 130)), vec![127, 128, 129, 130]);
    assert_eq!(seqs(store.log_after(199, 500)), vec![200, 201]);
    assert!(seqs(store.log_after(201, 500)).is_empty());
    assert!(seqs(store.log_after(5, 5)).is_empty());
    assert!(seqs(store.log_after(9, 3)).is_empty());
    assert_eq!(seqs(store.log_before(4)), vec![3, 2, 1]);
    assert_eq!(seqs(store.log_before(131)).len(), 130);
    assert_eq!(seqs(store.log_before(131))[..3], [130, 129, 128]);
    assert!(seqs(store.log_before(1)).is_empty());
    assert!(seqs(store.log_before(0)).is_empty());
    assert_eq!(store.last_change().unwrap(), 201);
}

#[test]
fn a_partner_record_sighted_here_stands_at_its_later_position_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let partner = SigningKey::from_bytes(&[4; 32]);
    let own = SigningKey::from_bytes(&[5; 32]);
    let theirs = record(&partner, 1, "p.example.org");
    let received = WriteBatch {
        records: vec![theirs.clone()],
        received_from: Some(NodeId(partner.verifying_key().to_bytes())),
        received_ms: 1_000,
        ..Default::default()
    };
    store.apply(&received, 1).unwrap();
    let sighting = seen(&own, 1, theirs.id);
    let local = WriteBatch {
        records: vec![sighting.clone()],
        received_ms: 5_000,
        ..Default::default()
    };
    assert_eq!(store.apply(&local, 2).unwrap().last_change, 3);
    assert_eq!(
        store.changes_after(0, 10).unwrap(),
        vec![(1, theirs.id), (2, theirs.id), (3, sighting.id)]
    );
    assert!(store.current_at(1, &theirs.id).unwrap().is_none(), "stale");
    let current = store.current_at(2, &theirs.id).unwrap().expect("latest");
    assert_eq!((current.position, current.added_ms), (2, 5_000));
    assert_eq!(current.stored.received_ms, 1_000, "receipt time unchanged");
    assert_eq!(store.current(&theirs.id).unwrap().unwrap().position, 2);
    let own_sighting = store.current_at(3, &sighting.id).unwrap().unwrap();
    assert_eq!((own_sighting.position, own_sighting.added_ms), (3, 5_000));

    // A database from before the re-log entries (layout v2) gets them at open.
    store.tree().remove(keys::relogged(&theirs.id)).unwrap();
    store
        .tree()
        .insert(keys::meta(keys::META_SCHEMA), &b"liaison-store-v2"[..])
        .unwrap();
    assert!(store.current_at(1, &theirs.id).unwrap().is_some());
    store.flush_blocking().unwrap();
    drop(store);
    let store = open(&dir);
    assert!(store.current_at(1, &theirs.id).unwrap().is_none());
    let backfilled = store.current_at(2, &theirs.id).unwrap().unwrap();
    // The time was not kept: the previous position's stands in.
    assert_eq!(backfilled.added_ms, 1_000);
}

#[test]
fn a_revocation_logged_again_after_its_late_record_stands_there_and_leaves_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let key = SigningKey::from_bytes(&[6; 32]);
    let target = record(&key, 1, "late.example.org");
    let revoke = revocation(&key, 2, target.id);
    store.apply(&batch(vec![revoke.clone()]), 1).unwrap();
    store.apply(&batch(vec![target.clone()]), 2).unwrap();
    assert!(store.current_at(1, &revoke.id).unwrap().is_none());
    assert_eq!(store.current(&revoke.id).unwrap().unwrap().position, 3);
    assert_eq!(store.current(&target.id).unwrap().unwrap().position, 2);
    // The purge takes the re-log entry with the record.
    store.purge_expired(1_000).unwrap();
    assert!(store.current(&target.id).unwrap().is_none());
    assert!(!store
        .tree()
        .contains_key(keys::relogged(&target.id))
        .unwrap());
}
